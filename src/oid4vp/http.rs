//! The HTTP client of the OpenID4VP roles (the wallet fetching request objects and
//! posting responses, the verifier service calling back its caller) and of the
//! OpenID4VCI wallet (`agentid receive --offer`).
//!
//! rustls with the `ring` provider (already built for the cryptography), the
//! platform's root certificates plus any the operator adds, `https` only unless
//! allowed, no redirects (a request object or response endpoint that moves is
//! refused, not followed), timeouts on connect and on the whole exchange, and a cap
//! on every body read.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::CliError;

/// How long a connection may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a whole exchange may take.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(30);

/// What the client may talk to.
#[derive(Debug, Clone, Default)]
pub(crate) struct HttpOptions {
    /// Allow plain `http` URLs (tests and local development only).
    pub(crate) allow_http: bool,
    /// Extra trusted root certificates (PEM files).
    pub(crate) tls_ca: Vec<PathBuf>,
}

/// A bounded HTTP client.
#[derive(Debug, Clone)]
pub(crate) struct HttpClient {
    client: reqwest::Client,
    allow_http: bool,
}

/// A response, read whole (within a bound).
#[derive(Debug)]
pub(crate) struct Fetched {
    /// The HTTP status.
    pub(crate) status: u16,
    /// The `Content-Type`, without parameters, lowercased.
    pub(crate) content_type: String,
    /// The body.
    pub(crate) body: Vec<u8>,
}

impl HttpClient {
    /// A client for `options`.
    pub(crate) fn new(options: &HttpOptions) -> Result<Self, CliError> {
        // reqwest's rustls backend takes the process-wide provider; installing it
        // twice is harmless (the second call reports the first).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut extra = Vec::new();
        for path in &options.tls_ca {
            let pem = crate::io::read_bounded(&path.to_string_lossy(), 1024 * 1024)?;
            let certificates = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                CliError::usage(format!("{}: not PEM certificates: {e}", path.display()))
            })?;
            if certificates.is_empty() {
                return Err(CliError::usage(format!(
                    "{}: no certificate in it",
                    path.display()
                )));
            }
            extra.extend(certificates);
        }
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(EXCHANGE_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .https_only(!options.allow_http)
            .tls_certs_merge(extra)
            .user_agent(concat!("agentid/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CliError::failed(format!("cannot set up the HTTP client: {e}")))?;
        Ok(HttpClient {
            client,
            allow_http: options.allow_http,
        })
    }

    /// Refuses a URL this client may not use, before any connection.
    pub(crate) fn check_url(&self, url: &str) -> Result<url::Url, CliError> {
        let parsed = url::Url::parse(url)
            .map_err(|e| CliError::invalid(format!("{url:?} is not a URL: {e}")))?;
        match parsed.scheme() {
            "https" => Ok(parsed),
            "http" if self.allow_http => Ok(parsed),
            "http" => Err(CliError::invalid(format!(
                "{url} is not https (--allow-http allows plain http, for local tests only)"
            ))),
            other => Err(CliError::invalid(format!(
                "{url}: scheme {other} is not http(s)"
            ))),
        }
    }

    /// GETs `url`, reading at most `max_bytes` of its body.
    pub(crate) async fn get(
        &self,
        url: &str,
        accept: &str,
        max_bytes: usize,
    ) -> Result<Fetched, CliError> {
        let url = self.check_url(url)?;
        let response = self
            .client
            .get(url.clone())
            .header(reqwest::header::ACCEPT, accept)
            .send()
            .await
            .map_err(|e| CliError::failed(format!("GET {url}: {}", describe(&e))))?;
        read(response, max_bytes, &url).await
    }

    /// POSTs an `application/x-www-form-urlencoded` body to `url`.
    pub(crate) async fn post_form(
        &self,
        url: &str,
        body: String,
        max_bytes: usize,
    ) -> Result<Fetched, CliError> {
        let url = self.check_url(url)?;
        let response = self
            .client
            .post(url.clone())
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .await
            .map_err(|e| CliError::failed(format!("POST {url}: {}", describe(&e))))?;
        read(response, max_bytes, &url).await
    }

    /// POSTs a JSON body to `url` (the verifier's callback).
    pub(crate) async fn post_json(
        &self,
        url: &str,
        body: &serde_json::Value,
        max_bytes: usize,
    ) -> Result<Fetched, CliError> {
        self.post_json_with(url, body, None, max_bytes).await
    }

    /// POSTs a JSON body to `url`, with `Authorization: Bearer <token>` if given.
    pub(crate) async fn post_json_with(
        &self,
        url: &str,
        body: &serde_json::Value,
        bearer: Option<&str>,
        max_bytes: usize,
    ) -> Result<Fetched, CliError> {
        let url = self.check_url(url)?;
        let mut request = self
            .client
            .post(url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string());
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .map_err(|e| CliError::failed(format!("POST {url}: {}", describe(&e))))?;
        read(response, max_bytes, &url).await
    }
}

async fn read(
    mut response: reqwest::Response,
    max_bytes: usize,
    url: &url::Url,
) -> Result<Fetched, CliError> {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if response
        .content_length()
        .is_some_and(|len| len > u64::try_from(max_bytes).unwrap_or(u64::MAX))
    {
        return Err(CliError::invalid(format!(
            "{url}: the answer is larger than {max_bytes} bytes"
        )));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| CliError::failed(format!("{url}: {}", describe(&e))))?
    {
        if body.len() + chunk.len() > max_bytes {
            return Err(CliError::invalid(format!(
                "{url}: the answer is larger than {max_bytes} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Fetched {
        status,
        content_type,
        body,
    })
}

/// reqwest's errors wrap their cause; show the chain in one line.
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
