//! What a guard holds once built: validators and key sources per issuer, the
//! replay cache, the metadata document.

use std::time::{SystemTime, UNIX_EPOCH};

use agentid_verifier::access_token::{
    AccessToken, AccessTokenError, AccessTokenValidator, UnverifiedAccessToken,
};
use axum::body::Body;
use bytes::Bytes;
use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderMap, Method, Response, StatusCode};

use crate::challenge::{respond, Challenges};
use crate::config::GuardConfig;
use crate::error::{ConfigError, Refusal, Scheme};
use crate::jwks::KeySource;
use crate::replay::{NotRecorded, ReplayCache};

/// The `DPoP` request header (RFC 9449 §4.1).
pub const DPOP_HEADER: &str = "dpop";

/// A guard's shared state.
pub(crate) struct GuardState {
    pub(crate) config: GuardConfig,
    issuers: Vec<(KeySource, AccessTokenValidator)>,
    pub(crate) replay: ReplayCache,
    metadata: Bytes,
    metadata_url: String,
    origin: String,
}

/// The credentials a request carries.
pub(crate) enum Credentials<'a> {
    Bearer(&'a str),
    Dpop {
        token: &'a str,
        proof: Option<&'a str>,
    },
    Direct {
        presentation: &'a str,
        nonce: Option<&'a str>,
    },
}

/// Seconds since the Unix epoch.
pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

impl GuardState {
    pub(crate) fn new(config: GuardConfig) -> Result<Self, ConfigError> {
        if config.issuers.is_empty() && config.direct.is_none() {
            return Err(ConfigError::NoIssuer);
        }
        if config.replay_capacity == 0 {
            return Err(ConfigError::ZeroBound("the replay cache capacity"));
        }
        let client = crate::jwks::client(&config.jwks)?;
        let issuers = config
            .issuers
            .iter()
            .map(|issuer| {
                let source = KeySource::new(issuer, &config.jwks, client.clone())?;
                let validator = AccessTokenValidator::new(issuer.issuer(), config.resource())
                    .with_clock_skew(config.clock_skew_secs)
                    .with_max_token_bytes(config.max_token_bytes);
                Ok((source, validator))
            })
            .collect::<Result<Vec<_>, ConfigError>>()?;
        let metadata = Bytes::from(crate::metadata::document(&config).to_string());
        Ok(GuardState {
            replay: ReplayCache::new(config.replay_capacity),
            metadata_url: config.metadata_url(),
            origin: config.origin(),
            issuers,
            metadata,
            config,
        })
    }

    /// The request's URL as this server is known from outside: the configured origin
    /// and the request's path (no query, no fragment).
    pub(crate) fn external_url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    /// True under the resource's own path: the MCP endpoint, where tool calls are read.
    pub(crate) fn is_mcp_path(&self, path: &str) -> bool {
        crate::scopes::under(path, self.config.resource.path().trim_end_matches('/'))
    }

    /// True for the metadata paths: the root form and the path-inserted one.
    pub(crate) fn is_metadata_path(&self, path: &str) -> bool {
        path == crate::metadata::WELL_KNOWN || path == self.config.metadata_path()
    }

    /// The metadata document (GET and HEAD; other methods 405).
    pub(crate) fn metadata_response(&self, method: &Method) -> Response<Body> {
        let mut response = if method == Method::GET || method == Method::HEAD {
            let body = if method == Method::GET {
                Body::from(self.metadata.clone())
            } else {
                Body::empty()
            };
            let mut response = Response::new(body);
            response
                .headers_mut()
                .insert(CACHE_CONTROL, HeaderValue::from_static("max-age=300"));
            response
        } else {
            let mut response = Response::new(Body::empty());
            *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
            response
                .headers_mut()
                .insert(http::header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return response;
        };
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response
    }

    /// The response for a refusal.
    pub(crate) fn refuse(&self, refusal: &Refusal) -> Response<Body> {
        tracing::debug!(status = refusal.status().as_u16(), error = refusal.code(), reason = %refusal, "refused");
        let direct_nonce = self
            .config
            .direct
            .as_ref()
            .map(|direct| direct.issue_nonce(self.config.resource(), now()));
        respond(
            refusal,
            &Challenges {
                metadata_url: &self.metadata_url,
                dpop_required: self.config.dpop_required,
                direct_nonce,
            },
        )
    }

    /// Reads the credentials: one `Authorization` header of a known scheme.
    pub(crate) fn credentials<'h>(
        &self,
        headers: &'h HeaderMap,
    ) -> Result<Credentials<'h>, Refusal> {
        let mut values = headers.get_all(http::header::AUTHORIZATION).iter();
        let (Some(value), None) = (values.next(), values.next()) else {
            return match headers.contains_key(http::header::AUTHORIZATION) {
                true => Err(Refusal::InvalidRequest(
                    "more than one Authorization header",
                )),
                false => Err(Refusal::Unauthenticated),
            };
        };
        let value = value
            .to_str()
            .map_err(|_| Refusal::InvalidRequest("the Authorization header is not ASCII"))?;
        let Some((scheme, credentials)) = value.split_once(' ') else {
            return Err(Refusal::Unauthenticated);
        };
        let credentials = credentials.trim_start_matches(' ');
        let scheme = if scheme.eq_ignore_ascii_case("bearer") {
            Scheme::Bearer
        } else if scheme.eq_ignore_ascii_case("dpop") {
            Scheme::DPoP
        } else if scheme.eq_ignore_ascii_case("agentid") && self.config.direct.is_some() {
            Scheme::AgentId
        } else {
            // A scheme this server does not speak: as if no credentials (RFC 9110 §11.6.2).
            return Err(Refusal::Unauthenticated);
        };
        if !is_token68(credentials) {
            return Err(Refusal::invalid_token(
                scheme,
                "the credentials are not a token68 (RFC 9110 §11.2)",
            ));
        }
        let single = |name: &str| -> Result<Option<&'h str>, ()> {
            let mut values = headers.get_all(name).iter();
            match (values.next(), values.next()) {
                (None, _) => Ok(None),
                (Some(value), None) => value.to_str().map(Some).map_err(|_| ()),
                _ => Err(()),
            }
        };
        Ok(match scheme {
            Scheme::Bearer => Credentials::Bearer(credentials),
            Scheme::DPoP => Credentials::Dpop {
                token: credentials,
                proof: single(DPOP_HEADER).map_err(|()| {
                    Refusal::InvalidDpopProof("more than one DPoP header (RFC 9449 §4.3)".into())
                })?,
            },
            Scheme::AgentId => Credentials::Direct {
                presentation: credentials,
                nonce: single(crate::direct::NONCE_HEADER)
                    .map_err(|()| Refusal::InvalidRequest("more than one AgentID-Nonce header"))?,
            },
        })
    }

    /// Validates an access token: the issuer it names picks the keys and the
    /// validator; an unknown `kid` costs at most one (rate-limited) refetch.
    pub(crate) async fn validate(
        &self,
        token: &str,
        scheme: Scheme,
    ) -> Result<AccessToken, Refusal> {
        let refuse = |error: AccessTokenError| Refusal::invalid_token(scheme, error.to_string());
        let parsed =
            UnverifiedAccessToken::parse(token, self.config.max_token_bytes).map_err(refuse)?;
        let Some((source, validator)) = self
            .issuers
            .iter()
            .find(|(source, _)| Some(source.issuer()) == parsed.unverified_issuer())
        else {
            return Err(refuse(AccessTokenError::IssuerMismatch));
        };
        let keys = source.current().await.map_err(|_| {
            Refusal::Unavailable("the authorization server's keys cannot be fetched")
        })?;
        let now = now();
        match validator.validate_parsed(parsed.clone(), &keys.set, now) {
            Err(AccessTokenError::UnknownKey) => {
                match source.refetch_after_unknown_kid(&keys).await {
                    Some(newer) => validator.validate_parsed(parsed, &newer.set, now),
                    None => Err(AccessTokenError::UnknownKey),
                }
            }
            verdict => verdict,
        }
        .map_err(refuse)
    }

    /// Records a single-use value (DPoP `jti`, direct nonce) until `expires_at`.
    pub(crate) fn record_once(
        &self,
        parts: &[&[u8]],
        expires_at: u64,
        replayed: Refusal,
    ) -> Result<(), Refusal> {
        self.replay
            .record(parts, expires_at, now())
            .map_err(|error| match error {
                NotRecorded::Replayed => replayed,
                NotRecorded::Full => {
                    tracing::warn!("replay cache full: refusing new proofs until entries expire");
                    Refusal::Unavailable("too many recent requests; try again shortly")
                }
            })
    }
}

/// RFC 9110 §11.2: `token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_token68(text: &str) -> bool {
    let body = text.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}
