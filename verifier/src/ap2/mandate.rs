//! The four AP2 v0.2 mandates, read from their JSON payloads into typed structs.
//!
//! Each struct holds the members of its JSON Schema (`code/sdk/schemas/ap2/*.json`,
//! the same as the SDK's generated pydantic models); a payload missing a required
//! member, or with one of the wrong type, is refused ([`crate::ap2::read`] has the
//! type rules). A constraint is read by its `type`; a `type` that AP2 does not
//! define for that mandate is refused as unknown. A constraint without a `type` is
//! refused too: the schemas require it (the SDK's models default it, so pydantic
//! picks a constraint class by the members present — `{}` becomes an execution-date
//! window with no bounds; agentid does not guess).
//!
//! Not enforced, as the SDK does not enforce it either: the schemas' `contains`
//! (an open payment mandate must hold a `payment.reference`, an open checkout
//! mandate a `checkout.line_items`). The SDK's models drop it and its tests rely on
//! open mandates with no constraints.

use serde::Serialize;
use serde_json::{Map, Value};

use super::read::{Element, Object, Read, SchemaError};
use super::{MAX_CONSTRAINTS, MAX_REQUIREMENTS};

/// `vct` of a closed checkout mandate.
pub const CHECKOUT_VCT: &str = "mandate.checkout.1";
/// `vct` of an open checkout mandate.
pub const OPEN_CHECKOUT_VCT: &str = "mandate.checkout.open.1";
/// `vct` of a closed payment mandate.
pub const PAYMENT_VCT: &str = "mandate.payment.1";
/// `vct` of an open payment mandate.
pub const OPEN_PAYMENT_VCT: &str = "mandate.payment.open.1";

/// A merchant (`types/merchant.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Merchant {
    /// Unique identifier.
    pub id: String,
    /// Human-readable name.
    pub name: String,
    /// Website.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
}

/// An amount in minor units (`types/amount.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Amount {
    /// Minor units (cents).
    pub amount: i64,
    /// ISO 4217 code.
    pub currency: String,
}

/// A payment instrument (`types/payment_instrument.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PaymentInstrument {
    /// Unique identifier.
    pub id: String,
    /// Category of instrument.
    pub r#type: String,
    /// Text shown to the user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A payment initiation service provider (`types/pisp.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Pisp {
    /// Legal name.
    pub legal_name: String,
    /// Brand name.
    pub brand_name: String,
    /// Domain name (as its eIDAS QWAC certifies it).
    pub domain_name: String,
}

/// How often a recurring mandate may be used (`payment.agent_recurrence`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum Frequency {
    /// `ON_DEMAND`.
    OnDemand,
    /// `DAILY`.
    Daily,
    /// `WEEKLY`.
    Weekly,
    /// `BIWEEKLY`.
    Biweekly,
    /// `MONTHLY`.
    Monthly,
    /// `QUARTERLY`.
    Quarterly,
    /// `ANNUALLY`.
    Annually,
}

const FREQUENCIES: [(&str, Frequency); 7] = [
    ("ON_DEMAND", Frequency::OnDemand),
    ("DAILY", Frequency::Daily),
    ("WEEKLY", Frequency::Weekly),
    ("BIWEEKLY", Frequency::Biweekly),
    ("MONTHLY", Frequency::Monthly),
    ("QUARTERLY", Frequency::Quarterly),
    ("ANNUALLY", Frequency::Annually),
];

/// A constraint of an open payment mandate, by its `type`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type")]
#[non_exhaustive]
pub enum PaymentConstraint {
    /// `payment.agent_recurrence`: the mandate may be used repeatedly.
    #[serde(rename = "payment.agent_recurrence")]
    AgentRecurrence {
        /// How often (read, not enforced: the SDK counts uses only).
        frequency: Frequency,
        /// How many uses at most.
        #[serde(skip_serializing_if = "Option::is_none")]
        max_occurrences: Option<i64>,
    },
    /// `payment.allowed_payees`.
    #[serde(rename = "payment.allowed_payees")]
    AllowedPayees {
        /// The payees allowed.
        allowed: Vec<Merchant>,
    },
    /// `payment.allowed_payment_instruments`.
    #[serde(rename = "payment.allowed_payment_instruments")]
    AllowedPaymentInstruments {
        /// The instruments allowed (compared by `id`).
        allowed: Vec<PaymentInstrument>,
    },
    /// `payment.allowed_pisps`.
    #[serde(rename = "payment.allowed_pisps")]
    AllowedPisps {
        /// The PISPs allowed (compared by all three names).
        allowed: Vec<Pisp>,
    },
    /// `payment.amount_range`: the amount, in minor units.
    #[serde(rename = "payment.amount_range")]
    AmountRange {
        /// The currency (an empty string checks none, as in the SDK).
        currency: String,
        /// Largest amount allowed.
        max: i64,
        /// Smallest amount allowed.
        #[serde(skip_serializing_if = "Option::is_none")]
        min: Option<i64>,
    },
    /// `payment.budget`: the cumulative spend, in *major* units (`max` × 100 is
    /// compared with minor units, as the SDK does).
    #[serde(rename = "payment.budget")]
    Budget {
        /// Largest cumulative spend, major units.
        max: f64,
        /// The currency.
        currency: String,
    },
    /// `payment.execution_date`: a window for the closed mandate's `execution_date`.
    #[serde(rename = "payment.execution_date")]
    ExecutionDate {
        /// Earliest date (compared as a string, as the SDK does).
        #[serde(skip_serializing_if = "Option::is_none")]
        not_before: Option<String>,
        /// Latest date.
        #[serde(skip_serializing_if = "Option::is_none")]
        not_after: Option<String>,
    },
    /// `payment.reference`: the payment belongs to one open checkout mandate.
    #[serde(rename = "payment.reference")]
    PaymentReference {
        /// Digest of that open checkout mandate.
        conditional_transaction_id: String,
    },
}

/// An item a line-item requirement accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AcceptableItem {
    /// The item's id (often a SKU), compared with the checkout's `item.id`.
    pub id: String,
    /// Its title.
    pub title: String,
}

/// One requirement of a `checkout.line_items` constraint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LineItemRequirement {
    /// Identifier of the requirement.
    pub id: String,
    /// The items it accepts; empty accepts any item.
    pub acceptable_items: Vec<AcceptableItem>,
    /// How many units it takes at most (greater than 0).
    pub quantity: i64,
}

/// A constraint of an open checkout mandate, by its `type`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type")]
#[non_exhaustive]
pub enum CheckoutConstraint {
    /// `checkout.allowed_merchants`.
    #[serde(rename = "checkout.allowed_merchants")]
    AllowedMerchants {
        /// The merchants allowed.
        allowed: Vec<Merchant>,
    },
    /// `checkout.line_items`: every unit in the cart must fill a requirement slot.
    #[serde(rename = "checkout.line_items")]
    LineItems {
        /// The requirements (at least one).
        items: Vec<LineItemRequirement>,
    },
}

/// An open checkout mandate (`mandate.checkout.open.1`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct OpenCheckoutMandate {
    /// What the checkout must abide by.
    pub constraints: Vec<CheckoutConstraint>,
    /// The delegate's key (RFC 7800), as given.
    pub cnf: Map<String, Value>,
    /// Issued at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// Expires at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
}

/// A closed checkout mandate (`mandate.checkout.1`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CheckoutMandate {
    /// The merchant-signed checkout JWT.
    pub checkout_jwt: String,
    /// base64url hash of `checkout_jwt`.
    pub checkout_hash: String,
    /// Issued at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// Expires at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
}

/// An open payment mandate (`mandate.payment.open.1`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct OpenPaymentMandate {
    /// What the payment must abide by.
    pub constraints: Vec<PaymentConstraint>,
    /// The delegate's key (RFC 7800), as given.
    pub cnf: Map<String, Value>,
    /// A pre-set payee the closed mandate must match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payee: Option<Merchant>,
    /// A pre-set amount the closed mandate must equal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_amount: Option<Amount>,
    /// A pre-set instrument the closed mandate must equal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_instrument: Option<PaymentInstrument>,
    /// A PISP (read; the SDK checks no pre-set PISP, nor does agentid).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pisp: Option<Pisp>,
    /// A pre-set execution date the closed mandate must equal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_date: Option<String>,
    /// Risk signals, as given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk_data: Option<Map<String, Value>>,
    /// Issued at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// Expires at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
}

/// A closed payment mandate (`mandate.payment.1`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PaymentMandate {
    /// Hash of the checkout JWT this payment is for.
    pub transaction_id: String,
    /// Who is paid.
    pub payee: Merchant,
    /// The PISP, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pisp: Option<Pisp>,
    /// How much.
    pub payment_amount: Amount,
    /// With what.
    pub payment_instrument: PaymentInstrument,
    /// When (absent: immediately).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_date: Option<String>,
    /// Risk signals, as given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk_data: Option<Map<String, Value>>,
    /// Issued at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// Expires at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
}

/// Why a payload is not its mandate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MandateError {
    Schema(SchemaError),
    UnknownConstraint {
        index: usize,
        constraint_type: String,
    },
    /// Above a limit of [`crate::ap2`].
    Limit(String),
}

impl From<SchemaError> for MandateError {
    fn from(error: SchemaError) -> Self {
        MandateError::Schema(error)
    }
}

pub(crate) fn merchant(o: Object<'_>) -> Read<Merchant> {
    Ok(Merchant {
        id: o.str("id")?,
        name: o.str("name")?,
        website: o.opt_str("website")?,
    })
}

fn amount(o: Object<'_>) -> Read<Amount> {
    Ok(Amount {
        amount: o.int("amount")?,
        currency: o.str("currency")?,
    })
}

fn payment_instrument(o: Object<'_>) -> Read<PaymentInstrument> {
    Ok(PaymentInstrument {
        id: o.str("id")?,
        r#type: o.str("type")?,
        description: o.opt_str("description")?,
    })
}

fn pisp(o: Object<'_>) -> Read<Pisp> {
    Ok(Pisp {
        legal_name: o.str("legal_name")?,
        brand_name: o.str("brand_name")?,
        domain_name: o.str("domain_name")?,
    })
}

fn requirement(o: Object<'_>) -> Read<LineItemRequirement> {
    let quantity = o.int("quantity")?;
    if quantity <= 0 {
        return Err(SchemaError {
            path: format!("{}.quantity", o.path()),
            reason: "must be greater than 0".into(),
        });
    }
    Ok(LineItemRequirement {
        id: o.str("id")?,
        acceptable_items: o.objects("acceptable_items", |item| {
            Ok(AcceptableItem {
                id: item.str("id")?,
                title: item.str("title")?,
            })
        })?,
        quantity,
    })
}

/// Reads `constraints`, each element by its `type` with `read` (which returns
/// `Ok(None)` for a type it does not know).
fn constraints<T>(
    o: Object<'_>,
    read: impl Fn(&str, Object<'_>) -> Read<Option<T>>,
) -> Result<Vec<T>, MandateError> {
    let elements: Vec<Element<'_>> = o.array("constraints")?;
    if elements.len() > MAX_CONSTRAINTS {
        return Err(MandateError::Limit(format!(
            "{} constraints; at most {MAX_CONSTRAINTS} are read",
            elements.len()
        )));
    }
    let mut out = Vec::with_capacity(elements.len());
    for (index, element) in elements.iter().enumerate() {
        let parsed = element.object(|constraint| {
            let kind = constraint.str("type")?;
            Ok(read(&kind, constraint)?.ok_or(kind))
        })?;
        match parsed {
            Ok(constraint) => out.push(constraint),
            Err(constraint_type) => {
                return Err(MandateError::UnknownConstraint {
                    index,
                    constraint_type,
                })
            }
        }
    }
    Ok(out)
}

fn payment_constraint(kind: &str, o: Object<'_>) -> Read<Option<PaymentConstraint>> {
    let constraint = match kind {
        "payment.agent_recurrence" => {
            let index = o.one_of("frequency", &FREQUENCIES.map(|(name, _)| name))?;
            PaymentConstraint::AgentRecurrence {
                frequency: FREQUENCIES[index].1,
                max_occurrences: o.opt_int("max_occurrences")?,
            }
        }
        "payment.allowed_payees" => PaymentConstraint::AllowedPayees {
            allowed: o.objects("allowed", merchant)?,
        },
        "payment.allowed_payment_instruments" => PaymentConstraint::AllowedPaymentInstruments {
            allowed: o.objects("allowed", payment_instrument)?,
        },
        "payment.allowed_pisps" => PaymentConstraint::AllowedPisps {
            allowed: o.objects("allowed", pisp)?,
        },
        "payment.amount_range" => PaymentConstraint::AmountRange {
            currency: o.str("currency")?,
            max: o.int("max")?,
            min: o.opt_int("min")?,
        },
        "payment.budget" => {
            let max = o.number("max")?;
            // The SDK computes `int(max * 100)`, which raises for an infinite product.
            if !(max * 100.0).is_finite() {
                return Err(SchemaError {
                    path: format!("{}.max", o.path()),
                    reason: "is too large: max × 100 is not a finite number".into(),
                });
            }
            PaymentConstraint::Budget {
                max,
                currency: o.str("currency")?,
            }
        }
        "payment.execution_date" => PaymentConstraint::ExecutionDate {
            not_before: o.opt_str("not_before")?,
            not_after: o.opt_str("not_after")?,
        },
        "payment.reference" => PaymentConstraint::PaymentReference {
            conditional_transaction_id: o.str("conditional_transaction_id")?,
        },
        _ => return Ok(None),
    };
    Ok(Some(constraint))
}

fn checkout_constraint(kind: &str, o: Object<'_>) -> Read<Option<CheckoutConstraint>> {
    let constraint = match kind {
        "checkout.allowed_merchants" => CheckoutConstraint::AllowedMerchants {
            allowed: o.objects("allowed", merchant)?,
        },
        "checkout.line_items" => {
            let items = o.objects("items", requirement)?;
            if items.is_empty() {
                return Err(SchemaError {
                    path: format!("{}.items", o.path()),
                    reason: "must hold at least one requirement".into(),
                });
            }
            CheckoutConstraint::LineItems { items }
        }
        _ => return Ok(None),
    };
    Ok(Some(constraint))
}

impl OpenCheckoutMandate {
    pub(crate) fn read(o: Object<'_>) -> Result<Self, MandateError> {
        let constraints = constraints(o, checkout_constraint)?;
        for constraint in &constraints {
            if let CheckoutConstraint::LineItems { items } = constraint {
                if items.len() > MAX_REQUIREMENTS {
                    return Err(MandateError::Limit(format!(
                        "a checkout.line_items constraint with {} requirements; at most {MAX_REQUIREMENTS} are matched",
                        items.len()
                    )));
                }
            }
        }
        Ok(OpenCheckoutMandate {
            constraints,
            cnf: o.map("cnf")?,
            iat: o.opt_int("iat")?,
            exp: o.opt_int("exp")?,
        })
    }
}

impl CheckoutMandate {
    pub(crate) fn read(o: Object<'_>) -> Result<Self, MandateError> {
        Ok(CheckoutMandate {
            checkout_jwt: o.str("checkout_jwt")?,
            checkout_hash: o.str("checkout_hash")?,
            iat: o.opt_int("iat")?,
            exp: o.opt_int("exp")?,
        })
    }
}

impl OpenPaymentMandate {
    pub(crate) fn read(o: Object<'_>) -> Result<Self, MandateError> {
        Ok(OpenPaymentMandate {
            constraints: constraints(o, payment_constraint)?,
            cnf: o.map("cnf")?,
            payee: o.opt_object("payee", merchant)?,
            payment_amount: o.opt_object("payment_amount", amount)?,
            payment_instrument: o.opt_object("payment_instrument", payment_instrument)?,
            pisp: o.opt_object("pisp", pisp)?,
            execution_date: o.opt_str("execution_date")?,
            risk_data: o.opt_map("risk_data")?,
            iat: o.opt_int("iat")?,
            exp: o.opt_int("exp")?,
        })
    }
}

impl PaymentMandate {
    pub(crate) fn read(o: Object<'_>) -> Result<Self, MandateError> {
        Ok(PaymentMandate {
            transaction_id: o.str("transaction_id")?,
            payee: o.object("payee", merchant)?,
            pisp: o.opt_object("pisp", pisp)?,
            payment_amount: o.object("payment_amount", amount)?,
            payment_instrument: o.object("payment_instrument", payment_instrument)?,
            execution_date: o.opt_str("execution_date")?,
            risk_data: o.opt_map("risk_data")?,
            iat: o.opt_int("iat")?,
            exp: o.opt_int("exp")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn open_payment(value: Value) -> Result<OpenPaymentMandate, MandateError> {
        OpenPaymentMandate::read(Object::new(value.as_object().unwrap(), ""))
    }

    fn open_checkout(value: Value) -> Result<OpenCheckoutMandate, MandateError> {
        OpenCheckoutMandate::read(Object::new(value.as_object().unwrap(), ""))
    }

    fn schema_path(result: Result<impl std::fmt::Debug, MandateError>) -> String {
        match result {
            Err(MandateError::Schema(error)) => error.path,
            other => panic!("expected a schema error, got {other:?}"),
        }
    }

    #[test]
    fn every_payment_constraint_type_of_the_schema_is_read() {
        let mandate = open_payment(json!({
            "vct": OPEN_PAYMENT_VCT, "cnf": {"jwk": {}},
            "constraints": [
                {"type": "payment.agent_recurrence", "frequency": "MONTHLY", "max_occurrences": 12},
                {"type": "payment.allowed_payees", "allowed": [{"id": "m-1", "name": "Shop"}]},
                {"type": "payment.allowed_payment_instruments", "allowed": [{"id": "pi-1", "type": "card"}]},
                {"type": "payment.allowed_pisps", "allowed": [{"legal_name": "L", "brand_name": "B", "domain_name": "d.example"}]},
                {"type": "payment.amount_range", "currency": "USD", "max": 5000, "min": 100},
                {"type": "payment.budget", "currency": "USD", "max": 150.5},
                {"type": "payment.execution_date", "not_before": "2025-01-01"},
                {"type": "payment.reference", "conditional_transaction_id": "h"}
            ]
        }))
        .unwrap();
        assert_eq!(mandate.constraints.len(), 8);
        assert_eq!(
            mandate.constraints[0],
            PaymentConstraint::AgentRecurrence {
                frequency: Frequency::Monthly,
                max_occurrences: Some(12)
            }
        );
        // The report serializes constraints in the schema's shape.
        assert_eq!(
            serde_json::to_value(&mandate.constraints[4]).unwrap(),
            json!({"type": "payment.amount_range", "currency": "USD", "max": 5000, "min": 100})
        );
    }

    #[test]
    fn an_unknown_constraint_type_is_refused() {
        for (constraints, unknown) in [
            (
                json!([{"type": "payment.velocity", "max": 3}]),
                "payment.velocity",
            ),
            // A checkout constraint is unknown in a payment mandate.
            (
                json!([{"type": "checkout.line_items", "items": []}]),
                "checkout.line_items",
            ),
        ] {
            let result = open_payment(json!({"cnf": {}, "constraints": constraints}));
            assert_eq!(
                result,
                Err(MandateError::UnknownConstraint {
                    index: 0,
                    constraint_type: unknown.into()
                })
            );
        }
        let result = open_checkout(json!({"cnf": {}, "constraints": [
            {"type": "checkout.allowed_merchants", "allowed": []},
            {"type": "payment.amount_range", "currency": "USD", "max": 1}
        ]}));
        assert!(matches!(
            result,
            Err(MandateError::UnknownConstraint { index: 1, .. })
        ));
    }

    #[test]
    fn a_constraint_without_a_type_is_refused_not_guessed_from_its_members() {
        for constraint in [json!({}), json!({"currency": "USD", "max": 5})] {
            let result = open_payment(json!({"cnf": {}, "constraints": [constraint]}));
            assert_eq!(schema_path(result), "constraints[0].type");
        }
    }

    #[test]
    fn the_required_members_of_each_mandate_are_required() {
        assert_eq!(schema_path(open_payment(json!({"cnf": {}}))), "constraints");
        assert_eq!(schema_path(open_payment(json!({"constraints": []}))), "cnf");
        assert_eq!(
            schema_path(open_payment(json!({"constraints": [], "cnf": []}))),
            "cnf"
        );
        let closed =
            |value: Value| PaymentMandate::read(Object::new(value.as_object().unwrap(), ""));
        let full = json!({
            "transaction_id": "tx", "payee": {"id": "m", "name": "M"},
            "payment_amount": {"amount": 1, "currency": "USD"},
            "payment_instrument": {"id": "pi", "type": "card"}
        });
        assert!(closed(full.clone()).is_ok());
        for member in [
            "transaction_id",
            "payee",
            "payment_amount",
            "payment_instrument",
        ] {
            let mut missing = full.clone();
            missing.as_object_mut().unwrap().remove(member);
            assert_eq!(schema_path(closed(missing)), member);
        }
        let checkout =
            |value: Value| CheckoutMandate::read(Object::new(value.as_object().unwrap(), ""));
        assert_eq!(
            schema_path(checkout(json!({"checkout_jwt": "a.b.c"}))),
            "checkout_hash"
        );
    }

    #[test]
    fn member_types_and_ranges_follow_the_schema() {
        let cases = [
            (
                json!({"type": "payment.amount_range", "currency": "USD", "max": "5000"}),
                "constraints[0].max",
            ),
            (
                json!({"type": "payment.amount_range", "currency": "USD", "max": 50.5}),
                "constraints[0].max",
            ),
            (
                json!({"type": "payment.agent_recurrence", "frequency": "daily"}),
                "constraints[0].frequency",
            ),
            (
                json!({"type": "payment.budget", "currency": "USD", "max": true}),
                "constraints[0].max",
            ),
            (
                json!({"type": "payment.allowed_payees", "allowed": [{"id": "m"}]}),
                "constraints[0].allowed[0].name",
            ),
        ];
        for (constraint, path) in cases {
            let result = open_payment(json!({"cnf": {}, "constraints": [constraint]}));
            assert_eq!(schema_path(result), path);
        }
        let requirement = |quantity: Value| {
            open_checkout(
                json!({"cnf": {}, "constraints": [{"type": "checkout.line_items",
                "items": [{"id": "r", "acceptable_items": [], "quantity": quantity}]}]}),
            )
        };
        assert!(requirement(json!(1)).is_ok());
        assert_eq!(
            schema_path(requirement(json!(0))),
            "constraints[0].items[0].quantity"
        );
        assert_eq!(
            schema_path(open_checkout(
                json!({"cnf": {}, "constraints": [{"type": "checkout.line_items", "items": []}]})
            )),
            "constraints[0].items"
        );
    }

    #[test]
    fn more_constraints_than_the_limit_are_refused() {
        let at_limit: Vec<Value> = (0..MAX_CONSTRAINTS)
            .map(|_| json!({"type": "payment.execution_date"}))
            .collect();
        assert!(open_payment(json!({"cnf": {}, "constraints": at_limit.clone()})).is_ok());
        let mut over = at_limit;
        over.push(json!({"type": "payment.execution_date"}));
        assert!(matches!(
            open_payment(json!({"cnf": {}, "constraints": over})),
            Err(MandateError::Limit(_))
        ));
        let requirements = |count: usize| {
            let items: Vec<Value> = (0..count)
                .map(|i| json!({"id": format!("r{i}"), "acceptable_items": [], "quantity": 1}))
                .collect();
            open_checkout(
                json!({"cnf": {}, "constraints": [{"type": "checkout.line_items", "items": items}]}),
            )
        };
        assert!(requirements(MAX_REQUIREMENTS).is_ok());
        assert!(matches!(
            requirements(MAX_REQUIREMENTS + 1),
            Err(MandateError::Limit(_))
        ));
    }
}
