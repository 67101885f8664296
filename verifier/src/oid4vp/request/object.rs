//! Request objects (RFC 9101, OpenID4VP 1.0 §5): the Wallet's check of a signed (or,
//! for `redirect_uri`, unsigned) request object, and the Verifier's signing input.
//!
//! Checked in order: size; three JWS parts; `typ` = `oauth-authz-req+jwt` (§5); no
//! `crit`; the `client_id` claim equal to the URL's (§5.10.1); the signature as the
//! prefix requires (§5.9.3) with `alg` ES256 or EdDSA (ES256 only under HAIP 1.0 §7),
//! never `none` for a signed prefix, always `none` for `redirect_uri`; `exp` not
//! passed and `iat`/`nbf` not in the future (with skew); `aud`, when present, one the
//! Wallet accepts (§5.8); then every parameter rule of [`super`]. `iss` is ignored
//! (§5).

use serde_json::{Map, Value};

use super::{AuthorizationRequest, RequestOptions};
use crate::alg::Algorithm;
use crate::encoding::{b64url_decode, b64url_encode, decode_json_object};
use crate::error::{truncate, VerifyError};
use crate::oid4vp::client_id::{ClientId, ClientIdPrefix};
use crate::oid4vp::error::RequestError;
use crate::x509::X509Anchor;

/// The `typ` of a request object (RFC 9101 §10.8, required by §5).
pub const REQUEST_OBJECT_TYP: &str = "oauth-authz-req+jwt";

/// Checks a request object received by reference (`request_uri`) or by value
/// (`request`) and returns the request it carries.
///
/// `url_client_id` is the `client_id` parameter of the URL that referred to the
/// object (`None` when there was none); `anchors` are the X.509 trust anchors for
/// `x509_san_dns` and `x509_hash` clients; `now` is in seconds since the Unix epoch.
///
/// # Errors
/// A [`RequestError`] naming the first rule broken.
pub fn verify_request_object(
    jwt: &str,
    url_client_id: Option<&str>,
    anchors: &[X509Anchor],
    now: u64,
    options: &RequestOptions,
) -> Result<AuthorizationRequest, RequestError> {
    let limits = &options.limits;
    if jwt.len() > limits.max_request_bytes {
        return Err(RequestError::LimitExceeded(format!(
            "the request object is longer than {} bytes",
            limits.max_request_bytes
        )));
    }
    let mut parts = jwt.splitn(4, '.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(RequestError::Malformed(
            "the request object is not a compact JWS (RFC 7515 §7.1)".into(),
        ));
    };
    let signing_input = &jwt[..header_b64.len() + 1 + payload_b64.len()];
    let depth = limits.max_json_depth;
    let header = decode_json_object(header_b64, depth, "request object header").map_err(input)?;
    let payload =
        decode_json_object(payload_b64, depth, "request object payload").map_err(input)?;
    let signature = b64url_decode(signature_b64, "request object signature").map_err(input)?;

    match header.get("typ") {
        Some(Value::String(typ)) if typ == REQUEST_OBJECT_TYP => {}
        found => {
            return Err(RequestError::UnexpectedType {
                found: found.map(|typ| truncate(&typ.to_string())),
            })
        }
    }
    if header.contains_key("crit") {
        return Err(RequestError::Malformed(
            "the header lists critical extensions (crit), none of which is supported".into(),
        ));
    }
    let claimed = match payload.get("client_id") {
        Some(Value::String(id)) => id.as_str(),
        Some(_) => return Err(RequestError::Malformed("client_id is not a string".into())),
        None => return Err(RequestError::MissingParameter("client_id")),
    };
    if let Some(url) = url_client_id.filter(|url| *url != claimed) {
        return Err(RequestError::ClientIdMismatch {
            url: truncate(url),
            object: truncate(claimed),
        });
    }
    let client_id = ClientId::parse(claimed)?;
    check_signature(
        &header,
        signing_input,
        &signature,
        &client_id,
        anchors,
        now,
        options,
    )?;

    let skew = options.clock_skew_secs;
    let expires_at = numeric(&payload, "exp")?;
    let issued_at = numeric(&payload, "iat")?;
    let not_before = numeric(&payload, "nbf")?;
    match expires_at {
        Some(exp) if now > exp.saturating_add(skew) => {
            return Err(RequestError::Expired { expired_at: exp })
        }
        None if options.require_expiry => return Err(RequestError::MissingParameter("exp")),
        _ => {}
    }
    if let Some(from) = [issued_at, not_before]
        .into_iter()
        .flatten()
        .find(|from| *from > now.saturating_add(skew))
    {
        return Err(RequestError::NotYetValid { valid_from: from });
    }
    let audience = read_audience(&payload, options)?;

    let mut request = AuthorizationRequest::from_parameters(&payload, options)?;
    request.issued_at = issued_at;
    request.expires_at = expires_at;
    request.audience = audience;
    Ok(request)
}

/// The signature rule of the prefix: `none` (and an empty signature) exactly for
/// `redirect_uri`; otherwise ES256 or EdDSA by the client's key.
fn check_signature(
    header: &Map<String, Value>,
    signing_input: &str,
    signature: &[u8],
    client_id: &ClientId,
    anchors: &[X509Anchor],
    now: u64,
    options: &RequestOptions,
) -> Result<(), RequestError> {
    let alg = match header.get("alg") {
        Some(Value::String(alg)) => alg.as_str(),
        _ => {
            return Err(RequestError::Malformed(
                "the header has no string alg".into(),
            ))
        }
    };
    let prefix = client_id.prefix();
    if alg == "none" {
        if options.haip {
            return Err(RequestError::NotHaip(
                "requests must be signed (HAIP 1.0 §5.1)".into(),
            ));
        }
        if prefix.requires_signature() {
            return Err(RequestError::SignatureRequired(prefix.as_str()));
        }
        if !signature.is_empty() {
            return Err(RequestError::Malformed(
                "an unsigned (alg none) request object carries a signature".into(),
            ));
        }
        return Ok(());
    }
    if prefix == ClientIdPrefix::RedirectUri {
        return Err(RequestError::SignedWhenUnsignedRequired);
    }
    let alg = match alg {
        "ES256" => Algorithm::ES256,
        "EdDSA" | "Ed25519" if !options.haip => Algorithm::EdDSA,
        other => return Err(RequestError::AlgorithmNotAllowed(truncate(other))),
    };
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.as_str()),
        Some(_) => return Err(RequestError::Malformed("kid is not a string".into())),
    };
    let key = client_id.signing_key(alg, kid, header.get("x5c"), anchors, now, options.haip)?;
    key.verify(alg, signing_input.as_bytes(), signature)
        .map_err(|_| RequestError::BadSignature)
}

fn numeric(payload: &Map<String, Value>, name: &str) -> Result<Option<u64>, RequestError> {
    match payload.get(name) {
        None => Ok(None),
        Some(value) => value.as_u64().map(Some).ok_or_else(|| {
            RequestError::Malformed(format!("{name} must be a whole number of seconds"))
        }),
    }
}

/// `aud`, a string or an array of strings (RFC 7519 §4.1.3): one must be accepted.
fn read_audience(
    payload: &Map<String, Value>,
    options: &RequestOptions,
) -> Result<Option<String>, RequestError> {
    let audiences: Vec<&str> = match payload.get("aud") {
        None => return Ok(None),
        Some(Value::String(aud)) => vec![aud.as_str()],
        Some(Value::Array(items)) => items
            .iter()
            .map(Value::as_str)
            .collect::<Option<_>>()
            .ok_or_else(|| RequestError::Malformed("aud holds a non-string".into()))?,
        Some(_) => return Err(RequestError::Malformed("aud is not a string".into())),
    };
    audiences
        .iter()
        .find(|aud| options.accepted_audiences.iter().any(|ok| ok == *aud))
        .map(|aud| Some((*aud).to_owned()))
        .ok_or_else(|| RequestError::AudienceMismatch(truncate(&audiences.join(" "))))
}

fn input(error: VerifyError) -> RequestError {
    match error {
        VerifyError::LimitExceeded(reason) => RequestError::LimitExceeded(reason),
        other => RequestError::Malformed(other.to_string()),
    }
}

impl AuthorizationRequest {
    /// `BASE64URL(header) . BASE64URL(claims)`: what the Verifier signs with `alg`
    /// (ES256 with a P-256 key, EdDSA with an Ed25519 did:key). The header is
    /// `{alg, typ: oauth-authz-req+jwt, kid?, x5c?}`: `kid` is the DID URL of the
    /// signing key for `decentralized_identifier`, `x5c` the chain (leaf first,
    /// base64 DER, no trust anchor under HAIP) for the x509 prefixes. Join the
    /// signature with [`signed_request_object`].
    ///
    /// # Errors
    /// [`RequestError::AlgorithmNotAllowed`] for another `alg`;
    /// [`RequestError::SignedWhenUnsignedRequired`] for a `redirect_uri` client.
    pub fn signing_input(
        &self,
        alg: Algorithm,
        kid: Option<&str>,
        x5c: Option<&[String]>,
    ) -> Result<String, RequestError> {
        if !matches!(alg, Algorithm::ES256 | Algorithm::EdDSA) {
            return Err(RequestError::AlgorithmNotAllowed(alg.as_str().into()));
        }
        if !self.client_id.prefix().requires_signature() {
            return Err(RequestError::SignedWhenUnsignedRequired);
        }
        let mut header = Map::new();
        header.insert("alg".into(), alg.as_str().into());
        header.insert("typ".into(), REQUEST_OBJECT_TYP.into());
        if let Some(kid) = kid {
            header.insert("kid".into(), kid.into());
        }
        if let Some(x5c) = x5c {
            header.insert("x5c".into(), x5c.to_vec().into());
        }
        Ok(format!(
            "{}.{}",
            b64url_encode(Value::Object(header).to_string().as_bytes()),
            b64url_encode(Value::Object(self.claims()).to_string().as_bytes())
        ))
    }

    /// The request as an unsigned request object (`alg: none`, empty signature),
    /// which only a `redirect_uri` client may send.
    ///
    /// # Errors
    /// [`RequestError::SignatureRequired`] for any other prefix.
    pub fn unsigned_request_object(&self) -> Result<String, RequestError> {
        let prefix = self.client_id.prefix();
        if prefix.requires_signature() {
            return Err(RequestError::SignatureRequired(prefix.as_str()));
        }
        let header = serde_json::json!({"alg": "none", "typ": REQUEST_OBJECT_TYP});
        Ok(format!(
            "{}.{}.",
            b64url_encode(header.to_string().as_bytes()),
            b64url_encode(Value::Object(self.claims()).to_string().as_bytes())
        ))
    }
}

/// A signed request object: the signing input of
/// [`AuthorizationRequest::signing_input`] and the JWS signature over it (64 bytes,
/// `r || s` for ES256).
pub fn signed_request_object(signing_input: &str, signature: &[u8]) -> String {
    format!("{signing_input}.{}", b64url_encode(signature))
}
