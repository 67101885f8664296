//! The DCQL query types (OpenID4VP 1.0 §6). Only [`DcqlQuery::parse`] and
//! [`DcqlQuery::from_value`] build them, so a value of these types has passed every
//! rule of §6, §7 and Appendix B that agentid checks.

use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use super::pointer::ClaimsPathPointer;
use super::predicate::QueryPredicate;

/// The format identifier of IETF SD-JWT VC (OpenID4VP 1.0 Appendix B.3.1), the only
/// format agentid holds and checks.
pub const SD_JWT_VC_FORMAT: &str = "dc+sd-jwt";

/// A validated DCQL query.
#[derive(Debug, Clone, PartialEq)]
pub struct DcqlQuery {
    pub(crate) credentials: Vec<CredentialQuery>,
    pub(crate) credential_sets: Option<Vec<CredentialSetQuery>>,
}

/// A Credential Query (§6.1).
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialQuery {
    pub(crate) id: String,
    pub(crate) format: String,
    pub(crate) multiple: bool,
    pub(crate) meta: Map<String, Value>,
    pub(crate) vct_values: Option<Vec<String>>,
    pub(crate) trusted_authorities: Option<Vec<TrustedAuthoritiesQuery>>,
    pub(crate) require_cryptographic_holder_binding: bool,
    pub(crate) claims: Option<Vec<ClaimsQuery>>,
    pub(crate) claim_sets: Option<Vec<Vec<String>>>,
}

/// A Trusted Authorities Query (§6.1.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedAuthoritiesQuery {
    pub(crate) authority_type: String,
    pub(crate) values: Vec<String>,
}

/// A Claims Query (§6.3), possibly with agentid's `agentid_predicate`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimsQuery {
    pub(crate) id: Option<String>,
    pub(crate) path: ClaimsPathPointer,
    pub(crate) values: Option<Vec<ClaimValue>>,
    pub(crate) intent_to_retain: Option<bool>,
    pub(crate) predicate: Option<QueryPredicate>,
}

/// A Credential Set Query (§6.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialSetQuery {
    pub(crate) options: Vec<Vec<String>>,
    pub(crate) required: bool,
}

/// An expected claim value (§6.3): a string, an integer or a boolean, matched exactly
/// in type and value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimValue {
    /// A string.
    String(String),
    /// An integer (within `i64` or `u64`).
    Integer(i128),
    /// A boolean.
    Bool(bool),
}

impl ClaimValue {
    /// True when `claim` has this type and value. A JSON number with a fraction part
    /// of zero (`1.0`) equals the integer, as JSON numbers do.
    pub fn matches(&self, claim: &Value) -> bool {
        match (self, claim) {
            (ClaimValue::String(want), Value::String(found)) => want == found,
            (ClaimValue::Bool(want), Value::Bool(found)) => want == found,
            (ClaimValue::Integer(want), Value::Number(found)) => {
                if let Some(found) = found.as_i64() {
                    i128::from(found) == *want
                } else if let Some(found) = found.as_u64() {
                    i128::from(found) == *want
                } else {
                    // Only integers up to 2^53 are exact as floats.
                    const EXACT: f64 = 9_007_199_254_740_992.0;
                    found.as_f64().is_some_and(|found| {
                        found.fract() == 0.0 && found.abs() <= EXACT && found as i128 == *want
                    })
                }
            }
            _ => false,
        }
    }

    /// The JSON form.
    pub fn to_value(&self) -> Value {
        match self {
            ClaimValue::String(text) => Value::String(text.clone()),
            ClaimValue::Bool(flag) => Value::Bool(*flag),
            ClaimValue::Integer(number) => i64::try_from(*number)
                .map(Value::from)
                .or_else(|_| u64::try_from(*number).map(Value::from))
                // Unreachable: only i64 and u64 integers are read.
                .unwrap_or(Value::Null),
        }
    }
}

impl DcqlQuery {
    /// The credential queries, in order.
    pub fn credentials(&self) -> &[CredentialQuery] {
        &self.credentials
    }

    /// The credential query with this id.
    pub fn credential(&self, id: &str) -> Option<&CredentialQuery> {
        self.credentials.iter().find(|query| query.id == id)
    }

    /// The credential set queries, if any.
    pub fn credential_sets(&self) -> Option<&[CredentialSetQuery]> {
        self.credential_sets.as_deref()
    }

    /// The query as JSON, to embed in a request object: every member agentid knows,
    /// defaults written out, `meta` as given; unknown members are dropped.
    pub fn to_value(&self) -> Value {
        let mut object = Map::new();
        object.insert(
            "credentials".into(),
            Value::Array(
                self.credentials
                    .iter()
                    .map(CredentialQuery::to_value)
                    .collect(),
            ),
        );
        if let Some(sets) = &self.credential_sets {
            object.insert(
                "credential_sets".into(),
                Value::Array(sets.iter().map(CredentialSetQuery::to_value).collect()),
            );
        }
        Value::Object(object)
    }
}

impl CredentialQuery {
    /// The id (`[A-Za-z0-9_-]+`, unique in the query).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The requested format (`dc+sd-jwt`, `mso_mdoc`, …).
    pub fn format(&self) -> &str {
        &self.format
    }

    /// Whether several credentials may answer it (default false).
    pub fn multiple(&self) -> bool {
        self.multiple
    }

    /// The `meta` object, as given.
    pub fn meta(&self) -> &Map<String, Value> {
        &self.meta
    }

    /// `meta.vct_values` of a `dc+sd-jwt` query (Appendix B.3.5).
    pub fn vct_values(&self) -> Option<&[String]> {
        self.vct_values.as_deref()
    }

    /// The trusted authorities, if any.
    pub fn trusted_authorities(&self) -> Option<&[TrustedAuthoritiesQuery]> {
        self.trusted_authorities.as_deref()
    }

    /// Whether holder binding is required (default true).
    pub fn require_cryptographic_holder_binding(&self) -> bool {
        self.require_cryptographic_holder_binding
    }

    /// The claims queries, if any.
    pub fn claims(&self) -> Option<&[ClaimsQuery]> {
        self.claims.as_deref()
    }

    /// The claim sets (claim ids), if any.
    pub fn claim_sets(&self) -> Option<&[Vec<String>]> {
        self.claim_sets.as_deref()
    }

    /// The claims queries of each acceptable combination, in the verifier's order of
    /// preference: the claim sets, or all claims as one combination when there are
    /// none, or no combination when there are no claims.
    pub(crate) fn combinations(&self) -> Vec<Vec<&ClaimsQuery>> {
        let Some(claims) = &self.claims else {
            return Vec::new();
        };
        match &self.claim_sets {
            None => vec![claims.iter().collect()],
            Some(sets) => sets
                .iter()
                .map(|set| {
                    set.iter()
                        .filter_map(|id| {
                            claims.iter().find(|claim| claim.id.as_deref() == Some(id))
                        })
                        .collect()
                })
                .collect(),
        }
    }

    fn to_value(&self) -> Value {
        let mut object = Map::new();
        object.insert("id".into(), self.id.clone().into());
        object.insert("format".into(), self.format.clone().into());
        object.insert("multiple".into(), self.multiple.into());
        object.insert("meta".into(), Value::Object(self.meta.clone()));
        if let Some(authorities) = &self.trusted_authorities {
            object.insert(
                "trusted_authorities".into(),
                Value::Array(
                    authorities
                        .iter()
                        .map(|authority| {
                            serde_json::json!({
                                "type": authority.authority_type,
                                "values": authority.values,
                            })
                        })
                        .collect(),
                ),
            );
        }
        object.insert(
            "require_cryptographic_holder_binding".into(),
            self.require_cryptographic_holder_binding.into(),
        );
        if let Some(claims) = &self.claims {
            object.insert(
                "claims".into(),
                Value::Array(claims.iter().map(ClaimsQuery::to_value).collect()),
            );
        }
        if let Some(sets) = &self.claim_sets {
            object.insert("claim_sets".into(), serde_json::json!(sets));
        }
        Value::Object(object)
    }
}

impl TrustedAuthoritiesQuery {
    /// The type: `aki`, `etsi_tl`, `openid_federation` or another one.
    pub fn authority_type(&self) -> &str {
        &self.authority_type
    }

    /// The accepted values (non-empty).
    pub fn values(&self) -> &[String] {
        &self.values
    }
}

impl ClaimsQuery {
    /// The claim id, if given (required with `claim_sets`).
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The claims path pointer.
    pub fn path(&self) -> &ClaimsPathPointer {
        &self.path
    }

    /// The expected values, if any.
    pub fn values(&self) -> Option<&[ClaimValue]> {
        self.values.as_deref()
    }

    /// `intent_to_retain` (mdoc claims queries, Appendix B.2.4).
    pub fn intent_to_retain(&self) -> Option<bool> {
        self.intent_to_retain
    }

    /// The `agentid_predicate`, when the claim is to be proven rather than disclosed.
    pub fn predicate(&self) -> Option<&QueryPredicate> {
        self.predicate.as_ref()
    }

    /// True when `value` is one of the expected values, or there are none.
    pub(crate) fn accepts(&self, value: &Value) -> bool {
        self.values
            .as_ref()
            .is_none_or(|values| values.iter().any(|want| want.matches(value)))
    }

    fn to_value(&self) -> Value {
        let mut object = Map::new();
        if let Some(id) = &self.id {
            object.insert("id".into(), id.clone().into());
        }
        object.insert("path".into(), self.path.to_value());
        if let Some(values) = &self.values {
            object.insert(
                "values".into(),
                Value::Array(values.iter().map(ClaimValue::to_value).collect()),
            );
        }
        if let Some(retain) = self.intent_to_retain {
            object.insert("intent_to_retain".into(), retain.into());
        }
        if let Some(predicate) = &self.predicate {
            object.insert(
                super::PREDICATE_MEMBER.into(),
                predicate.text().to_owned().into(),
            );
        }
        Value::Object(object)
    }
}

impl CredentialSetQuery {
    /// The options: each a list of credential query ids.
    pub fn options(&self) -> &[Vec<String>] {
        &self.options
    }

    /// Whether the set is required (default true).
    pub fn required(&self) -> bool {
        self.required
    }

    fn to_value(&self) -> Value {
        serde_json::json!({"options": self.options, "required": self.required})
    }
}

/// Serializes as [`DcqlQuery::to_value`].
impl Serialize for DcqlQuery {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(serializer)
    }
}
