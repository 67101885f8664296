//! The service's API as an OpenAPI 3.1 document, `openapi.json` next to this file,
//! served as is at `GET /openapi.json`. The tests below hold it to the code: its
//! operations are exactly [`ROUTES`](super::routes::ROUTES), its error codes
//! exactly the service's, its limits the request's constants;
//! `tests/service.rs` checks that the service serves it unchanged, and
//! `tests/openapi.rs` runs schemathesis against the running service with it.

/// The document, byte for byte.
pub(super) const DOCUMENT: &str = include_str!("openapi.json");

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::collections::BTreeSet;
    use std::time::Duration;

    use serde_json::Value;

    use super::DOCUMENT;
    use crate::serve::error::{ApiError, CODES};
    use crate::serve::request::{MAX_ACTION_CHARS, MAX_BATCH_ITEMS, MAX_TEXT_CHARS};
    use crate::serve::routes::ROUTES;

    const HTTP_METHODS: [&str; 8] = [
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];

    fn document() -> Value {
        serde_json::from_str(DOCUMENT).expect("openapi.json is JSON")
    }

    #[test]
    fn the_document_is_openapi_3_1() {
        let document = document();
        let version = document["openapi"].as_str().unwrap();
        assert!(version.starts_with("3.1."), "{version}");
        assert!(document["info"]["title"].is_string());
        assert!(document["info"]["version"].is_string());
    }

    #[test]
    fn every_route_is_documented_and_every_documented_operation_is_routed() {
        let document = document();
        let documented: BTreeSet<(String, String)> = document["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, item)| {
                item.as_object()
                    .unwrap()
                    .keys()
                    .filter(|key| HTTP_METHODS.contains(&key.as_str()))
                    .map(move |method| (path.clone(), method.clone()))
            })
            .collect();
        let routed: BTreeSet<(String, String)> = ROUTES
            .iter()
            .map(|route| (route.path.to_owned(), route.method.openapi_key().to_owned()))
            .collect();
        assert_eq!(documented, routed);
    }

    #[test]
    fn error_codes_are_the_documented_ones() {
        let document = document();
        let documented: Vec<&str> = document["components"]["schemas"]["ErrorCode"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|code| code.as_str().unwrap())
            .collect();
        assert_eq!(documented, CODES);
        let every_error = [
            ApiError::NotFound,
            ApiError::MethodNotAllowed,
            ApiError::UnsupportedMediaType,
            ApiError::MalformedJson { line: 1, column: 1 },
            ApiError::UnreadableBody,
            ApiError::invalid("`/nonce` is missing"),
            ApiError::TooManyItems { count: 2, limit: 1 },
            ApiError::AudienceNotServed,
            ApiError::BodyTooLarge { limit: 1 },
            ApiError::BodyTimeout {
                limit: Duration::from_millis(1),
            },
            ApiError::Busy,
            ApiError::BufferBudget,
            ApiError::TimedOut {
                limit: Duration::from_millis(1),
            },
            ApiError::AuthorizationUnavailable,
            ApiError::Internal,
        ];
        let answered: Vec<&str> = every_error.iter().map(ApiError::code).collect();
        assert_eq!(answered, CODES);
        for code in CODES {
            assert!(
                code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{code}"
            );
        }
    }

    #[test]
    fn documented_limits_are_the_enforced_ones() {
        let document = document();
        let schemas = &document["components"]["schemas"];
        let request = &schemas["VerifyRequest"]["properties"];
        assert_eq!(request["audience"]["maxLength"], MAX_TEXT_CHARS);
        assert_eq!(request["nonce"]["maxLength"], MAX_TEXT_CHARS);
        let action = &schemas["Action"]["oneOf"];
        assert_eq!(action[0]["maxLength"], MAX_ACTION_CHARS);
        assert_eq!(
            action[1]["properties"]["scope"]["maxLength"],
            MAX_ACTION_CHARS
        );
        assert_eq!(
            action[1]["properties"]["resource"]["maxLength"],
            MAX_ACTION_CHARS
        );
        assert_eq!(
            schemas["BatchRequest"]["properties"]["items"]["maxItems"],
            MAX_BATCH_ITEMS
        );
        assert_eq!(
            schemas["BatchResponse"]["properties"]["results"]["maxItems"],
            MAX_BATCH_ITEMS
        );
    }
}
