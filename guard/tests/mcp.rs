//! The guard around rmcp's streamable-HTTP server, called by rmcp's client: per-tool
//! scopes end to end, and the validated token reaching the tool.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use agentid_guard::{AccessToken, GuardConfig, GuardLayer, IssuerConfig, JwksSource, ToolScopes};
use common::*;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::Extension;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolRequestParams, ServerCapabilities, ServerConfig};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{schemars, tool, tool_handler, tool_router, ServerHandler, ServiceExt as _};

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct Order {
    order: String,
}

#[derive(Debug, Clone)]
struct Tools {
    #[allow(dead_code)]
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl Tools {
    #[tool(description = "Look up an order")]
    async fn lookup_order(
        &self,
        Parameters(Order { order }): Parameters<Order>,
        Extension(parts): Extension<http::request::Parts>,
    ) -> String {
        let token = parts.extensions.get::<AccessToken>().unwrap();
        format!("{order} for {}", token.subject)
    }

    #[tool(description = "Refund an order")]
    async fn refund_order(&self, Parameters(Order { order }): Parameters<Order>) -> String {
        format!("refunded {order}")
    }
}

#[tool_handler]
impl ServerHandler for Tools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }
}

async fn start(auth: &AuthServer) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let resource = format!("http://{}/mcp", listener.local_addr().unwrap());
    let config = GuardConfig::new(&resource)
        .unwrap()
        .with_issuer(IssuerConfig::new(
            &auth.issuer,
            JwksSource::Uri(auth.jwks_uri()),
        ))
        .with_jwks_options(jwks_options(Duration::from_secs(1)))
        .with_tools(
            ToolScopes::new()
                .tool("lookup_order", "tools:read")
                .tool("refund_order", "tools:write"),
        );
    let mcp = StreamableHttpService::new(
        || {
            Ok(Tools {
                tool_router: Tools::tool_router(),
            })
        },
        std::sync::Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default(),
    );
    let app = axum::Router::new()
        .nest_service("/mcp", mcp)
        .layer(GuardLayer::new(config).unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    resource
}

fn call(name: &'static str) -> CallToolRequestParams {
    let arguments = serde_json::json!({"order": "A-1"});
    CallToolRequestParams::new(name).with_arguments(arguments.as_object().unwrap().clone())
}

#[tokio::test]
async fn rmcp_client_calls_the_tools_its_token_grants_and_no_other() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let auth = AuthServer::start().await;
    let resource = start(&auth).await;
    let token = auth.token(&auth.claims(&resource, "tools:read"));
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(resource.as_str()).auth_header(token),
    );
    let client = ().serve(transport).await.unwrap();
    let tools = client.list_all_tools().await.unwrap();
    assert_eq!(tools.len(), 2, "tools/list needs no tool scope");
    let result = client.call_tool(call("lookup_order")).await.unwrap();
    let text = serde_json::to_string(&result).unwrap();
    assert!(text.contains("A-1 for did:key:z6Mkagent"), "{text}");
    let refused = client.call_tool(call("refund_order")).await;
    assert!(refused.is_err(), "refund_order needs tools:write");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn rmcp_client_without_a_token_is_told_where_the_metadata_is() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let auth = AuthServer::start().await;
    let resource = start(&auth).await;
    let transport = StreamableHttpClientTransport::from_uri(resource.as_str());
    let Err(error) = ().serve(transport).await else {
        panic!("a client without a token was let in");
    };
    let text = format!("{error:?}");
    assert!(text.contains("resource_metadata"), "{text}");
}
