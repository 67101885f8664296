//! The issuer service's routes.
//!
//! | method | path | who | what |
//! |---|---|---|---|
//! | POST | `/v1/credentials` | caller | mint: 201 `{credential, jti, status: {uri, idx}, expires_at}` |
//! | GET | `/v1/credentials` | caller | what was issued (own; all for admins), no claim values |
//! | GET | `/v1/credentials/{jti}` | caller | one record |
//! | POST | `/v1/credentials/{jti}/revoke` | caller | revoke, for good |
//! | POST | `/v1/credentials/{jti}/suspend` | caller | suspend |
//! | POST | `/v1/credentials/{jti}/resume` | caller | lift a suspension |
//! | GET | `/v1/audit` | admin caller | the audit log |
//! | POST | `/v1/offers` | caller | an OpenID4VCI credential offer |
//! | GET | `/v1/status-lists` | anyone | the URIs of every list |
//! | GET | `/v1/status-lists/{list}` | anyone | the status list token (ETag, Cache-Control) |
//! | GET | `/.well-known/openid-credential-issuer` | anyone | OpenID4VCI issuer metadata |
//! | GET | `/.well-known/oauth-authorization-server` | anyone | RFC 8414 metadata |
//! | POST | `/v1/oid4vci/token` | wallet | pre-authorized code → access token |
//! | POST | `/v1/oid4vci/nonce` | wallet | a `c_nonce` |
//! | POST | `/v1/oid4vci/credential` | wallet | the offer's credential |
//! | GET | `/healthz` | anyone | 200 while the store answers |

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use super::api::{self, Change};
use super::errors::ApiRefusal;
use super::{oid4vci, Shared};

async fn revoke(
    State(role): State<Shared>,
    headers: HeaderMap,
    Path(jti): Path<String>,
) -> Result<Response, ApiRefusal> {
    api::change_status(role, headers, jti, Change::Revoke).await
}

async fn suspend(
    State(role): State<Shared>,
    headers: HeaderMap,
    Path(jti): Path<String>,
) -> Result<Response, ApiRefusal> {
    api::change_status(role, headers, jti, Change::Suspend).await
}

async fn resume(
    State(role): State<Shared>,
    headers: HeaderMap,
    Path(jti): Path<String>,
) -> Result<Response, ApiRefusal> {
    api::change_status(role, headers, jti, Change::Resume).await
}

async fn not_found() -> ApiRefusal {
    ApiRefusal::NoRoute
}

/// The route list.
pub(super) fn router() -> Router<Shared> {
    Router::new()
        .route("/v1/credentials", post(api::issue).get(api::list))
        .route("/v1/credentials/{jti}", get(api::show))
        .route("/v1/credentials/{jti}/revoke", post(revoke))
        .route("/v1/credentials/{jti}/suspend", post(suspend))
        .route("/v1/credentials/{jti}/resume", post(resume))
        .route("/v1/audit", get(api::audit))
        .route("/v1/offers", post(oid4vci::create_offer))
        .route("/v1/status-lists", get(api::status_lists))
        .route("/v1/status-lists/{list}", get(api::status_list))
        .route(
            "/.well-known/openid-credential-issuer",
            get(oid4vci::issuer_metadata),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(oid4vci::authorization_server_metadata),
        )
        .route("/v1/oid4vci/token", post(oid4vci::token))
        .route("/v1/oid4vci/nonce", post(oid4vci::nonce))
        .route("/v1/oid4vci/credential", post(oid4vci::credential))
        .route("/healthz", get(api::health))
        .fallback(not_found)
}
