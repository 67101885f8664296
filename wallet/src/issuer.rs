//! The issuer role: minting SD-JWT VCs (RFC 9901, IETF SD-JWT VC draft).

use agentid_verifier::delegation::RIGHTS_CLAIMS;
use agentid_verifier::predicate::{ValueEncoding, COMMITMENTS_CLAIM};
use agentid_verifier::{
    b64url_encode, ClaimPath, PathSegment, PublicKey, REGISTERED_CLAIMS, SD_JWT_VC_TYP,
};
use serde_json::map::Entry;
use serde_json::{Map, Value};

use crate::commit::Opening;
use crate::conceal::{conceal, Decoys, Randomness};
use crate::did::did_key_url;
use crate::error::WalletError;
use crate::jws::{encode_header, header, sign_under_encoded_header};
use crate::keys::SigningKey;
use crate::schema::SchemaRegistry;

/// Claim names the issuer sets itself: the verifier's registered claims, and `_sd_alg`.
fn is_reserved(name: &str) -> bool {
    name == "_sd_alg" || REGISTERED_CLAIMS.contains(&name)
}

/// The claim naming the principal a task is done for.
pub(crate) const PRINCIPAL_CLAIM: &str = "on_behalf_of";

/// True when the claims allow at least one delegation (`max_delegation_depth` ≥ 1).
fn delegable(claims: &Map<String, Value>) -> bool {
    claims
        .get("max_delegation_depth")
        .and_then(Value::as_u64)
        .is_some_and(|depth| depth > 0)
}

/// What to issue: a credential type, its claims, who holds it and for how long.
#[derive(Debug, Clone)]
pub struct CredentialRequest {
    /// The credential type; a schema for it must exist.
    pub vct: String,
    /// The subject (`sub`), usually the holder's DID.
    pub subject: String,
    /// The key the holder will sign presentations with (`cnf.jwk`).
    pub holder_key: PublicKey,
    /// The claims, checked against the type's schema.
    pub claims: Map<String, Value>,
    /// Claims the holder may disclose selectively.
    pub disclosable: Vec<ClaimPath>,
    /// Seconds from issuance to expiry.
    pub lifetime_secs: u64,
    /// Integer or date claims to commit to (Pedersen), so the holder can prove
    /// predicates about them without revealing them. They are made selectively
    /// disclosable too, whether listed in `disclosable` or not.
    pub committed: Vec<ClaimPath>,
}

/// A freshly issued credential.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct IssuedCredential {
    /// The SD-JWT with every disclosure (`<JWT>~<D1>~…~<Dn>~`), for the holder only.
    pub sd_jwt: String,
    /// Its `jti`.
    pub credential_id: String,
    /// Its `exp`.
    pub expires_at: u64,
    /// The secret openings of its commitments, for the holder only.
    pub openings: Vec<Opening>,
}

/// An issuer: an identifier, a signing key and the schemas it issues under.
#[derive(Debug)]
pub struct Issuer {
    id: String,
    kid: Option<String>,
    key: SigningKey,
    schemas: SchemaRegistry,
    decoys: Decoys,
    /// The encoded JWS header of SD-JWT VCs (`alg`, `typ: dc+sd-jwt`, `kid`), the
    /// same for every credential: built when `key` or `kid` is set.
    vc_header: String,
}

impl Issuer {
    /// An issuer identified by its key's did:key; `kid` is the key's DID URL.
    ///
    /// # Errors
    /// [`WalletError`] if the DID cannot be derived or the shipped schemas do not load.
    pub fn from_did_key(key: SigningKey) -> Result<Self, WalletError> {
        let id = key.did()?;
        let kid = did_key_url(key.public_key())?;
        let kid = Some(kid);
        Ok(Issuer {
            id,
            vc_header: jws_header(&key, kid.as_deref(), SD_JWT_VC_TYP),
            kid,
            key,
            schemas: SchemaRegistry::builtin()?,
            decoys: Decoys::default(),
        })
    }

    /// An issuer identified by a URL whose key verifiers pin in their trust store.
    ///
    /// # Errors
    /// [`WalletError`] if the shipped schemas do not load.
    pub fn with_pinned_key(id: impl Into<String>, key: SigningKey) -> Result<Self, WalletError> {
        Ok(Issuer {
            id: id.into(),
            kid: None,
            vc_header: jws_header(&key, None, SD_JWT_VC_TYP),
            key,
            schemas: SchemaRegistry::builtin()?,
            decoys: Decoys::default(),
        })
    }

    /// Returns the issuer with another schema registry.
    pub fn with_schemas(mut self, schemas: SchemaRegistry) -> Self {
        self.schemas = schemas;
        self
    }

    /// Returns the issuer adding this many decoy digests.
    pub fn with_decoys(mut self, decoys: Decoys) -> Self {
        self.decoys = decoys;
        self
    }

    /// Returns the issuer writing this `kid` header (or none).
    pub fn with_kid(mut self, kid: Option<String>) -> Self {
        self.vc_header = jws_header(&self.key, kid.as_deref(), SD_JWT_VC_TYP);
        self.kid = kid;
        self
    }

    /// The issuer identifier (`iss`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The issuer's public key.
    pub fn public_key(&self) -> &PublicKey {
        self.key.public_key()
    }

    /// A signed Token Status List token (`statuslist+jwt`) for the list at `uri`,
    /// issued by this issuer: `bits` per entry (1, 2, 4 or 8), every entry VALID
    /// (0) but those in `entries` (`(index, value)`), valid for `lifetime_secs`
    /// from `now`, to be fetched again after `ttl_secs` (its `ttl` claim).
    ///
    /// # Errors
    /// [`WalletError::InvalidRequest`] for a width other than 1, 2, 4 or 8, or an
    /// entry past the list ([`crate::STATUS_LIST_ENTRIES`]) or wider than `bits`.
    pub fn status_list_token(
        &self,
        uri: &str,
        bits: u8,
        entries: &[(u32, u8)],
        now: u64,
        lifetime_secs: u64,
        ttl_secs: u64,
    ) -> Result<String, WalletError> {
        crate::status_list::ListToken {
            uri,
            bits,
            entries,
            now,
            lifetime_secs,
            ttl_secs,
        }
        .sign(&self.id, self.kid.as_deref(), &self.key)
    }

    /// Issues an SD-JWT VC (`typ: dc+sd-jwt`) as of `now` (Unix seconds).
    ///
    /// The claims are checked against the JSON Schema of `request.vct` before
    /// anything is signed.
    ///
    /// # Errors
    /// [`WalletError::UnknownCredentialType`], [`WalletError::InvalidClaims`],
    /// [`WalletError::InvalidRequest`] (reserved claim names, zero or too long a
    /// lifetime) or [`WalletError::NoSuchClaim`] (a disclosable path names nothing).
    pub fn issue(
        &self,
        request: &CredentialRequest,
        now: u64,
    ) -> Result<IssuedCredential, WalletError> {
        self.issue_with_status(request, None, now)
    }

    /// Like [`issue`](Self::issue), with a Token Status List reference
    /// (`status: {status_list: {idx, uri}}`) so the credential can be revoked.
    ///
    /// # Errors
    /// As [`issue`](Self::issue).
    pub fn issue_with_status(
        &self,
        request: &CredentialRequest,
        status: Option<(u64, &str)>,
        now: u64,
    ) -> Result<IssuedCredential, WalletError> {
        if let Some(reserved) = request.claims.keys().find(|name| is_reserved(name)) {
            return Err(WalletError::request(format!(
                "claim {reserved:?} is set by the issuer"
            )));
        }
        if request.lifetime_secs == 0 {
            return Err(WalletError::request("lifetime must be positive"));
        }
        // A concealed limit is one the holder can leave out; the verifier would then
        // read no limit at all (and refuses such credentials), so never conceal one.
        for path in request.disclosable.iter().chain(&request.committed) {
            if let Some(PathSegment::Key(name)) = path.segments().first() {
                if RIGHTS_CLAIMS.contains(&name.as_str()) {
                    return Err(WalletError::request(format!(
                        "{path}: {name} grants or limits rights and is always disclosed \
                         (a holder could withhold a concealed limit)"
                    )));
                }
            }
        }
        // One copy of the claims, validated and then concealed (it was copied once
        // for each).
        let claims = Value::Object(request.claims.clone());
        self.schemas
            .validate(&request.vct, &claims, request.lifetime_secs)?;
        let Value::Object(claims) = claims else {
            unreachable!("built as an object above")
        };
        let expires_at = now
            .checked_add(request.lifetime_secs)
            .ok_or_else(|| WalletError::request("lifetime overflows"))?;
        // One pool for the `jti` and the concealment's salts and decoys.
        let mut randomness = Randomness::new();
        let credential_id = random_id(&mut randomness);
        let mut registered = Map::new();
        registered.insert("sub".into(), request.subject.clone().into());
        registered.insert("iat".into(), now.into());
        registered.insert("nbf".into(), now.into());
        registered.insert("exp".into(), expires_at.into());
        registered.insert("jti".into(), credential_id.clone().into());
        registered.insert("vct".into(), request.vct.clone().into());
        registered.insert("cnf".into(), cnf(&request.holder_key));
        if let Some((idx, uri)) = status {
            registered.insert(
                "status".into(),
                serde_json::json!({"status_list": {"idx": idx, "uri": uri}}),
            );
        }
        let mut openings = Vec::with_capacity(request.committed.len());
        if !request.committed.is_empty() {
            let mut commitments = Map::new();
            for path in &request.committed {
                if commitments.contains_key(&path.to_string()) {
                    return Err(WalletError::request(format!("{path} is committed twice")));
                }
                let value = claim_at(&request.claims, path.segments())
                    .ok_or_else(|| WalletError::NoSuchClaim(path.to_string()))?;
                let (encoding, number) = [ValueEncoding::Integer, ValueEncoding::Date]
                    .into_iter()
                    .find_map(|encoding| encoding.encode(value).map(|number| (encoding, number)))
                    .ok_or_else(|| {
                        WalletError::request(format!(
                            "{path}: only integers and dates (YYYY-MM-DD) in ±2^31 can be committed"
                        ))
                    })?;
                let (commitment, opening) = Opening::commit(&path.to_string(), number, encoding);
                commitments.insert(path.to_string(), commitment.to_json());
                openings.push(opening);
            }
            registered.insert(COMMITMENTS_CLAIM.into(), Value::Object(commitments));
        }
        // A committed claim is always concealed too: in clear, a proof about it
        // would hide nothing.
        let mut disclosable = request.disclosable.clone();
        // A credential that may be delegated keeps its principal selectively
        // disclosable, so the root segment of every delegation chain carries one
        // disclosure (docs/notes-delegation.md, "Serialization": `JWT~~…` is
        // ambiguous to AP2 parsers) — the one approvals need anyway.
        if delegable(&request.claims) && request.claims.contains_key(PRINCIPAL_CLAIM) {
            let principal = ClaimPath::root().child(PathSegment::Key(PRINCIPAL_CLAIM.into()));
            if !disclosable.iter().any(|listed| listed.matches(&principal)) {
                disclosable.push(principal);
            }
        }
        for path in &request.committed {
            if !disclosable.iter().any(|listed| listed.matches(path)) {
                disclosable.push(path.clone());
            }
        }
        let sd_jwt = self.sign_sd_jwt(
            SD_JWT_VC_TYP,
            registered,
            claims,
            &disclosable,
            &mut randomness,
        )?;
        Ok(IssuedCredential {
            sd_jwt,
            credential_id,
            expires_at,
            openings,
        })
    }

    /// Issues a plain SD-JWT: `registered` claims stay visible, `claims` may be
    /// concealed along `disclosable`; `iss` and `_sd_alg` are added. Used for
    /// credential types outside SD-JWT VC (and the RFC 9901 test cases).
    ///
    /// # Errors
    /// [`WalletError::NoSuchClaim`] or [`WalletError::InvalidRequest`] from concealment.
    pub fn issue_sd_jwt(
        &self,
        typ: &str,
        registered: Map<String, Value>,
        claims: Map<String, Value>,
        disclosable: &[ClaimPath],
    ) -> Result<String, WalletError> {
        self.sign_sd_jwt(typ, registered, claims, disclosable, &mut Randomness::new())
    }

    /// [`issue_sd_jwt`](Self::issue_sd_jwt) drawing its salts from `randomness`.
    fn sign_sd_jwt(
        &self,
        typ: &str,
        registered: Map<String, Value>,
        claims: Map<String, Value>,
        disclosable: &[ClaimPath],
        randomness: &mut Randomness,
    ) -> Result<String, WalletError> {
        let concealed = conceal(claims, disclosable, self.decoys, randomness)?;
        // The smaller map goes into the larger: the same payload, fewer inserts.
        let (mut payload, rest) = if concealed.claims.len() >= registered.len() {
            (concealed.claims, registered)
        } else {
            (registered, concealed.claims)
        };
        for (name, value) in rest {
            match payload.entry(name) {
                Entry::Vacant(vacant) => {
                    vacant.insert(value);
                }
                Entry::Occupied(occupied) => {
                    return Err(WalletError::request(format!(
                        "claim {:?} given twice",
                        occupied.key()
                    )));
                }
            }
        }
        payload.insert("iss".into(), self.id.clone().into());
        payload.insert("_sd_alg".into(), "sha-256".into());
        let mut sd_jwt = if typ == SD_JWT_VC_TYP {
            sign_under_encoded_header(&self.vc_header, &payload, &self.key)
        } else {
            let header = jws_header(&self.key, self.kid.as_deref(), typ);
            sign_under_encoded_header(&header, &payload, &self.key)
        };
        sd_jwt.reserve(
            concealed
                .disclosures
                .iter()
                .map(|disclosure| disclosure.len() + 1)
                .sum::<usize>()
                + 1,
        );
        sd_jwt.push('~');
        for disclosure in concealed.disclosures {
            sd_jwt.push_str(&disclosure);
            sd_jwt.push('~');
        }
        Ok(sd_jwt)
    }
}

/// The encoded JWS header of the issuer's tokens: `alg`, `typ` and `kid` if any.
fn jws_header(key: &SigningKey, kid: Option<&str>, typ: &str) -> String {
    let mut header = header(key, typ);
    if let Some(kid) = kid {
        header.insert("kid".into(), kid.into());
    }
    encode_header(&header)
}

/// The value at `segments` inside `claims`.
fn claim_at<'v>(claims: &'v Map<String, Value>, segments: &[PathSegment]) -> Option<&'v Value> {
    let (PathSegment::Key(first), rest) = segments.split_first()? else {
        return None;
    };
    rest.iter()
        .try_fold(claims.get(first)?, |value, segment| match segment {
            PathSegment::Key(key) => value.get(key),
            PathSegment::Index(index) => value.get(*index),
            PathSegment::AnyIndex => None,
        })
}

/// `cnf` with the holder's public JWK (RFC 7800).
pub fn cnf(holder_key: &PublicKey) -> Value {
    let mut cnf = Map::new();
    cnf.insert("jwk".into(), holder_key.to_jwk());
    Value::Object(cnf)
}

/// A random 128-bit identifier, base64url.
fn random_id(randomness: &mut Randomness) -> String {
    format!(
        "urn:agentid:credential:{}",
        b64url_encode(&randomness.take::<16>())
    )
}
