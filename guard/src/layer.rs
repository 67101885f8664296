//! The tower [`Layer`] and [`Service`]: [`GuardLayer`] wraps any service taking
//! `Request<axum::body::Body>` (an axum `Router`, rmcp's `StreamableHttpService`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use agentid_verifier::access_token::AccessToken;
use axum::body::Body;
use bytes::Bytes;
use http::{Method, Request, Response};
use http_body_util::BodyExt as _;
use tower::{Layer, Service};

use crate::config::GuardConfig;
use crate::error::{ConfigError, Refusal, Scheme};
use crate::scopes::Requirement;
use crate::state::{Credentials, GuardState};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The guard as a tower layer. Cheap to clone (one shared state).
///
/// Put it outermost, around the whole router (`Router::layer`, after every
/// `route`/`nest_service`), so it sees the full request path: it serves the metadata
/// paths itself, decides scopes by path, and checks DPoP `htu` against the
/// configured origin and that path.
#[derive(Clone)]
pub struct GuardLayer {
    state: Arc<GuardState>,
}

impl std::fmt::Debug for GuardLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("GuardLayer")
            .field(&self.state.config)
            .finish()
    }
}

impl GuardLayer {
    /// Builds the guard.
    ///
    /// # Errors
    /// [`ConfigError`] for an unusable configuration (no issuer and no direct mode,
    /// an issuer that is not a URL, a non-https JWKS URI without `allow_http`, a zero
    /// bound).
    pub fn new(config: GuardConfig) -> Result<Self, ConfigError> {
        Ok(GuardLayer {
            state: Arc::new(GuardState::new(config)?),
        })
    }

    /// The metadata document this guard serves.
    pub fn metadata(&self) -> serde_json::Value {
        crate::metadata::document(&self.state.config)
    }
}

impl<S> Layer<S> for GuardLayer {
    type Service = Guard<S>;

    fn layer(&self, inner: S) -> Guard<S> {
        Guard {
            inner,
            state: Arc::clone(&self.state),
        }
    }
}

/// The guarded service.
#[derive(Clone)]
pub struct Guard<S> {
    inner: S,
    state: Arc<GuardState>,
}

impl<S> std::fmt::Debug for Guard<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard").finish_non_exhaustive()
    }
}

impl<S, B, ResBody> Service<Request<B>> for Guard<S>
where
    S: Service<Request<Body>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The clone is fresh and may not be ready; the one polled ready does the call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let state = Arc::clone(&self.state);
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let body = Body::new(body);
            let path = parts.uri.path();
            if state.is_metadata_path(path) {
                return Ok(state.metadata_response(&parts.method));
            }
            let request = match admit(&state, Request::from_parts(parts, body)).await {
                Ok(request) => request,
                Err(refusal) => return Ok(state.refuse(&refusal)),
            };
            inner
                .call(request)
                .await
                .map(|response| response.map(Body::new))
        })
    }
}

/// Runs every check; the request comes back with the body restored and the
/// [`AccessToken`] (or [`crate::DirectPresentation`]) in its extensions.
async fn admit(state: &GuardState, request: Request<Body>) -> Result<Request<Body>, Refusal> {
    let (mut parts, body) = request.into_parts();
    let mut needed = match state
        .config
        .routes
        .requirement(&parts.method, parts.uri.path())
    {
        Requirement::Public => return Ok(Request::from_parts(parts, body)),
        Requirement::Scopes(scopes) => scopes,
    };
    let url = state.external_url(parts.uri.path());
    let credentials = state.credentials(&parts.headers)?;
    let scheme = match &credentials {
        Credentials::Bearer(_) => Scheme::Bearer,
        Credentials::Dpop { .. } => Scheme::DPoP,
        Credentials::Direct { .. } => Scheme::AgentId,
    };
    // Tokens are checked before the body is read; a direct presentation after (its
    // authorization needs every scope, the tools' included).
    let token = match credentials {
        Credentials::Bearer(token) => {
            let validated = state.validate(token, scheme).await?;
            crate::dpop::check_presentation(state, &validated, scheme)?;
            Some(validated)
        }
        Credentials::Dpop { token, proof } => {
            let validated = state.validate(token, scheme).await?;
            crate::dpop::check_presentation(state, &validated, scheme)?;
            crate::dpop::check_proof(state, &validated, token, proof, parts.method.as_str(), &url)?;
            Some(validated)
        }
        Credentials::Direct { .. } => None,
    };
    let body = match &state.config.tools {
        Some(tools) if parts.method == Method::POST && state.is_mcp_path(parts.uri.path()) => {
            let bytes = read_bounded(body, state.config.max_mcp_body_bytes).await?;
            for scope in crate::mcp::tool_scopes(&bytes, tools, scheme)? {
                if !needed.contains(&scope) {
                    needed.push(scope);
                }
            }
            Body::from(bytes)
        }
        _ => body,
    };
    match token {
        Some(token) => {
            let missing: Vec<String> = needed
                .iter()
                .filter(|scope| !token.has_scope(scope))
                .cloned()
                .collect();
            if !missing.is_empty() {
                return Err(Refusal::InsufficientScope {
                    scheme,
                    scope: needed,
                    description: "the token does not grant the scope this request needs",
                });
            }
            parts.extensions.insert(token);
        }
        None => {
            let direct = state
                .config
                .direct
                .as_ref()
                .ok_or(Refusal::Unauthenticated)?;
            let Credentials::Direct {
                presentation,
                nonce,
            } = state.credentials(&parts.headers)?
            else {
                return Err(Refusal::Unauthenticated);
            };
            let admitted = crate::direct::admit(state, direct, presentation, nonce, &needed, &url)?;
            parts.extensions.insert(admitted);
        }
    }
    Ok(Request::from_parts(parts, body))
}

/// Reads at most `max` bytes of `body`.
async fn read_bounded(body: Body, max: usize) -> Result<Bytes, Refusal> {
    let limited = http_body_util::Limited::new(body, max);
    match limited.collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => Err(Refusal::BodyTooLarge),
        Err(_) => Err(Refusal::InvalidRequest(
            "the request body could not be read",
        )),
    }
}

/// The access token the guard validated, for handlers that take the request.
pub fn access_token<B>(request: &Request<B>) -> Option<&AccessToken> {
    request.extensions().get::<AccessToken>()
}
