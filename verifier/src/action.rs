//! What a presenter asks to do: a scope, a resource, and an amount in a currency.
//!
//! Actions are compared, approved and digested in one canonical form, the RFC 8785
//! (JCS) serialization of `{"amount"?, "currency"?, "resource", "scope"}`: `50` and
//! `50.0` are the same action, and an approval's digest can be recomputed from the
//! action it shows.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::sd_jwt::sha256_b64;

/// Longest action text [`Action::parse`] reads, in bytes.
pub const MAX_ACTION_BYTES: usize = 4096;

/// The members an action object may have; any other is refused, so that nothing a
/// signer meant as a limit is silently ignored.
pub const ACTION_MEMBERS: [&str; 4] = ["scope", "resource", "amount", "currency"];

/// What the presenter asks to do.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Action {
    /// The permission it needs, e.g. `refunds:write`.
    pub scope: String,
    /// The URI it acts on.
    pub resource: String,
    /// The amount involved, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<f64>,
    /// The ISO 4217 currency of the amount (`EUR`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

/// An action that cannot be authorized because it is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid action: {0}")]
pub struct InvalidAction(pub(crate) String);

fn invalid(message: impl Into<String>) -> InvalidAction {
    InvalidAction(message.into())
}

impl Action {
    /// An action without amount or currency.
    pub fn new(scope: impl Into<String>, resource: impl Into<String>) -> Self {
        Action {
            scope: scope.into(),
            resource: resource.into(),
            amount: None,
            currency: None,
        }
    }

    /// Returns the action with an amount in a currency.
    pub fn with_amount(mut self, amount: f64, currency: Option<&str>) -> Self {
        self.amount = Some(amount);
        self.currency = currency.map(str::to_owned);
        self
    }

    /// Reads an action given on a command line: either a JSON object (see
    /// [`Action::from_json`]) or the text `SCOPE RESOURCE [AMOUNT [CURRENCY]]`,
    /// whitespace separated.
    ///
    /// # Errors
    /// [`InvalidAction`] naming what is wrong.
    pub fn parse(text: &str) -> Result<Action, InvalidAction> {
        if text.len() > MAX_ACTION_BYTES {
            return Err(invalid(format!(
                "action is longer than {MAX_ACTION_BYTES} bytes"
            )));
        }
        if text.trim_start().starts_with('{') {
            let value: Value = serde_json::from_str(text)
                .map_err(|_| invalid("the action is not a JSON object"))?;
            return Action::from_json(&value);
        }
        let parts: Vec<&str> = text.split_whitespace().collect();
        let (scope, resource, amount, currency) = match parts.as_slice() {
            [scope, resource] => (*scope, *resource, None, None),
            [scope, resource, amount] => (*scope, *resource, Some(*amount), None),
            [scope, resource, amount, currency] => {
                (*scope, *resource, Some(*amount), Some(*currency))
            }
            _ => {
                return Err(invalid(
                    "an action is 'SCOPE RESOURCE [AMOUNT [CURRENCY]]' or a JSON object",
                ))
            }
        };
        let amount = amount
            .map(|amount| {
                amount
                    .parse::<f64>()
                    .map_err(|_| invalid(format!("amount {amount:?} is not a number")))
            })
            .transpose()?;
        let action = Action {
            scope: scope.to_owned(),
            resource: resource.to_owned(),
            amount,
            currency: currency.map(str::to_owned),
        };
        action.check()?;
        Ok(action)
    }

    /// Reads an action object `{"scope", "resource", "amount"?, "currency"?}`, such as
    /// the action a delegation chain's terminal hop signs
    /// ([`crate::delegation::Chain::action`]) or an approval shows. Any other member
    /// is refused: a signer's `"limit"` the verifier does not know must not vanish.
    ///
    /// # Errors
    /// [`InvalidAction`] if a member is missing, unknown, of the wrong type, or out of
    /// range.
    pub fn from_json(value: &Value) -> Result<Action, InvalidAction> {
        let Value::Object(object) = value else {
            return Err(invalid("an action is a JSON object"));
        };
        if let Some(unknown) = object
            .keys()
            .find(|name| !ACTION_MEMBERS.contains(&name.as_str()))
        {
            return Err(invalid(format!(
                "unknown action member {:?} (an action has scope, resource, amount, currency)",
                crate::delegation::truncate(unknown)
            )));
        }
        let text = |name: &str| {
            object
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| invalid(format!("{name} is missing or not a string")))
        };
        let amount = match object.get("amount") {
            None | Some(Value::Null) => None,
            Some(amount) => Some(
                amount
                    .as_f64()
                    .ok_or_else(|| invalid("amount is not a number"))?,
            ),
        };
        let currency = match object.get("currency") {
            None | Some(Value::Null) => None,
            Some(Value::String(currency)) => Some(currency.clone()),
            Some(_) => return Err(invalid("currency is not a string")),
        };
        let action = Action {
            scope: text("scope")?,
            resource: text("resource")?,
            amount,
            currency,
        };
        action.check()?;
        Ok(action)
    }

    /// Checks what authorization relies on: a non-empty scope and resource, an
    /// amount that is a finite number at least zero, and a currency of three
    /// capital letters (ISO 4217) that comes with an amount. A NaN compares false
    /// with every limit and an infinite or negative amount has no meaning as a sum to
    /// pay or refund, so each would slip past `max_amount`.
    ///
    /// # Errors
    /// [`InvalidAction`] naming what is wrong.
    pub fn check(&self) -> Result<(), InvalidAction> {
        if self.scope.is_empty() || self.resource.is_empty() {
            return Err(invalid("scope and resource must not be empty"));
        }
        if let Some(amount) = self.amount {
            if !amount.is_finite() || amount < 0.0 {
                return Err(invalid(format!(
                    "amount {amount} is not a finite number at least 0"
                )));
            }
        }
        if let Some(currency) = &self.currency {
            if currency.len() != 3 || !currency.bytes().all(|byte| byte.is_ascii_uppercase()) {
                return Err(invalid("currency must be three capital letters (ISO 4217)"));
            }
            if self.amount.is_none() {
                return Err(invalid("a currency needs an amount"));
            }
        }
        Ok(())
    }

    /// The action as a JSON object (absent members left out).
    pub fn to_json(&self) -> Value {
        let mut object = Map::new();
        object.insert("scope".into(), self.scope.clone().into());
        object.insert("resource".into(), self.resource.clone().into());
        if let Some(amount) = self.amount {
            if let Some(number) = serde_json::Number::from_f64(amount) {
                object.insert("amount".into(), Value::Number(number));
            }
        }
        if let Some(currency) = &self.currency {
            object.insert("currency".into(), currency.clone().into());
        }
        Value::Object(object)
    }

    /// The RFC 8785 canonical JSON of the action: how actions are compared.
    pub fn canonical_json(&self) -> String {
        let value = self.to_json();
        // An action holds strings and a finite number, which always canonicalize;
        // should that ever fail, fall back to plain JSON, still one text per action.
        canonical_json(&value).unwrap_or_else(|_| value.to_string())
    }

    /// The digest an approval names: SHA-256 of [`Action::canonical_json`], base64url.
    pub fn digest(&self) -> String {
        sha256_b64(&self.canonical_json())
    }

    /// True when both are the same action in canonical form (`50` equals `50.0`).
    pub fn same_as(&self, other: &Action) -> bool {
        self.canonical_json() == other.canonical_json()
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.scope, self.resource)?;
        if let Some(amount) = self.amount {
            write!(f, " {amount}")?;
        }
        if let Some(currency) = &self.currency {
            write!(f, " {currency}")?;
        }
        Ok(())
    }
}

/// RFC 8785 (JCS) serialization of a JSON value: members sorted by UTF-16 code
/// units, ECMAScript number formatting, minimal string escapes.
///
/// # Errors
/// [`InvalidAction`] for a number that has no IEEE 754 double form (`1e400`).
pub fn canonical_json(value: &Value) -> Result<String, InvalidAction> {
    serde_json_canonicalizer::to_string(value)
        .map_err(|_| invalid("the value has no RFC 8785 canonical form"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn amounts_that_would_slip_past_a_limit_are_refused() {
        for text in [
            "pay r NaN",
            "pay r nan",
            "pay r inf",
            "pay r -inf",
            "pay r -1",
            "pay r 1 eur",
            "pay r 1 EURO",
        ] {
            assert!(Action::parse(text).is_err(), "{text}");
        }
        assert_eq!(Action::parse("pay r 0").unwrap().amount, Some(0.0));
        assert_eq!(Action::parse("pay r").unwrap().amount, None);
        assert_eq!(
            Action::parse("pay r 5 EUR").unwrap().currency.as_deref(),
            Some("EUR")
        );
        assert!(Action::parse("pay").is_err());
        assert!(Action::parse("pay r 1 EUR extra").is_err());
        assert!(Action::parse(&format!("pay {} 1", "r".repeat(MAX_ACTION_BYTES))).is_err());
    }

    #[test]
    fn action_objects_are_typed_and_closed() {
        let good = json!({"scope": "pay", "resource": "https://r", "amount": 5, "currency": "EUR"});
        assert_eq!(Action::from_json(&good).unwrap().amount, Some(5.0));
        for bad in [
            json!({"resource": "https://r"}),
            json!({"scope": 1, "resource": "https://r"}),
            json!({"scope": "pay", "resource": "https://r", "amount": "5"}),
            json!({"scope": "pay", "resource": "https://r", "amount": -5}),
            json!({"scope": "pay", "resource": "https://r", "currency": "EUR"}),
            json!({"scope": "pay", "resource": "https://r", "limit": 5}),
            json!({"scope": "pay", "resource": "https://r", "vct": "x"}),
            json!([]),
        ] {
            assert!(Action::from_json(&bad).is_err(), "{bad}");
        }
        assert_eq!(
            Action::parse(r#"{"scope": "pay", "resource": "https://r", "amount": 5}"#).unwrap(),
            Action::new("pay", "https://r").with_amount(5.0, None)
        );
    }

    #[test]
    fn actions_are_compared_in_rfc8785_canonical_form() {
        let fifty = Action::parse("pay https://r 50 EUR").unwrap();
        let fifty_point_zero = Action::from_json(
            &json!({"currency": "EUR", "amount": 50.0, "resource": "https://r", "scope": "pay"}),
        )
        .unwrap();
        assert!(fifty.same_as(&fifty_point_zero));
        assert_eq!(fifty.digest(), fifty_point_zero.digest());
        assert_eq!(
            fifty.canonical_json(),
            r#"{"amount":50,"currency":"EUR","resource":"https://r","scope":"pay"}"#
        );
        assert!(!fifty.same_as(&Action::parse("pay https://r 50.01 EUR").unwrap()));
        assert!(!fifty.same_as(&Action::parse("pay https://r 50").unwrap()));
    }
}
