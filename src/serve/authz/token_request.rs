//! The token endpoint's request (RFC 8693 §2.1 with RFC 8707's `resource`), read
//! from its `application/x-www-form-urlencoded` body, or the OAuth error to answer.

use super::errors::OAuthError;

/// `grant_type` of a token exchange (RFC 8693 §2.1).
pub(crate) const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// `subject_token_type` of an agentid presentation: an SD-JWT with key binding
/// (RFC 9901), or a delegation chain (Delegate SD-JWT) ending in one.
pub(crate) const PRESENTATION_TOKEN_TYPE: &str =
    "urn:agentid:params:oauth:token-type:sd-jwt-presentation";
/// `issued_token_type` (and the one `requested_token_type` accepted): an OAuth
/// access token (RFC 8693 §3).
pub(crate) const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// Most scopes one request names.
const MAX_SCOPES: usize = agentid_verifier::grant::MAX_SCOPES;
/// Longest scope value and resource, in bytes.
const MAX_PARAMETER_BYTES: usize = 4096;

/// A token exchange request, checked for shape.
#[derive(Debug)]
pub(crate) struct TokenRequest {
    /// The presentation (`subject_token`).
    pub(crate) subject_token: String,
    /// The resource the token is for (`resource`, or `audience` naming the same).
    pub(crate) resource: String,
    /// The scopes asked for, in order, each once.
    pub(crate) scopes: Vec<String>,
}

/// The parameters this endpoint reads; any other is ignored (RFC 6749 §3.2).
const KNOWN: [&str; 8] = [
    "grant_type",
    "subject_token",
    "subject_token_type",
    "resource",
    "audience",
    "scope",
    "requested_token_type",
    "actor_token",
];

impl TokenRequest {
    /// Reads `body` (already bounded by the service's body limit).
    pub(crate) fn parse(body: &[u8]) -> Result<Self, OAuthError> {
        let mut seen: Vec<(String, String)> = Vec::new();
        for (name, value) in url::form_urlencoded::parse(body) {
            if !KNOWN.contains(&name.as_ref()) {
                continue;
            }
            if seen.iter().any(|(seen, _)| *seen == name) {
                // RFC 6749 §3.2: no parameter twice. RFC 8707 allows several
                // `resource`s; a token here is for exactly one.
                let error = if name == "resource" || name == "audience" {
                    OAuthError::invalid_target("a token is for exactly one resource")
                } else {
                    OAuthError::invalid_request(format!("{name} is given more than once"))
                };
                return Err(error);
            }
            seen.push((name.into_owned(), value.into_owned()));
        }
        let take = |name: &str| {
            seen.iter()
                .find(|(seen, _)| seen == name)
                .map(|(_, value)| value.clone())
        };
        match take("grant_type").as_deref() {
            Some(TOKEN_EXCHANGE) => {}
            Some(_) => {
                return Err(OAuthError::unsupported_grant_type(
                    "only token exchange (urn:ietf:params:oauth:grant-type:token-exchange)",
                ))
            }
            None => return Err(OAuthError::invalid_request("grant_type is missing")),
        }
        if take("actor_token").is_some() {
            return Err(OAuthError::invalid_request(
                "actor tokens are not accepted: a delegation chain carries its actors",
            ));
        }
        let subject_token = take("subject_token")
            .filter(|token| !token.is_empty())
            .ok_or_else(|| OAuthError::invalid_request("subject_token is missing"))?;
        match take("subject_token_type").as_deref() {
            Some(PRESENTATION_TOKEN_TYPE) => {}
            Some(_) => {
                return Err(OAuthError::invalid_request(format!(
                    "subject_token_type must be {PRESENTATION_TOKEN_TYPE}"
                )))
            }
            None => return Err(OAuthError::invalid_request("subject_token_type is missing")),
        }
        if let Some(requested) = take("requested_token_type") {
            if requested != ACCESS_TOKEN_TYPE {
                return Err(OAuthError::invalid_request(format!(
                    "requested_token_type must be {ACCESS_TOKEN_TYPE}"
                )));
            }
        }
        let resource = match (take("resource"), take("audience")) {
            (Some(resource), Some(audience)) if resource != audience => {
                return Err(OAuthError::invalid_target(
                    "resource and audience name different targets",
                ))
            }
            (Some(resource), _) | (None, Some(resource)) => resource,
            (None, None) => {
                return Err(OAuthError::invalid_target(
                    "resource is missing: name the tool server the token is for (RFC 8707)",
                ))
            }
        };
        check_resource(&resource)?;
        let scope = take("scope").ok_or_else(|| {
            OAuthError::invalid_scope("scope is missing: ask for each scope by name")
        })?;
        let scopes = read_scopes(&scope)?;
        Ok(TokenRequest {
            subject_token,
            resource,
            scopes,
        })
    }
}

/// RFC 8707 §2: an absolute URI without a fragment; here http(s), as tool servers are.
fn check_resource(resource: &str) -> Result<(), OAuthError> {
    if resource.len() > MAX_PARAMETER_BYTES {
        return Err(OAuthError::invalid_target("resource is too long"));
    }
    let parsed = url::Url::parse(resource)
        .map_err(|_| OAuthError::invalid_target("resource is not an absolute URL"))?;
    if !matches!(parsed.scheme(), "https" | "http")
        || parsed.fragment().is_some()
        || parsed.host_str().is_none()
    {
        return Err(OAuthError::invalid_target(
            "resource is an http(s) URL without a fragment (RFC 8707 §2)",
        ));
    }
    Ok(())
}

/// RFC 6749 §3.3: space-separated scope tokens of `%x21 / %x23-5B / %x5D-7E`.
fn read_scopes(scope: &str) -> Result<Vec<String>, OAuthError> {
    if scope.len() > MAX_PARAMETER_BYTES {
        return Err(OAuthError::invalid_scope("scope is too long"));
    }
    let mut scopes: Vec<String> = Vec::new();
    for token in scope.split(' ').filter(|token| !token.is_empty()) {
        let valid = token
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b));
        if !valid {
            return Err(OAuthError::invalid_scope(
                "a scope is visible ASCII other than \" and \\ (RFC 6749 §3.3)",
            ));
        }
        if !scopes.iter().any(|seen| seen == token) {
            scopes.push(token.to_owned());
        }
    }
    if scopes.is_empty() {
        return Err(OAuthError::invalid_scope("scope names no scope"));
    }
    if scopes.len() > MAX_SCOPES {
        return Err(OAuthError::invalid_scope(format!(
            "at most {MAX_SCOPES} scopes per token"
        )));
    }
    Ok(scopes)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Vec<u8> {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
            .into_bytes()
    }

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![
            ("grant_type", TOKEN_EXCHANGE),
            ("subject_token", "eyJ.x.y~"),
            ("subject_token_type", PRESENTATION_TOKEN_TYPE),
            ("resource", "https://tools.example/mcp"),
            ("scope", "tools:read  tools:write tools:read"),
        ]
    }

    fn code(pairs: &[(&str, &str)]) -> &'static str {
        TokenRequest::parse(&form(pairs)).unwrap_err().code
    }

    #[test]
    fn a_token_exchange_reads_its_resource_and_scopes() {
        let request = TokenRequest::parse(&form(&base())).unwrap();
        assert_eq!(request.resource, "https://tools.example/mcp");
        assert_eq!(request.scopes, ["tools:read", "tools:write"]);
        let mut with_audience = base();
        with_audience.push(("audience", "https://tools.example/mcp"));
        with_audience.push(("requested_token_type", ACCESS_TOKEN_TYPE));
        with_audience.push(("unknown", "ignored"));
        assert!(TokenRequest::parse(&form(&with_audience)).is_ok());
    }

    #[test]
    fn each_malformed_request_gets_its_oauth_error() {
        let with = |name: &'static str, value: &'static str| {
            let mut pairs: Vec<_> = base().into_iter().filter(|(n, _)| *n != name).collect();
            pairs.push((name, value));
            pairs
        };
        let without =
            |name: &str| -> Vec<_> { base().into_iter().filter(|(n, _)| *n != name).collect() };
        assert_eq!(
            code(&with("grant_type", "client_credentials")),
            "unsupported_grant_type"
        );
        assert_eq!(code(&without("grant_type")), "invalid_request");
        assert_eq!(code(&without("subject_token")), "invalid_request");
        assert_eq!(
            code(&with(
                "subject_token_type",
                "urn:ietf:params:oauth:token-type:jwt"
            )),
            "invalid_request"
        );
        assert_eq!(
            code(&with(
                "requested_token_type",
                "urn:ietf:params:oauth:token-type:id_token"
            )),
            "invalid_request"
        );
        assert_eq!(code(&without("resource")), "invalid_target");
        assert_eq!(
            code(&with("resource", "tools.example/mcp")),
            "invalid_target"
        );
        assert_eq!(
            code(&with("resource", "https://tools.example/mcp#f")),
            "invalid_target"
        );
        assert_eq!(code(&with("resource", "urn:x:y")), "invalid_target");
        let mut two = base();
        two.push(("resource", "https://other.example/"));
        assert_eq!(code(&two), "invalid_target");
        let mut other_audience = base();
        other_audience.push(("audience", "https://other.example/"));
        assert_eq!(code(&other_audience), "invalid_target");
        let mut twice = base();
        twice.push(("scope", "x"));
        assert_eq!(code(&twice), "invalid_request");
        assert_eq!(code(&without("scope")), "invalid_scope");
        assert_eq!(code(&with("scope", "  ")), "invalid_scope");
        assert_eq!(code(&with("scope", "a\"b")), "invalid_scope");
        let many = (0..40)
            .map(|i| format!("s{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        let many: &'static str = Box::leak(many.into_boxed_str());
        assert_eq!(code(&with("scope", many)), "invalid_scope");
        let mut actor = base();
        actor.push(("actor_token", "x"));
        assert_eq!(code(&actor), "invalid_request");
    }
}
