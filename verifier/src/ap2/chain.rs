//! [`evaluate_chain`]: which chain the payloads form, what the caller expects of
//! it, and the report of a chain whose closed mandate satisfies every rule.

use serde::Serialize;
use serde_json::{Map, Value};

use super::checkout::{self, Checkout, CheckoutJwtError};
use super::constraints::{check_checkout, check_payment, CheckMade, Findings};
use super::line_items::distinct_ids;
use super::mandate::{
    CheckoutConstraint, CheckoutMandate, MandateError, OpenCheckoutMandate, OpenPaymentMandate,
    PaymentMandate, CHECKOUT_VCT, OPEN_CHECKOUT_VCT, OPEN_PAYMENT_VCT, PAYMENT_VCT,
};
use super::read::{quoted, Object};
use super::violation::{Ap2Violation, ViolationCode};
use super::{MAX_CHAIN_PAYLOADS, MAX_FLOW_EDGES};

/// How much a recurring payment mandate was used before: the SDK's
/// `constraints.MandateContext`, which the verifier's store keeps per mandate.
///
/// (The SDK's model also has `last_used_date`; no SDK check reads it, so it is not
/// here.)
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MandateUsage {
    /// The amounts paid with the mandate so far, in minor units.
    pub total_amount: i64,
    /// How many times it was used.
    pub total_uses: i64,
}

impl MandateUsage {
    /// Usage so far: `total_amount` minor units over `total_uses` payments.
    pub fn new(total_amount: i64, total_uses: i64) -> Self {
        MandateUsage {
            total_amount,
            total_uses,
        }
    }
}

/// What the caller expects of the chain: the optional arguments of the SDK's
/// `CheckoutMandateChain.verify` and `PaymentMandateChain.verify`.
///
/// | member | chain | SDK argument | when absent |
/// |---|---|---|---|
/// | `checkout_jwt` | checkout | `checkout_jwt` | violation `checkout.jwt_required` |
/// | `expected_checkout_hash` | checkout | `expected_checkout_hash` | not checked |
/// | `expected_transaction_id` | payment | `expected_transaction_id` | not checked |
/// | `expected_open_checkout_hash` | payment | `expected_open_checkout_hash` | a `payment.reference` is violated (`payment.reference.hash_required`) |
/// | `usage` | payment | `mandate_context` | a `payment.budget`, or a `payment.agent_recurrence` with `max_occurrences`, is violated (`…missing_context`) |
///
/// An empty `checkout_jwt` or `expected_open_checkout_hash` counts as absent (the
/// SDK tests their truth value); empty expected hashes and ids are compared.
/// Setting a member for the other kind of chain is refused
/// ([`Ap2Violation::InvalidContext`]): an expectation is never skipped in silence.
///
/// There is no clock: none of the SDK's constraint checks reads the time (it checks
/// `iat`/`exp` while verifying the chain's signatures; `execution_date` windows are
/// compared with the closed mandate's `execution_date`, and recurrence counts
/// uses, not periods).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MandateContext {
    /// The merchant's checkout JWT the open checkout constraints are evaluated on.
    /// agentid also requires it to be the closed mandate's `checkout_jwt`
    /// ([`ViolationCode::CheckoutJwtNotClosed`]).
    pub checkout_jwt: Option<String>,
    /// The `checkout_hash` the closed checkout mandate must carry.
    pub expected_checkout_hash: Option<String>,
    /// The `transaction_id` the closed payment mandate must carry.
    pub expected_transaction_id: Option<String>,
    /// The open checkout mandate's hash, which a `payment.reference` names.
    pub expected_open_checkout_hash: Option<String>,
    /// How much the payment mandate was used before.
    pub usage: Option<MandateUsage>,
}

impl MandateContext {
    /// A context for a checkout chain, with the checkout JWT to evaluate.
    pub fn checkout(checkout_jwt: impl Into<String>) -> Self {
        MandateContext {
            checkout_jwt: Some(checkout_jwt.into()),
            ..MandateContext::default()
        }
    }

    /// A context for a payment chain, expecting nothing yet.
    pub fn payment() -> Self {
        MandateContext::default()
    }

    /// The context a verifier that knows nothing beyond the chain uses: for a
    /// checkout chain, the closed mandate's own `checkout_jwt`, whose SHA-256 its
    /// `checkout_hash` must be (the binding the SDK leaves unchecked); for a payment
    /// chain, no expectation. A caller that knows more (the transaction id it
    /// issued, the basket it offered) adds it with the `with_*` methods.
    pub fn from_closed_mandate(closed: &Map<String, Value>) -> Self {
        match closed.get("checkout_jwt").and_then(Value::as_str) {
            Some(jwt) => {
                MandateContext::checkout(jwt).with_expected_checkout_hash(crate::sha256_b64(jwt))
            }
            None => MandateContext::payment(),
        }
    }

    /// Expects the closed checkout mandate's `checkout_hash`.
    pub fn with_expected_checkout_hash(mut self, hash: impl Into<String>) -> Self {
        self.expected_checkout_hash = Some(hash.into());
        self
    }

    /// Expects the closed payment mandate's `transaction_id`.
    pub fn with_expected_transaction_id(mut self, id: impl Into<String>) -> Self {
        self.expected_transaction_id = Some(id.into());
        self
    }

    /// Gives the open checkout mandate's hash for `payment.reference`.
    pub fn with_expected_open_checkout_hash(mut self, hash: impl Into<String>) -> Self {
        self.expected_open_checkout_hash = Some(hash.into());
        self
    }

    /// Gives the payment mandate's usage so far.
    pub fn with_usage(mut self, usage: MandateUsage) -> Self {
        self.usage = Some(usage);
        self
    }

    fn check_fits(&self, kind: ChainKind) -> Result<(), Ap2Violation> {
        let foreign: &[(&str, bool)] = match kind {
            ChainKind::Checkout => &[
                (
                    "expected_transaction_id",
                    self.expected_transaction_id.is_some(),
                ),
                (
                    "expected_open_checkout_hash",
                    self.expected_open_checkout_hash.is_some(),
                ),
                ("usage", self.usage.is_some()),
            ],
            ChainKind::Payment => &[
                ("checkout_jwt", self.checkout_jwt.is_some()),
                (
                    "expected_checkout_hash",
                    self.expected_checkout_hash.is_some(),
                ),
            ],
        };
        match foreign.iter().find(|(_, set)| *set) {
            Some((name, _)) => Err(Ap2Violation::InvalidContext(format!(
                "{name} is set, and a {} chain cannot check it",
                kind.as_str()
            ))),
            None => Ok(()),
        }
    }
}

/// Which AP2 chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ChainKind {
    /// Open checkout mandate(s), then a closed checkout mandate.
    Checkout,
    /// Open payment mandate(s), then a closed payment mandate.
    Payment,
}

impl ChainKind {
    /// `checkout` or `payment`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChainKind::Checkout => "checkout",
            ChainKind::Payment => "payment",
        }
    }
}

/// The mandates of an accepted chain, typed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Ap2Chain {
    /// A checkout chain.
    #[non_exhaustive]
    Checkout {
        /// The open mandates, root first (payload indexes 0 … n − 2).
        open: Vec<OpenCheckoutMandate>,
        /// The closed mandate (the last payload).
        closed: CheckoutMandate,
        /// The checkout its constraints were evaluated on.
        checkout: Checkout,
    },
    /// A payment chain.
    #[non_exhaustive]
    Payment {
        /// The open mandates, root first.
        open: Vec<OpenPaymentMandate>,
        /// The closed mandate.
        closed: PaymentMandate,
    },
}

/// A chain whose closed mandate satisfies every constraint of every open mandate
/// and every expectation of the context. Only [`evaluate_chain`] builds one.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct MandateReport {
    /// The mandates, typed (the open ones with their constraints).
    pub chain: Ap2Chain,
    /// Every check made, in order.
    pub checks: Vec<CheckMade>,
}

impl MandateReport {
    /// Which chain was evaluated.
    pub fn kind(&self) -> ChainKind {
        match self.chain {
            Ap2Chain::Checkout { .. } => ChainKind::Checkout,
            Ap2Chain::Payment { .. } => ChainKind::Payment,
        }
    }
}

fn kind_of(vct: &str) -> Option<(ChainKind, bool)> {
    match vct {
        OPEN_CHECKOUT_VCT => Some((ChainKind::Checkout, true)),
        CHECKOUT_VCT => Some((ChainKind::Checkout, false)),
        OPEN_PAYMENT_VCT => Some((ChainKind::Payment, true)),
        PAYMENT_VCT => Some((ChainKind::Payment, false)),
        _ => None,
    }
}

fn read<T>(
    payload: usize,
    vct: &str,
    map: &Map<String, Value>,
    reader: fn(Object<'_>) -> Result<T, MandateError>,
) -> Result<T, Ap2Violation> {
    reader(Object::new(map, "")).map_err(|error| match error {
        MandateError::Schema(error) => Ap2Violation::Malformed {
            payload,
            vct: vct.to_owned(),
            reason: error.to_string(),
        },
        MandateError::UnknownConstraint {
            index,
            constraint_type,
        } => Ap2Violation::UnknownConstraint {
            payload,
            index,
            constraint_type: crate::error::truncate(&constraint_type),
        },
        MandateError::Limit(why) => {
            Ap2Violation::LimitExceeded(format!("payload {payload}: {why}"))
        }
    })
}

/// The effective payloads of a verified AP2 chain, one per token (root's
/// `delegate_payload[0]` first), as the SDK's `MandateClient.verify` returns them:
/// is the closed mandate within every open mandate's constraints and the
/// caller's expectations?
///
/// The chain is one or more open mandates of one kind followed by the closed
/// mandate of that kind (see [`crate::ap2`] for why every open mandate is checked,
/// not only the last). Signatures, `sd_hash` bindings, `cnf` keys and `iat`/`exp`
/// are not looked at: they are the chain verifier's, which runs first.
///
/// # Errors
/// [`Ap2Violation::Refused`] with every violation when the closed mandate breaks
/// a rule; the other variants when the chain could not be checked (a payload that
/// is not its mandate, an unknown constraint type, a sequence that is no AP2 chain,
/// a limit, a context for the other kind of chain).
pub fn evaluate_chain(
    payloads: &[Map<String, Value>],
    context: &MandateContext,
) -> Result<MandateReport, Ap2Violation> {
    if payloads.len() > MAX_CHAIN_PAYLOADS {
        return Err(Ap2Violation::LimitExceeded(format!(
            "the chain has {} payloads; at most {MAX_CHAIN_PAYLOADS} are evaluated",
            payloads.len()
        )));
    }
    let Some((closed, opens)) = payloads.split_last().filter(|(_, opens)| !opens.is_empty()) else {
        return Err(Ap2Violation::UnsupportedChain(format!(
            "an AP2 chain is one or more open mandates and the closed mandate that closes them; got {} payload(s)",
            payloads.len()
        )));
    };
    let mut vcts = Vec::with_capacity(payloads.len());
    for (index, payload) in payloads.iter().enumerate() {
        let vct = match payload.get("vct") {
            Some(Value::String(vct)) => vct.as_str(),
            other => {
                return Err(Ap2Violation::Malformed {
                    payload: index,
                    vct: String::new(),
                    reason: match other {
                        None => "vct: required member missing".into(),
                        Some(_) => "vct: expected a string".into(),
                    },
                })
            }
        };
        let kind = kind_of(vct).ok_or_else(|| {
            Ap2Violation::UnsupportedChain(format!(
                "payload {index} has vct {}, which is no AP2 mandate",
                quoted(vct)
            ))
        })?;
        vcts.push((vct, kind));
    }
    let (closed_vct, (kind, closed_is_open)) = vcts[payloads.len() - 1];
    if closed_is_open {
        return Err(Ap2Violation::UnsupportedChain(format!(
            "the last payload is an open mandate ({closed_vct}): nothing closes the chain"
        )));
    }
    for (index, (vct, (open_kind, is_open))) in vcts[..opens.len()].iter().enumerate() {
        if !is_open {
            return Err(Ap2Violation::UnsupportedChain(format!(
                "payload {index} is a closed mandate ({vct}) before the end of the chain"
            )));
        }
        if *open_kind != kind {
            return Err(Ap2Violation::UnsupportedChain(format!(
                "payload {index} is a {vct} in a chain closed by a {closed_vct}"
            )));
        }
    }
    context.check_fits(kind)?;

    let closed_index = opens.len();
    let mut findings = Findings::default();
    let chain = match kind {
        ChainKind::Checkout => {
            let open: Vec<OpenCheckoutMandate> = opens
                .iter()
                .enumerate()
                .map(|(i, map)| read(i, OPEN_CHECKOUT_VCT, map, OpenCheckoutMandate::read))
                .collect::<Result<_, _>>()?;
            let closed = read(closed_index, CHECKOUT_VCT, closed, CheckoutMandate::read)?;
            match evaluate_checkout(&open, &closed, context, &mut findings)? {
                Some(checkout) => Ap2Chain::Checkout {
                    open,
                    closed,
                    checkout,
                },
                None => return Err(Ap2Violation::Refused(findings.violations)),
            }
        }
        ChainKind::Payment => {
            let open: Vec<OpenPaymentMandate> = opens
                .iter()
                .enumerate()
                .map(|(i, map)| read(i, OPEN_PAYMENT_VCT, map, OpenPaymentMandate::read))
                .collect::<Result<_, _>>()?;
            let closed = read(closed_index, PAYMENT_VCT, closed, PaymentMandate::read)?;
            for (index, mandate) in open.iter().enumerate() {
                check_payment(mandate, index, &closed, context, &mut findings);
            }
            if let Some(expected) = &context.expected_transaction_id {
                findings.check(None, "payment.transaction_id", "PaymentMandateChain.verify");
                if *expected != closed.transaction_id {
                    findings.violate(
                        ViolationCode::TransactionIdMismatch,
                        None,
                        format!(
                            "Payment transaction_id mismatch: expected {}, got {}",
                            crate::error::truncate(expected),
                            crate::error::truncate(&closed.transaction_id)
                        ),
                    );
                }
            }
            Ap2Chain::Payment { open, closed }
        }
    };
    if findings.violations.is_empty() {
        Ok(MandateReport {
            chain,
            checks: findings.checks,
        })
    } else {
        Err(Ap2Violation::Refused(findings.violations))
    }
}

/// `CheckoutMandateChain.verify` over every open mandate: the checkout, when it
/// could be read (`None` when reading it was itself the violation, after which the
/// SDK checks nothing else).
fn evaluate_checkout(
    open: &[OpenCheckoutMandate],
    closed: &CheckoutMandate,
    context: &MandateContext,
    findings: &mut Findings,
) -> Result<Option<Checkout>, Ap2Violation> {
    let jwt = match context.checkout_jwt.as_deref() {
        None | Some("") => {
            findings.violate(
                ViolationCode::CheckoutJwtRequired,
                None,
                "checkout_jwt is required to verify checkout constraints.".into(),
            );
            return Ok(None);
        }
        Some(jwt) => jwt,
    };
    findings.own_check(None, "checkout.checkout_jwt_is_the_closed_mandates");
    if jwt != closed.checkout_jwt {
        findings.violate(
            ViolationCode::CheckoutJwtNotClosed,
            None,
            "the checkout_jwt given is not the closed checkout mandate's checkout_jwt".into(),
        );
    }
    findings.check(
        None,
        "checkout.checkout_jwt",
        "CheckoutMandateChain.extract_parsed_checkout_object",
    );
    let checkout = match checkout::decode(jwt) {
        Ok(checkout) => checkout,
        Err(CheckoutJwtError::Violation(code, message)) => {
            findings.violate(code, None, message);
            return Ok(None);
        }
        Err(CheckoutJwtError::Limit(why)) => return Err(Ap2Violation::LimitExceeded(why)),
    };

    let requirements: usize = open
        .iter()
        .flat_map(|mandate| &mandate.constraints)
        .map(|constraint| match constraint {
            CheckoutConstraint::LineItems { items } => items.len(),
            CheckoutConstraint::AllowedMerchants { .. } => 0,
        })
        .sum();
    let edges = distinct_ids(&checkout.line_items).saturating_mul(requirements);
    if edges > MAX_FLOW_EDGES {
        return Err(Ap2Violation::LimitExceeded(format!(
            "matching the line items would take {edges} item–requirement edges; at most {MAX_FLOW_EDGES} are built"
        )));
    }
    for (index, mandate) in open.iter().enumerate() {
        check_checkout(mandate, index, &checkout, findings)?;
    }
    if let Some(expected) = &context.expected_checkout_hash {
        findings.check(
            None,
            "checkout.checkout_hash",
            "CheckoutMandateChain.verify",
        );
        if *expected != closed.checkout_hash {
            findings.violate(
                ViolationCode::CheckoutHashMismatch,
                None,
                format!(
                    "Checkout checkout_hash mismatch: expected {}, got {}",
                    crate::error::truncate(expected),
                    crate::error::truncate(&closed.checkout_hash)
                ),
            );
        }
    }
    Ok(Some(checkout))
}
