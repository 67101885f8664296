//! An MCP tool server (streamable HTTP, rmcp) guarded by agentid-guard.
//!
//! Two tools, each needing its own scope: `lookup_order` (`tools:read`) and
//! `refund_order` (`tools:write`, and within the token's `constraints.max_amount`).
//! Tokens come from an agentid authorization server; the server's RFC 9728 metadata
//! points at it.
//!
//! ```text
//! cargo run -p agentid-guard --example mcp_tools_server -- \
//!     --resource http://127.0.0.1:8480/mcp \
//!     --authorization-server http://127.0.0.1:8470 --listen 127.0.0.1:8480 --allow-http
//! ```

use std::net::SocketAddr;
use std::time::Duration;

use agentid_guard::{
    AccessToken, GuardConfig, GuardLayer, IssuerConfig, JwksOptions, JwksSource, RouteScopes,
    ToolScopes,
};
use clap::Parser;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::Extension;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{ServerCapabilities, ServerConfig};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{schemars, tool, tool_handler, tool_router, ServerHandler};

/// Command line.
#[derive(Parser)]
struct Args {
    /// This server's resource identifier (RFC 8707), e.g. https://tools.example/mcp.
    /// Its path is where the MCP endpoint is mounted.
    #[arg(long)]
    resource: String,
    /// The agentid authorization server (issuer URL); repeatable.
    #[arg(long = "authorization-server", required = true)]
    authorization_servers: Vec<String>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8480")]
    listen: SocketAddr,
    /// Accept only DPoP-bound tokens.
    #[arg(long)]
    dpop_required: bool,
    /// Fetch the authorization server's metadata and JWKS over plain http (local tests).
    #[arg(long)]
    allow_http: bool,
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct LookupOrder {
    /// The order id.
    order: String,
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct RefundOrder {
    /// The order id.
    order: String,
    /// The amount to refund.
    amount: f64,
}

/// The tools.
#[derive(Debug, Clone)]
struct OrderTools {
    #[allow(dead_code)] // read through the code #[tool_handler] generates
    tool_router: ToolRouter<Self>,
}

/// The token the guard validated, from the HTTP request rmcp hands the tool.
fn token(parts: &http::request::Parts) -> Option<&AccessToken> {
    parts.extensions.get::<AccessToken>()
}

#[tool_router]
impl OrderTools {
    fn new() -> Self {
        OrderTools {
            tool_router: Self::tool_router(),
        }
    }

    /// Needs `tools:read` (the guard checks it before the call reaches here).
    #[tool(description = "Look up an order's status")]
    async fn lookup_order(
        &self,
        Parameters(LookupOrder { order }): Parameters<LookupOrder>,
        Extension(parts): Extension<http::request::Parts>,
    ) -> String {
        let agent = token(&parts).map_or("?", |token| token.subject.as_str());
        format!("order {order}: shipped (looked up for {agent})")
    }

    /// Needs `tools:write`; the amount must be within the token's `max_amount`
    /// constraint, which the guard hands on and the tool enforces.
    #[tool(description = "Refund an order")]
    async fn refund_order(
        &self,
        Parameters(RefundOrder { order, amount }): Parameters<RefundOrder>,
        Extension(parts): Extension<http::request::Parts>,
    ) -> Result<String, rmcp::ErrorData> {
        let limit = token(&parts)
            .and_then(|token| token.constraints.as_ref())
            .and_then(|constraints| constraints.get("max_amount"))
            .and_then(serde_json::Value::as_f64);
        if !amount.is_finite() || amount < 0.0 || limit.is_some_and(|limit| amount > limit) {
            return Err(rmcp::ErrorData::invalid_params(
                "the amount is beyond what this token allows",
                None,
            ));
        }
        Ok(format!("refunded {amount} on order {order}"))
    }
}

#[tool_handler]
impl ServerHandler for OrderTools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_instructions("Order tools guarded by agentid: lookup_order needs tools:read, refund_order tools:write")
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber_init();
    let args = Args::parse();
    let resource = url::Url::parse(&args.resource)?;
    let mount = resource.path().trim_end_matches('/').to_owned();
    let mount = if mount.is_empty() {
        "/".to_owned()
    } else {
        mount
    };

    let mut jwks = JwksOptions::default();
    jwks.allow_http = args.allow_http;
    let mut config = GuardConfig::new(&args.resource)?
        .with_scopes_supported(["tools:read", "tools:write"])
        .with_dpop_required(args.dpop_required)
        .with_jwks_options(jwks)
        .with_routes(RouteScopes::new())
        .with_tools(
            ToolScopes::new()
                .tool("lookup_order", "tools:read")
                .tool("refund_order", "tools:write"),
        );
    for issuer in &args.authorization_servers {
        config = config.with_issuer(IssuerConfig::new(issuer, JwksSource::Discover));
    }
    let guard = GuardLayer::new(config)?;

    // rmcp checks the Host header against this list (DNS rebinding protection).
    let host = resource.host_str().unwrap_or("localhost").to_owned();
    let authority = match resource.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.clone(),
    };
    let mcp = StreamableHttpService::new(
        || Ok(OrderTools::new()),
        std::sync::Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default()
            .with_allowed_hosts([host, authority])
            .with_sse_keep_alive(Some(Duration::from_secs(15))),
    );
    // The guard goes around the whole router: it serves the metadata paths and sees
    // the full path (the nested service sees it stripped).
    let app = if mount == "/" {
        axum::Router::new().fallback_service(mcp)
    } else {
        axum::Router::new().nest_service(&mount, mcp)
    }
    .layer(guard);
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    eprintln!(
        "MCP tools at {} (metadata at {}/.well-known/oauth-protected-resource{})",
        args.resource,
        resource.origin().ascii_serialization(),
        if mount == "/" { "" } else { &mount }
    );
    axum::serve(listener, app).await?;
    Ok(())
}

/// Logs to stderr at `RUST_LOG` (default `info`); token contents are never logged.
fn tracing_subscriber_init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
