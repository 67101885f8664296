//! The verification pipeline: parse → structural checks → signatures → [`Verified`].

use serde::Serialize;
use serde_json::{Map, Value};

use crate::alg::Algorithm;
use crate::delegation::{audience_allows, strings, truncate, Chain, RIGHTS_CLAIMS};
use crate::error::{SignatureRole, VerifyError};
use crate::jws::{check_window, numeric_date, string_claim, CompactJws};
use crate::key::PublicKey;
use crate::limits::Limits;
use crate::path::ClaimPath;
use crate::predicate::{PendingProof, ProvenPredicate, COMMITMENTS_CLAIM};
use crate::reveal::reveal_recording;
use crate::sd_jwt::{sha256_b64, SdJwtParts};
use crate::status::StatusLists;
use crate::trust::{TrustStore, TrustedIssuer};

/// The `typ` of an SD-JWT VC (IETF SD-JWT VC draft).
pub const SD_JWT_VC_TYP: &str = "dc+sd-jwt";
/// The `typ` of a key-binding JWT (RFC 9901 §4.3).
pub const KB_JWT_TYP: &str = "kb+jwt";

/// Claims that the verifier reads itself and reports in their own fields of
/// [`Verified`], not among [`Verified::claims`].
pub const REGISTERED_CLAIMS: [&str; 10] = [
    "iss",
    "sub",
    "iat",
    "nbf",
    "exp",
    "jti",
    "vct",
    "cnf",
    "status",
    COMMITMENTS_CLAIM,
];

/// Claims that SD-JWT VC (draft-ietf-oauth-sd-jwt-vc, "Registered JWT Claims") says
/// must not be selectively disclosable, plus the signed commitments: one revealed by a
/// disclosure is refused, since a holder could as well have withheld it (an `exp`
/// or a `status` the verifier would never see).
pub const NEVER_DISCLOSED_CLAIMS: [&str; 7] = [
    "iss",
    "nbf",
    "exp",
    "cnf",
    "vct",
    "status",
    COMMITMENTS_CLAIM,
];

/// True when `value` holds selectively disclosable parts (`_sd` digests or `...`
/// array entries) anywhere inside.
fn holds_concealed_parts(value: &Value) -> bool {
    match value {
        Value::Object(map) => {
            map.contains_key("_sd")
                || map.contains_key("...")
                || map.values().any(holds_concealed_parts)
        }
        Value::Array(items) => items.iter().any(holds_concealed_parts),
        _ => false,
    }
}

/// The default tolerated clock difference, in seconds ([`Policy::clock_skew_secs`]).
pub const DEFAULT_CLOCK_SKEW_SECS: u64 = 60;

/// What the verifier accepts besides trusted keys. Build with [`Policy::default`] and
/// the `with_*` methods.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Policy {
    /// Input limits.
    pub limits: Limits,
    /// Tolerated clock difference for `exp`, `nbf` and `iat`, in seconds. Default 60.
    pub clock_skew_secs: u64,
    /// How old a KB-JWT may be (from its `iat`), in seconds. Default 300.
    pub max_key_binding_age_secs: u64,
    /// Accepted `typ` values of the issuer-signed JWT. Default `["dc+sd-jwt"]`.
    pub accepted_typs: Vec<String>,
    /// Accept an issuer-signed JWT with no `typ` header (plain RFC 9901 SD-JWTs from
    /// other implementations). Default false.
    pub accept_missing_typ: bool,
    /// Accept a credential whose status list is unknown or stale. Default false:
    /// fail closed.
    pub accept_unknown_status: bool,
    /// Oldest status list token accepted, in seconds since its `iat`. Default 86400.
    pub status_max_age_secs: u64,
    /// Refuse credentials without `exp`. Default true: agentid credentials are
    /// short-lived by design.
    pub require_expiry: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            limits: Limits::default(),
            clock_skew_secs: DEFAULT_CLOCK_SKEW_SECS,
            max_key_binding_age_secs: 300,
            accepted_typs: vec![SD_JWT_VC_TYP.to_owned()],
            accept_missing_typ: false,
            accept_unknown_status: false,
            status_max_age_secs: 24 * 3600,
            require_expiry: true,
        }
    }
}

impl Policy {
    /// Returns the policy with other limits.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Returns the policy with another clock skew, in seconds.
    pub fn with_clock_skew(mut self, secs: u64) -> Self {
        self.clock_skew_secs = secs;
        self
    }

    /// Returns the policy with another maximum KB-JWT age, in seconds.
    pub fn with_max_key_binding_age(mut self, secs: u64) -> Self {
        self.max_key_binding_age_secs = secs;
        self
    }

    /// Returns the policy accepting these issuer-JWT `typ` values instead of
    /// `dc+sd-jwt` (for plain SD-JWTs such as RFC 9901's `example+sd-jwt`).
    pub fn with_accepted_typs<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        typs: I,
    ) -> Self {
        self.accepted_typs = typs.into_iter().map(Into::into).collect();
        self
    }

    /// Returns the policy accepting (or not) an issuer-signed JWT without `typ`.
    pub fn with_missing_typ_accepted(mut self, accepted: bool) -> Self {
        self.accept_missing_typ = accepted;
        self
    }

    /// Returns the policy accepting (or not) credentials whose status is unknown.
    pub fn with_unknown_status_accepted(mut self, accepted: bool) -> Self {
        self.accept_unknown_status = accepted;
        self
    }

    /// Returns the policy with another maximum status list age, in seconds.
    pub fn with_status_max_age(mut self, secs: u64) -> Self {
        self.status_max_age_secs = secs;
        self
    }

    /// Returns the policy with `exp` required or optional.
    pub fn with_require_expiry(mut self, required: bool) -> Self {
        self.require_expiry = required;
        self
    }
}

/// What a presentation must answer: the verifier's identifier and its fresh nonce,
/// and the transaction data it must acknowledge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentationRequest {
    /// The `aud` the KB-JWT must carry.
    pub audience: String,
    /// The `nonce` the KB-JWT must carry.
    pub nonce: String,
    /// The OpenID4VP `transaction_data` strings (§5.1) this presentation must
    /// acknowledge, exactly as sent and in request order: the KB-JWT carries their
    /// hashes in `transaction_data_hashes` (Appendix B.3.3.1). Empty: none, and a
    /// KB-JWT carrying hashes is refused. When a request's entries name different
    /// Credential Queries, each presentation answers those naming its own.
    pub transaction_data: Vec<String>,
}

impl PresentationRequest {
    /// A request for this audience and nonce, without transaction data.
    pub fn new(audience: impl Into<String>, nonce: impl Into<String>) -> Self {
        PresentationRequest {
            audience: audience.into(),
            nonce: nonce.into(),
            transaction_data: Vec::new(),
        }
    }

    /// Returns the request with these `transaction_data` strings to acknowledge.
    pub fn with_transaction_data<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        transaction_data: I,
    ) -> Self {
        self.transaction_data = transaction_data.into_iter().map(Into::into).collect();
        self
    }
}

/// The checked key binding of a presentation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct KeyBinding {
    /// The audience the holder bound the presentation to.
    pub audience: String,
    /// The nonce the holder answered.
    pub nonce: String,
    /// When the holder signed it.
    pub issued_at: u64,
    /// The `transaction_data_hashes` the holder signed (OpenID4VP 1.0 Appendix
    /// B.3.3.1), checked against the request's transaction data; empty when the
    /// request had none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub transaction_data_hashes: Vec<String>,
}

/// A verified credential or presentation. Only this crate can construct it: holding
/// one means every check passed.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Verified {
    /// The trusted issuer (`iss`).
    pub issuer: String,
    /// The algorithm the issuer signed with.
    pub algorithm: Algorithm,
    /// The credential type (`vct`), if any.
    pub vct: Option<String>,
    /// The subject (`sub`), if present or disclosed.
    pub subject: Option<String>,
    /// The credential identifier (`jti`), if any.
    pub credential_id: Option<String>,
    /// Always-visible and disclosed claims only; registered claims are in the other fields.
    pub claims: Map<String, Value>,
    /// The holder's key from `cnf.jwk`, if the credential is key-bound.
    pub holder_key: Option<PublicKey>,
    /// `iat` of the credential.
    pub issued_at: Option<u64>,
    /// `nbf` of the credential.
    pub not_before: Option<u64>,
    /// `exp` of the credential.
    pub expires_at: Option<u64>,
    /// The status reference (`status`), if present; checked against the verifier's
    /// status lists (see [`Verifier::with_status_lists`]).
    pub status: Option<Value>,
    /// The key binding, when a presentation was verified; `None` for an issued
    /// credential checked without one (holder binding not checked).
    pub key_binding: Option<KeyBinding>,
    /// Statements proven in zero knowledge about committed claims (never values).
    pub predicates: Vec<ProvenPredicate>,
    /// The delegation chain, when the presentation was made by a delegate: root
    /// rights, each delegation, the effective rights and the requested action.
    /// `holder_key` and `key_binding` are then the presenting delegate's.
    pub chain: Option<Chain>,
    /// The concrete path of every claim revealed through a disclosure, nested ones
    /// and array elements included (array positions count the revealed elements, as
    /// in [`Verified::claims`]), in the order they were revealed. Registered claims
    /// such as `sub` count too. Not serialized: the service's JSON does not carry it.
    #[serde(skip)]
    pub disclosed_paths: Vec<ClaimPath>,
    /// True when a rights claim ([`crate::delegation::RIGHTS_CLAIMS`]) arrived
    /// through a disclosure or holds disclosable parts: such rights are not used.
    #[serde(skip)]
    pub(crate) rights_concealable: bool,
}

impl Verified {
    /// True when the issuer made a rights claim (scope, resources, audience,
    /// constraints, max_delegation_depth) selectively disclosable. The holder could
    /// then have withheld a limit, so authorization and delegation refuse such a
    /// credential.
    pub fn rights_concealable(&self) -> bool {
        self.rights_concealable
    }
}

/// A signature the pipeline has yet to check, kept separate so that a batch can
/// check many at once.
#[derive(Debug, Clone)]
pub(crate) struct PendingSignature {
    pub(crate) role: SignatureRole,
    pub(crate) key: PublicKey,
    pub(crate) alg: Algorithm,
    pub(crate) message: Vec<u8>,
    pub(crate) signature: Vec<u8>,
}

impl PendingSignature {
    pub(crate) fn check(&self) -> Result<(), VerifyError> {
        self.key
            .verify(self.alg, &self.message, &self.signature)
            .map_err(|_| VerifyError::InvalidSignature(self.role))
    }
}

/// A presentation that passed every structural check; its signatures are pending.
#[derive(Debug, Clone)]
pub(crate) struct Checked {
    pub(crate) verified: Verified,
    pub(crate) signatures: Vec<PendingSignature>,
    /// Predicate statements and their proof, checked after the signatures.
    pub(crate) proof: Option<PendingProof>,
}

impl Checked {
    /// Checks every signature (in order: issuer, then key binding) and the
    /// predicate proof.
    pub(crate) fn finish(self) -> Result<Verified, VerifyError> {
        self.finish_with(|_| true)
    }

    /// Like [`finish`](Self::finish) for an item whose Ed25519 signatures a batch
    /// already verified: only the others are checked here.
    pub(crate) fn finish_skipping_ed25519(self) -> Result<Verified, VerifyError> {
        self.finish_with(|signature| signature.alg != Algorithm::EdDSA)
    }

    fn finish_with(
        mut self,
        needs_check: impl Fn(&PendingSignature) -> bool,
    ) -> Result<Verified, VerifyError> {
        for signature in self
            .signatures
            .iter()
            .filter(|signature| needs_check(signature))
        {
            signature.check()?;
        }
        if let Some(proof) = &self.proof {
            self.verified.predicates = proof.verify()?;
        }
        Ok(self.verified)
    }
}

/// A stateless, offline verifier: a trust store and a policy. Cheap to share
/// between threads (`&Verifier` is all a check needs).
#[derive(Debug, Clone)]
pub struct Verifier {
    trust: TrustStore,
    policy: Policy,
    status: StatusLists,
}

impl Verifier {
    /// A verifier that trusts `trust` under `policy`.
    pub fn new(trust: TrustStore, policy: Policy) -> Self {
        Verifier {
            trust,
            policy,
            status: StatusLists::new(),
        }
    }

    /// Returns the verifier checking revocation against these status lists
    /// (already verified with [`StatusLists::add_token`]).
    pub fn with_status_lists(mut self, status: StatusLists) -> Self {
        self.status = status;
        self
    }

    /// Checks a status reference of something `issuer` issued against the status
    /// lists, letting unknown status pass only when the policy says so.
    pub(crate) fn check_status(
        &self,
        status: Option<&Value>,
        issuer: &str,
        now: u64,
    ) -> Result<(), VerifyError> {
        let max_age = self.policy.status_max_age_secs;
        match self.status.check(
            status,
            issuer,
            self.trust.status_providers(issuer),
            now,
            max_age,
            self.policy.clock_skew_secs,
        ) {
            Err(VerifyError::StatusUnknown(_)) if self.policy.accept_unknown_status => Ok(()),
            other => other,
        }
    }

    /// The status lists in use.
    pub fn status_lists(&self) -> &StatusLists {
        &self.status
    }

    /// The trust store.
    pub fn trust(&self) -> &TrustStore {
        &self.trust
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Verifies a presentation with key binding (`<JWT>~<D>…~<KB-JWT>`) made for
    /// `request`, as of `now` (seconds since the Unix epoch).
    ///
    /// # Errors
    /// A [`VerifyError`] naming the first check that failed.
    pub fn verify_presentation(
        &self,
        presentation: &str,
        request: &PresentationRequest,
        now: u64,
    ) -> Result<Verified, VerifyError> {
        self.check(presentation, Some(request), now)?.finish()
    }

    /// Verifies an issued credential (`<JWT>~<D>…~`, no key binding), as a wallet
    /// does before storing one. Holder binding is not checked: the result's
    /// `key_binding` is `None`.
    ///
    /// # Errors
    /// A [`VerifyError`] naming the first check that failed;
    /// [`VerifyError::UnexpectedKeyBinding`] if the input carries a KB-JWT.
    pub fn verify_credential(&self, credential: &str, now: u64) -> Result<Verified, VerifyError> {
        self.check(credential, None, now)?.finish()
    }

    /// Runs every check except the signatures.
    pub(crate) fn check(
        &self,
        input: &str,
        request: Option<&PresentationRequest>,
        now: u64,
    ) -> Result<Checked, VerifyError> {
        self.check_with(input, request, now, None)
    }

    /// [`check`](Self::check), also trusting `extra` as an issuer for this one input
    /// (an approval's principal). Never for delegation chains.
    pub(crate) fn check_with(
        &self,
        input: &str,
        request: Option<&PresentationRequest>,
        now: u64,
        extra: Option<&TrustedIssuer>,
    ) -> Result<Checked, VerifyError> {
        if input.contains("~~") {
            return self.check_chain(input, request, now);
        }
        let policy = &self.policy;
        let depth = policy.limits.max_json_depth;
        let parts = SdJwtParts::parse(input, &policy.limits)?;
        let mut issuer_jwt = CompactJws::parse(parts.issuer_jwt, depth, "issuer JWT")?;

        let typ_accepted = match issuer_jwt.typ.as_deref() {
            None => policy.accept_missing_typ,
            Some(found) => policy.accepted_typs.iter().any(|typ| typ == found),
        };
        if !typ_accepted {
            return Err(VerifyError::UnexpectedType {
                found: issuer_jwt.typ.clone(),
                expected: policy.accepted_typs.join(" or "),
            });
        }
        let iss = string_claim(&issuer_jwt.payload, "iss", "credential")?
            .ok_or_else(|| VerifyError::malformed("credential has no iss"))?;
        let issuer = self
            .trust
            .resolve_with(iss, issuer_jwt.kid.as_deref(), extra)?;
        if issuer.key().algorithm() != issuer_jwt.alg {
            return Err(VerifyError::KeyIdMismatch(format!(
                "alg {} does not fit the issuer's key",
                issuer_jwt.alg
            )));
        }

        let payload = std::mem::take(&mut issuer_jwt.payload);
        let registered_in_clear = NEVER_DISCLOSED_CLAIMS.map(|name| payload.contains_key(name));
        let rights_in_clear =
            RIGHTS_CLAIMS.map(|name| payload.get(name).map(|value| !holds_concealed_parts(value)));
        let revealed = reveal_recording(payload, &parts.disclosures, depth, true)?;
        let mut claims = revealed.claims;
        let disclosed_paths = revealed.paths.into_iter().map(|(path, _)| path).collect();
        for (name, in_clear) in NEVER_DISCLOSED_CLAIMS.iter().zip(registered_in_clear) {
            if !in_clear && claims.contains_key(*name) {
                return Err(VerifyError::disclosure(format!(
                    "{name} must not be selectively disclosed"
                )));
            }
        }
        let rights_concealable =
            RIGHTS_CLAIMS
                .iter()
                .zip(rights_in_clear)
                .any(|(name, in_clear)| match in_clear {
                    Some(plain) => !plain,
                    None => claims.contains_key(*name),
                });
        let issued_at = numeric_date(&claims, "iat", "credential")?;
        let not_before = numeric_date(&claims, "nbf", "credential")?;
        let expires_at = numeric_date(&claims, "exp", "credential")?;
        self.check_validity(issued_at, not_before, expires_at, now)?;
        let vct = string_claim(&claims, "vct", "credential")?.map(str::to_owned);
        if issuer_jwt.typ.as_deref() == Some(SD_JWT_VC_TYP) && vct.is_none() {
            return Err(VerifyError::malformed("an SD-JWT VC must carry vct"));
        }
        let subject = string_claim(&claims, "sub", "credential")?.map(str::to_owned);
        let credential_id = string_claim(&claims, "jti", "credential")?.map(str::to_owned);
        let holder_key = match claims.get("cnf") {
            None => None,
            Some(cnf) => Some(holder_key_from_cnf(cnf)?),
        };
        let status = claims.get("status").cloned();
        self.check_status(status.as_ref(), issuer.id(), now)?;
        let commitments = claims.get(COMMITMENTS_CLAIM).cloned();
        for name in REGISTERED_CLAIMS {
            claims.remove(name);
        }

        let mut signatures = vec![PendingSignature {
            role: SignatureRole::Issuer,
            key: issuer.key().clone(),
            alg: issuer_jwt.alg,
            message: issuer_jwt.signing_input.as_bytes().to_vec(),
            signature: issuer_jwt.signature,
        }];

        let mut proof = None;
        let key_binding = match (request, parts.kb_jwt) {
            (None, None) => None,
            (None, Some(_)) => return Err(VerifyError::UnexpectedKeyBinding),
            (Some(_), None) => return Err(VerifyError::MissingKeyBinding),
            (Some(request), Some(kb_jwt)) => {
                let holder_key = holder_key.clone().ok_or_else(|| {
                    VerifyError::MissingHolderKey("the credential has no cnf".into())
                })?;
                let (binding, signature, pending_proof) = self.check_key_binding(
                    kb_jwt,
                    parts.without_kb,
                    holder_key,
                    request,
                    commitments.as_ref(),
                    now,
                )?;
                signatures.push(signature);
                proof = pending_proof;
                let audience = strings(claims.get("audience"), "audience")?;
                if !audience_allows(audience.as_deref(), &request.audience) {
                    return Err(VerifyError::AudienceNotAllowed(truncate(&request.audience)));
                }
                Some(binding)
            }
        };

        let verified = Verified {
            issuer: issuer.id().to_owned(),
            algorithm: issuer_jwt.alg,
            vct,
            subject,
            credential_id,
            claims,
            holder_key,
            issued_at,
            not_before,
            expires_at,
            status,
            key_binding,
            predicates: Vec::new(),
            chain: None,
            disclosed_paths,
            rights_concealable,
        };
        Ok(Checked {
            verified,
            signatures,
            proof,
        })
    }

    fn check_validity(
        &self,
        issued_at: Option<u64>,
        not_before: Option<u64>,
        expires_at: Option<u64>,
        now: u64,
    ) -> Result<(), VerifyError> {
        if expires_at.is_none() && self.policy.require_expiry {
            return Err(VerifyError::malformed("credential has no exp"));
        }
        check_window(
            expires_at,
            &[not_before, issued_at],
            now,
            self.policy.clock_skew_secs,
        )
    }

    fn check_key_binding(
        &self,
        kb_jwt: &str,
        without_kb: &str,
        holder_key: PublicKey,
        request: &PresentationRequest,
        commitments: Option<&Value>,
        now: u64,
    ) -> Result<(KeyBinding, PendingSignature, Option<PendingProof>), VerifyError> {
        let kb = CompactJws::parse(kb_jwt, self.policy.limits.max_json_depth, "KB-JWT")?;
        if kb.typ.as_deref() != Some(KB_JWT_TYP) {
            return Err(VerifyError::UnexpectedType {
                found: kb.typ.clone(),
                expected: KB_JWT_TYP.to_owned(),
            });
        }
        if kb.alg != holder_key.algorithm() {
            return Err(VerifyError::InvalidSignature(SignatureRole::KeyBinding));
        }
        let iat = numeric_date(&kb.payload, "iat", "KB-JWT")?
            .ok_or_else(|| VerifyError::malformed("KB-JWT has no iat"))?;
        let audience = string_claim(&kb.payload, "aud", "KB-JWT")?
            .ok_or_else(|| VerifyError::malformed("KB-JWT has no aud"))?;
        let nonce = string_claim(&kb.payload, "nonce", "KB-JWT")?
            .ok_or_else(|| VerifyError::malformed("KB-JWT has no nonce"))?;
        let sd_hash = string_claim(&kb.payload, "sd_hash", "KB-JWT")?
            .ok_or_else(|| VerifyError::malformed("KB-JWT has no sd_hash"))?;
        if audience != request.audience {
            return Err(VerifyError::AudienceMismatch);
        }
        if nonce != request.nonce {
            return Err(VerifyError::NonceMismatch);
        }
        if sd_hash != sha256_b64(without_kb) {
            return Err(VerifyError::SdHashMismatch);
        }
        let skew = self.policy.clock_skew_secs;
        let oldest = now.saturating_sub(self.policy.max_key_binding_age_secs.saturating_add(skew));
        if iat < oldest || iat > now.saturating_add(skew) {
            return Err(VerifyError::StaleKeyBinding { iat });
        }
        crate::jws::check_token_window(&kb.payload, "KB-JWT", now, skew)?;
        let transaction_data_hashes = crate::oid4vp::transaction_data::check_key_binding_hashes(
            &kb.payload,
            &request.transaction_data,
        )?;
        let binding = KeyBinding {
            audience: audience.to_owned(),
            nonce: nonce.to_owned(),
            issued_at: iat,
            transaction_data_hashes,
        };
        let signature = PendingSignature {
            role: SignatureRole::KeyBinding,
            key: holder_key,
            alg: kb.alg,
            message: kb.signing_input.as_bytes().to_vec(),
            signature: kb.signature,
        };
        let proof =
            PendingProof::from_kb_payload(&kb.payload, commitments, sd_hash, audience, nonce)?;
        Ok((binding, signature, proof))
    }
}

/// Reads the holder key from `cnf` (RFC 7800): only the `jwk` form is supported.
pub(crate) fn holder_key_from_cnf(cnf: &Value) -> Result<PublicKey, VerifyError> {
    let jwk = cnf
        .get("jwk")
        .ok_or_else(|| VerifyError::MissingHolderKey("cnf has no jwk".into()))?;
    PublicKey::from_jwk(jwk).map_err(|error| VerifyError::MissingHolderKey(error.to_string()))
}
