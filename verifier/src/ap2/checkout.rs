//! The UCP Checkout inside a checkout JWT, read as the SDK's
//! `CheckoutMandateChain.extract_parsed_checkout_object` reads it: the JWT's payload
//! is decoded and validated against the Checkout schema (`ucp/types/checkout.json`);
//! its signature is not checked (the SDK does not check it either: the merchant's
//! signature is the caller's to verify).
//!
//! Every failure is a violation the SDK reports as a string, not an exception:
//! not three dot-separated parts, a payload that is not base64url, not UTF-8 JSON,
//! or not a Checkout. Two differences, both refusing what the SDK reads: Python's
//! base64 decoder skips characters outside the alphabet and agentid refuses them
//! (both alphabets, `-_` and `+/`, and optional `=` padding are accepted, as
//! there); Python's JSON reader takes UTF-16/32 and `NaN`, agentid takes RFC 8259
//! UTF-8 JSON only, nested at most [`crate::Limits`]' default depth.

use base64::alphabet::STANDARD;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use serde::Serialize;
use serde_json::Value;

use super::mandate::{merchant, Merchant};
use super::read::{Object, Read, SchemaError};
use super::violation::ViolationCode;
use super::MAX_CHECKOUT_JWT_BYTES;
use crate::encoding::parse_json;
use crate::error::VerifyError;
use crate::Limits;

/// A checkout session (the members the constraints read, of a payload validated
/// against the whole Checkout schema).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Checkout {
    /// The session's id.
    pub id: String,
    /// The merchant (an AP2 extension of the UCP Checkout).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merchant: Option<Merchant>,
    /// What is bought.
    pub line_items: Vec<LineItem>,
    /// `incomplete`, `requires_escalation`, `ready_for_complete`,
    /// `complete_in_progress`, `completed` or `canceled`.
    pub status: String,
    /// ISO 4217 code.
    pub currency: String,
}

/// A line of the checkout (`ucp/types/line_item.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LineItem {
    /// The line's id.
    pub id: String,
    /// The product.
    pub item: Item,
    /// Units (at least 1).
    pub quantity: i64,
    /// The parent line, for nested lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
}

/// A product (`ap2/types/item.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Item {
    /// Product id (often the SKU): what line-item requirements name.
    pub id: String,
    /// Title.
    pub title: String,
    /// Unit price, minor units (at least 0).
    pub price: i64,
}

const STATUSES: [&str; 6] = [
    "incomplete",
    "requires_escalation",
    "ready_for_complete",
    "complete_in_progress",
    "completed",
    "canceled",
];
const CONTENT_TYPES: [&str; 2] = ["plain", "markdown"];
const SEVERITIES: [&str; 4] = [
    "recoverable",
    "requires_buyer_input",
    "requires_buyer_review",
    "unrecoverable",
];

/// Why a checkout JWT could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CheckoutJwtError {
    /// A violation the SDK reports too: its code and message.
    Violation(ViolationCode, String),
    /// Larger or deeper than agentid's limits.
    Limit(String),
}

/// base64 with both alphabets mapped onto the standard one, padding optional, loose
/// trailing bits accepted (Python's `urlsafe_b64decode` after the SDK pads it).
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Decodes and validates the Checkout in `jwt`.
pub(crate) fn decode(jwt: &str) -> Result<Checkout, CheckoutJwtError> {
    if jwt.len() > MAX_CHECKOUT_JWT_BYTES {
        return Err(CheckoutJwtError::Limit(format!(
            "the checkout JWT is larger than {MAX_CHECKOUT_JWT_BYTES} bytes"
        )));
    }
    let violation = |code, message: String| Err(CheckoutJwtError::Violation(code, message));
    let parts: Vec<&str> = jwt.split('.').collect();
    let [_, payload, _] = parts.as_slice() else {
        return violation(
            ViolationCode::CheckoutJwtMalformed,
            "Malformed checkout_jwt: expected header.payload.signature".into(),
        );
    };
    let standard: String = payload
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            other => other,
        })
        .collect();
    let Ok(bytes) = LENIENT_BASE64.decode(standard) else {
        return violation(
            ViolationCode::CheckoutJwtBase64,
            "Base64 decoding failed for checkout_jwt: not base64url".into(),
        );
    };
    let value = match parse_json(
        &bytes,
        Limits::default().max_json_depth,
        "the checkout payload",
    ) {
        Ok(value) => value,
        Err(VerifyError::LimitExceeded(why)) => return Err(CheckoutJwtError::Limit(why)),
        Err(_) => {
            return violation(
                ViolationCode::CheckoutJwtJson,
                "Invalid JSON in checkout_jwt payload: not UTF-8 JSON".into(),
            )
        }
    };
    let schema = |error: SchemaError| {
        CheckoutJwtError::Violation(
            ViolationCode::CheckoutJwtSchema,
            format!("checkout_jwt payload failed schema validation: {error}"),
        )
    };
    match &value {
        Value::Object(map) => checkout(Object::new(map, "")).map_err(schema),
        _ => Err(schema(SchemaError {
            path: String::new(),
            reason: "expected an object".into(),
        })),
    }
}

fn checkout(o: Object<'_>) -> Read<Checkout> {
    let checkout = Checkout {
        id: o.str("id")?,
        merchant: o.opt_object("merchant", merchant)?,
        line_items: o.objects("line_items", line_item)?,
        status: STATUSES[o.one_of("status", &STATUSES)?].to_owned(),
        currency: o.str("currency")?,
    };
    o.objects("totals", total)?;
    o.objects("links", |link| {
        link.str("type")?;
        link.opt_str("title")?;
        link.str("url")?;
        link.opt_uri("url")
    })?;
    o.opt_object("buyer", |buyer| {
        for name in ["first_name", "last_name", "email", "phone_number"] {
            buyer.opt_str(name)?;
        }
        Ok(())
    })?;
    if let Some(messages) = o.opt_array("messages")? {
        for element in messages {
            element.object(message)?;
        }
    }
    o.opt_aware_datetime("expires_at")?;
    o.opt_uri("continue_url")?;
    Ok(checkout)
}

fn total(o: Object<'_>) -> Read<()> {
    o.str("type")?;
    o.int("amount")?;
    o.opt_str("display_text")?;
    Ok(())
}

fn at_least(o: Object<'_>, key: &str, min: i64) -> Read<i64> {
    let value = o.int(key)?;
    if value < min {
        return Err(SchemaError {
            path: format!(
                "{}{}{key}",
                o.path(),
                if o.path().is_empty() { "" } else { "." }
            ),
            reason: format!("must be at least {min}"),
        });
    }
    Ok(value)
}

fn line_item(o: Object<'_>) -> Read<LineItem> {
    let line = LineItem {
        id: o.str("id")?,
        item: o.object("item", |item| {
            let read = Item {
                id: item.str("id")?,
                title: item.str("title")?,
                price: at_least(item, "price", 0)?,
            };
            item.opt_uri("image_url")?;
            Ok(read)
        })?,
        quantity: at_least(o, "quantity", 1)?,
        parent_id: o.opt_str("parent_id")?,
    };
    o.objects("totals", total)?;
    Ok(line)
}

/// A UCP message, by its `type` (`error`, `warning` or `info`).
fn message(o: Object<'_>) -> Read<()> {
    let kind = o.one_of("type", &["error", "warning", "info"])?;
    o.opt_str("path")?;
    o.opt_one_of("content_type", &CONTENT_TYPES)?;
    o.str("content")?;
    match kind {
        0 => {
            o.str("code")?;
            o.one_of("severity", &SEVERITIES)?;
        }
        1 => {
            o.str("code")?;
            o.opt_str("presentation")?;
            o.opt_uri("image_url")?;
            o.opt_uri("url")?;
        }
        _ => {
            o.opt_str("code")?;
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::b64url_encode;
    use serde_json::json;

    /// A checkout JWT (unsigned: the signature is not read) with `payload`.
    pub(crate) fn jwt(payload: &Value) -> String {
        format!(
            "eyJhbGciOiJFUzI1NiJ9.{}.c2ln",
            b64url_encode(payload.to_string().as_bytes())
        )
    }

    /// A valid checkout with `line_items` (`[sku, quantity]` pairs) and a merchant.
    pub(crate) fn checkout_payload(merchant: Option<Value>, line_items: &[(&str, i64)]) -> Value {
        let lines: Vec<Value> = line_items
            .iter()
            .enumerate()
            .map(|(index, (sku, quantity))| {
                json!({
                    "id": format!("li_{index}"),
                    "item": {"id": sku, "title": sku, "price": 500},
                    "quantity": quantity,
                    "totals": [{"type": "subtotal", "amount": 500 * quantity}, {"type": "total", "amount": 500 * quantity}]
                })
            })
            .collect();
        let mut payload = json!({
            "id": "chk_1", "line_items": lines, "status": "incomplete", "currency": "USD",
            "totals": [{"type": "subtotal", "amount": 0}, {"type": "total", "amount": 0}],
            "links": [{"type": "privacy_policy", "url": "https://shop.example/privacy"}]
        });
        if let Some(merchant) = merchant {
            payload["merchant"] = merchant;
        }
        payload
    }

    fn code(jwt: &str) -> ViolationCode {
        match decode(jwt) {
            Err(CheckoutJwtError::Violation(code, _)) => code,
            other => panic!("expected a violation, got {other:?}"),
        }
    }

    #[test]
    fn a_ucp_checkout_is_read_with_its_merchant_and_line_items() {
        let payload = checkout_payload(
            Some(json!({"id": "m-1", "name": "Store"})),
            &[("SKU-A", 2), ("SKU-B", 1)],
        );
        let checkout = decode(&jwt(&payload)).unwrap();
        assert_eq!(checkout.id, "chk_1");
        assert_eq!(checkout.merchant.unwrap().id, "m-1");
        assert_eq!(checkout.line_items.len(), 2);
        assert_eq!(checkout.line_items[0].item.id, "SKU-A");
        assert_eq!(checkout.line_items[0].quantity, 2);
    }

    #[test]
    fn a_checkout_jwt_that_is_not_three_parts_of_base64url_json_is_a_violation() {
        let good = b64url_encode(checkout_payload(None, &[]).to_string().as_bytes());
        assert_eq!(code("a.b"), ViolationCode::CheckoutJwtMalformed);
        assert_eq!(code("a.b.c.d"), ViolationCode::CheckoutJwtMalformed);
        assert_eq!(
            code(&format!("h.{good}!.s")),
            ViolationCode::CheckoutJwtBase64
        );
        assert_eq!(code("h.a.s"), ViolationCode::CheckoutJwtBase64);
        assert_eq!(code("h..s"), ViolationCode::CheckoutJwtJson);
        assert_eq!(
            code(&format!("h.{}.s", b64url_encode(b"{nope"))),
            ViolationCode::CheckoutJwtJson
        );
        assert_eq!(
            code(&format!("h.{}.s", b64url_encode(b"\xff\xfe"))),
            ViolationCode::CheckoutJwtJson
        );
        assert_eq!(
            code(&format!("h.{}.s", b64url_encode(b"[1]"))),
            ViolationCode::CheckoutJwtSchema
        );
        // Padding and the standard alphabet are read, as Python reads them.
        let bytes = checkout_payload(None, &[("A+?>", 1)]).to_string();
        let padded = base64::engine::general_purpose::URL_SAFE.encode(&bytes);
        assert!(decode(&format!("h.{padded}.s")).is_ok());
        let standard = base64::engine::general_purpose::STANDARD_NO_PAD.encode(&bytes);
        assert!(decode(&format!("h.{standard}.s")).is_ok());
    }

    #[test]
    fn a_checkout_payload_must_follow_the_ucp_checkout_schema() {
        let base = checkout_payload(None, &[("A", 1)]);
        let cases: Vec<(&str, Value)> = vec![
            ("status", json!("open")),
            ("line_items", Value::Null),
            ("links", json!([{"type": "tos", "url": "/relative"}])),
            ("expires_at", json!("2026-01-01T00:00:00")),
            ("continue_url", json!("not a url")),
            ("buyer", json!({"email": 5})),
            ("messages", json!([{"type": "error", "content": "x"}])),
            ("messages", json!([{"type": "bogus", "content": "x"}])),
            ("merchant", json!({"id": "m"})),
            ("totals", json!([{"type": "total", "amount": "5"}])),
        ];
        for (member, value) in cases {
            let mut payload = base.clone();
            payload[member] = value.clone();
            assert_eq!(
                code(&jwt(&payload)),
                ViolationCode::CheckoutJwtSchema,
                "{member}: {value}"
            );
        }
        for (line, value) in [
            ("quantity", json!(0)),
            ("item", json!({"id": "A", "title": "A", "price": -1})),
            (
                "item",
                json!({"id": "A", "title": "A", "price": 0, "image_url": "x"}),
            ),
            ("totals", Value::Null),
        ] {
            let mut payload = base.clone();
            payload["line_items"][0][line] = value;
            assert_eq!(
                code(&jwt(&payload)),
                ViolationCode::CheckoutJwtSchema,
                "{line}"
            );
        }
        // Members the schema does not name, and nulls for optional ones, are fine.
        let mut payload = base;
        payload["extension"] = json!({"any": [1, 2]});
        payload["merchant"] = Value::Null;
        payload["expires_at"] = json!("2026-01-01T00:00:00Z");
        payload["messages"] = json!([{"type": "info", "content": "ok", "content_type": null}]);
        assert!(decode(&jwt(&payload)).is_ok());
    }

    #[test]
    fn a_checkout_jwt_above_the_size_or_depth_limit_cannot_be_checked() {
        let long = "a".repeat(MAX_CHECKOUT_JWT_BYTES + 1);
        assert!(matches!(decode(&long), Err(CheckoutJwtError::Limit(_))));
        let deep = format!("{}{}", "[".repeat(33), "]".repeat(33));
        let jwt = format!("h.{}.s", b64url_encode(deep.as_bytes()));
        assert!(matches!(decode(&jwt), Err(CheckoutJwtError::Limit(_))));
    }
}
