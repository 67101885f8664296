//! The service's API as an OpenAPI 3.1 document, `openapi.json` next to this file,
//! served as is at `GET /openapi.json`. The tests below hold it to the code: its
//! operations are exactly [`ROUTES`](super::routes::ROUTES), its error codes
//! exactly the service's, its limits the request's constants, its pattern for an
//! action's text form exactly the texts the service reads; `tests/service.rs`
//! checks that the service serves it unchanged and runs schemathesis against the
//! running service with it.

/// The document, byte for byte.
pub(super) const DOCUMENT: &str = include_str!("openapi.json");

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::collections::BTreeSet;
    use std::time::Duration;

    use serde_json::Value;

    use super::DOCUMENT;
    use crate::decision::DENIED;
    use crate::serve::error::{ApiError, CODES};
    use crate::serve::request::{
        is_action_text, ACTION_TEXT_PATTERN, MAX_ACTION_CHARS, MAX_BATCH_ITEMS, MAX_TEXT_CHARS,
    };
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
            ApiError::Internal,
            ApiError::UnknownRequest,
            ApiError::Unauthorized,
            ApiError::Gone(String::new()),
            ApiError::StateUnavailable,
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
        assert_eq!(action[0]["pattern"], ACTION_TEXT_PATTERN);
        assert_eq!(action[1]["$ref"], "#/components/schemas/ActionObject");
        let object = &schemas["ActionObject"]["properties"];
        assert_eq!(object["scope"]["maxLength"], MAX_ACTION_CHARS);
        assert_eq!(object["resource"]["maxLength"], MAX_ACTION_CHARS);
        assert_eq!(
            schemas["BatchRequest"]["properties"]["items"]["maxItems"],
            MAX_BATCH_ITEMS
        );
        assert_eq!(
            schemas["BatchResponse"]["properties"]["results"]["maxItems"],
            MAX_BATCH_ITEMS
        );
    }

    #[test]
    fn denied_is_a_documented_rejection_kind() {
        let document = document();
        let kinds = &document["components"]["schemas"]["RejectionKind"]["enum"];
        assert!(kinds.as_array().unwrap().iter().any(|kind| kind == DENIED));
    }

    /// The text form the service reads is exactly the one the document states:
    /// a schema-valid text is read, any other refused (what schemathesis checks
    /// from outside, here over many more texts).
    fn action_text_validator() -> jsonschema::Validator {
        jsonschema::validator_for(&serde_json::json!({
            "type": "string",
            "pattern": ACTION_TEXT_PATTERN
        }))
        .unwrap()
    }

    #[test]
    fn the_action_text_pattern_is_the_text_the_service_reads() {
        let validator = action_text_validator();
        for (text, read) in [
            ("refunds:write https://shop.example/orders/1234", true),
            ("refunds:write https://shop.example/orders/1234 20", true),
            (
                "refunds:write https://shop.example/orders/1234 20.5 EUR",
                true,
            ),
            ("a  b   0   XYZ", true),
            ("}{ { 1", true),
            ("refunds:write", false),
            (" refunds:write r 20", false),
            ("refunds:write r 20 ", false),
            ("refunds:write\tr", false),
            ("refunds:write r 1e3", false),
            ("refunds:write r +5", false),
            ("refunds:write r .5", false),
            ("refunds:write r 5.", false),
            ("refunds:write r -1", false),
            ("refunds:write r 5 eur", false),
            ("refunds:write r 5 EURO", false),
            ("refunds:write r EUR", false),
            ("refunds:write r 5 EUR x", false),
            ("refunds:write r\n", false),
            ("{\"scope\": \"x\"} r", false),
            ("pay caf\u{e9}", false),
            ("pay r 1234567890123456", false),
        ] {
            assert_eq!(
                validator.is_valid(&serde_json::json!(text)),
                read,
                "{text:?}"
            );
            assert_eq!(is_action_text(text), read, "{text:?}");
        }
    }

    /// A word of an action text: mostly ones the form admits, some it does not.
    fn word() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        prop_oneof![
            4 => "[a-z{}:/.]{1,3}",
            3 => "[0-9]{1,3}(\\.[0-9]{0,2})?",
            2 => "[A-Z]{2,4}",
            1 => "[0-9]{15,16}(\\.[0-9]{15,16})?",
            1 => "[+.-]?[0-9]e?[0-9]?",
            1 => "\\PC{1,2}",
            1 => "\\s",
        ]
    }

    /// What separates two words: mostly one space.
    fn gap() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        prop_oneof![8 => Just(" ".to_owned()), 2 => "[ \t\u{a0}]{0,2}"]
    }

    /// What comes before the first word or after the last: mostly nothing.
    fn edge() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        prop_oneof![8 => Just(String::new()), 2 => "[ \t\n]"]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1024))]
        #[test]
        fn any_text_matches_the_pattern_exactly_when_the_service_reads_it(
            words in proptest::collection::vec(word(), 1..6),
            gaps in proptest::collection::vec(gap(), 6),
            edges in (edge(), edge()),
        ) {
            let mut text = edges.0;
            for (index, word) in words.iter().enumerate() {
                if index > 0 {
                    text.push_str(&gaps[index]);
                }
                text.push_str(word);
            }
            text.push_str(&edges.1);
            let valid = action_text_validator().is_valid(&serde_json::json!(text));
            proptest::prop_assert_eq!(is_action_text(&text), valid, "{:?}", text);
            if valid {
                proptest::prop_assert!(agentid_verifier::authorize::Action::parse(&text).is_ok());
            }
        }
    }
}
