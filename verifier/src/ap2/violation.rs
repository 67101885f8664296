//! Why an AP2 chain was refused: the outcome error, one violation per broken rule,
//! and the map from the SDK's violation strings to agentid's codes.

use serde::{Serialize, Serializer};
use thiserror::Error;

/// One kind of AP2 rule a closed mandate (or its checkout) can break.
///
/// Each code names exactly one message of the AP2 v0.2 Python SDK (`ap2.sdk`) —
/// except [`ViolationCode::CheckoutJwtNotClosed`], agentid's own — so that a
/// corpus item's SDK violation list can be compared with agentid's code by code
/// ([`ViolationCode::from_sdk_message`]). The codes are stable: a code is never
/// renamed or reused for another meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ViolationCode {
    /// `checkout.jwt_required`: no checkout JWT was given to evaluate the open
    /// checkout constraints against (`CheckoutMandateChain.verify`).
    CheckoutJwtRequired,
    /// `checkout.jwt_malformed`: the checkout JWT is not `header.payload.signature`
    /// (`extract_parsed_checkout_object`).
    CheckoutJwtMalformed,
    /// `checkout.jwt_base64`: its payload is not base64url.
    CheckoutJwtBase64,
    /// `checkout.jwt_json`: its payload is not UTF-8 JSON.
    CheckoutJwtJson,
    /// `checkout.jwt_schema`: its payload is not a UCP Checkout (the schema's
    /// required members and types).
    CheckoutJwtSchema,
    /// `checkout.jwt_not_closed` (agentid only; the SDK has no such check): the
    /// checkout JWT given to evaluate the constraints is not the one the closed
    /// checkout mandate carries, so the constraints would be checked against a basket
    /// the mandate does not authorize.
    CheckoutJwtNotClosed,
    /// `checkout.hash_mismatch`: the closed mandate's `checkout_hash` is not the
    /// expected one (`CheckoutMandateChain.verify`).
    CheckoutHashMismatch,
    /// `checkout.allowed_merchants.missing`: the checkout names no merchant
    /// (`AllowedMerchantsEvaluator`).
    MerchantMissing,
    /// `checkout.allowed_merchants.not_allowed`: the checkout's merchant is not in
    /// the allowed list (`AllowedMerchantsEvaluator`).
    MerchantNotAllowed,
    /// `checkout.line_items.empty_cart`: a line-items constraint and no line items
    /// (`LineItemsEvaluator`).
    LineItemsEmptyCart,
    /// `checkout.line_items.not_acceptable`: an item no requirement accepts
    /// (`evaluate_line_items_max_flow`).
    LineItemNotAcceptable,
    /// `checkout.line_items.unassigned`: quantities that fit no requirement slot
    /// (`evaluate_line_items_max_flow`).
    LineItemsUnassigned,
    /// `payment.preset.payee`: a payee pre-set in the open mandate is not the closed
    /// one (`check_preset_payment_claims`).
    PresetPayeeMismatch,
    /// `payment.preset.amount`: a pre-set amount differs.
    PresetAmountMismatch,
    /// `payment.preset.payment_instrument`: a pre-set payment instrument differs.
    PresetPaymentInstrumentMismatch,
    /// `payment.preset.execution_date`: a pre-set execution date differs.
    PresetExecutionDateMismatch,
    /// `payment.agent_recurrence.requires_amount_range`: recurrence without an
    /// amount range in the same open mandate (`check_payment_constraints`).
    RecurrenceRequiresAmountRange,
    /// `payment.agent_recurrence.requires_budget`: recurrence without a budget.
    RecurrenceRequiresBudget,
    /// `payment.agent_recurrence.missing_context`: `max_occurrences` and no usage
    /// context (`AgentRecurrenceEvaluator`).
    RecurrenceMissingContext,
    /// `payment.agent_recurrence.max_occurrences`: the mandate was used
    /// `max_occurrences` times already.
    RecurrenceExceeded,
    /// `payment.amount_range.currency`: the amount is in another currency
    /// (`AmountRangeEvaluator`).
    AmountCurrencyMismatch,
    /// `payment.amount_range.below_minimum`.
    AmountBelowMinimum,
    /// `payment.amount_range.above_maximum`.
    AmountAboveMaximum,
    /// `payment.allowed_payees.not_allowed` (`AllowedPayeeEvaluator`).
    PayeeNotAllowed,
    /// `payment.reference.hash_required`: a payment reference and no open checkout
    /// hash to compare it with (`PaymentReferenceEvaluator`).
    ReferenceHashRequired,
    /// `payment.reference.mismatch`: the reference names another open checkout.
    ReferenceMismatch,
    /// `payment.allowed_payment_instruments.not_allowed`
    /// (`AllowedPaymentInstrumentEvaluator`).
    PaymentInstrumentNotAllowed,
    /// `payment.allowed_pisps.missing`: allowed PISPs and none in the closed mandate
    /// (`AllowedPispEvaluator`).
    PispMissing,
    /// `payment.allowed_pisps.not_allowed`.
    PispNotAllowed,
    /// `payment.budget.currency` (`BudgetEvaluator`).
    BudgetCurrencyMismatch,
    /// `payment.budget.missing_context`: a budget and no usage context.
    BudgetMissingContext,
    /// `payment.budget.exceeded`: past spend plus this amount is above the budget.
    BudgetExceeded,
    /// `payment.execution_date.before` (`ExecutionDateEvaluator`).
    ExecutionDateBefore,
    /// `payment.execution_date.after`.
    ExecutionDateAfter,
    /// `payment.transaction_id_mismatch`: the closed mandate's `transaction_id` is
    /// not the expected one (`PaymentMandateChain.verify`).
    TransactionIdMismatch,
}

impl ViolationCode {
    /// Every code, in declaration order.
    pub const ALL: [ViolationCode; 35] = [
        ViolationCode::CheckoutJwtRequired,
        ViolationCode::CheckoutJwtMalformed,
        ViolationCode::CheckoutJwtBase64,
        ViolationCode::CheckoutJwtJson,
        ViolationCode::CheckoutJwtSchema,
        ViolationCode::CheckoutJwtNotClosed,
        ViolationCode::CheckoutHashMismatch,
        ViolationCode::MerchantMissing,
        ViolationCode::MerchantNotAllowed,
        ViolationCode::LineItemsEmptyCart,
        ViolationCode::LineItemNotAcceptable,
        ViolationCode::LineItemsUnassigned,
        ViolationCode::PresetPayeeMismatch,
        ViolationCode::PresetAmountMismatch,
        ViolationCode::PresetPaymentInstrumentMismatch,
        ViolationCode::PresetExecutionDateMismatch,
        ViolationCode::RecurrenceRequiresAmountRange,
        ViolationCode::RecurrenceRequiresBudget,
        ViolationCode::RecurrenceMissingContext,
        ViolationCode::RecurrenceExceeded,
        ViolationCode::AmountCurrencyMismatch,
        ViolationCode::AmountBelowMinimum,
        ViolationCode::AmountAboveMaximum,
        ViolationCode::PayeeNotAllowed,
        ViolationCode::ReferenceHashRequired,
        ViolationCode::ReferenceMismatch,
        ViolationCode::PaymentInstrumentNotAllowed,
        ViolationCode::PispMissing,
        ViolationCode::PispNotAllowed,
        ViolationCode::BudgetCurrencyMismatch,
        ViolationCode::BudgetMissingContext,
        ViolationCode::BudgetExceeded,
        ViolationCode::ExecutionDateBefore,
        ViolationCode::ExecutionDateAfter,
        ViolationCode::TransactionIdMismatch,
    ];

    /// The stable machine-readable name (`payment.amount_range.above_maximum`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ViolationCode::CheckoutJwtRequired => "checkout.jwt_required",
            ViolationCode::CheckoutJwtMalformed => "checkout.jwt_malformed",
            ViolationCode::CheckoutJwtBase64 => "checkout.jwt_base64",
            ViolationCode::CheckoutJwtJson => "checkout.jwt_json",
            ViolationCode::CheckoutJwtSchema => "checkout.jwt_schema",
            ViolationCode::CheckoutJwtNotClosed => "checkout.jwt_not_closed",
            ViolationCode::CheckoutHashMismatch => "checkout.hash_mismatch",
            ViolationCode::MerchantMissing => "checkout.allowed_merchants.missing",
            ViolationCode::MerchantNotAllowed => "checkout.allowed_merchants.not_allowed",
            ViolationCode::LineItemsEmptyCart => "checkout.line_items.empty_cart",
            ViolationCode::LineItemNotAcceptable => "checkout.line_items.not_acceptable",
            ViolationCode::LineItemsUnassigned => "checkout.line_items.unassigned",
            ViolationCode::PresetPayeeMismatch => "payment.preset.payee",
            ViolationCode::PresetAmountMismatch => "payment.preset.amount",
            ViolationCode::PresetPaymentInstrumentMismatch => "payment.preset.payment_instrument",
            ViolationCode::PresetExecutionDateMismatch => "payment.preset.execution_date",
            ViolationCode::RecurrenceRequiresAmountRange => {
                "payment.agent_recurrence.requires_amount_range"
            }
            ViolationCode::RecurrenceRequiresBudget => "payment.agent_recurrence.requires_budget",
            ViolationCode::RecurrenceMissingContext => "payment.agent_recurrence.missing_context",
            ViolationCode::RecurrenceExceeded => "payment.agent_recurrence.max_occurrences",
            ViolationCode::AmountCurrencyMismatch => "payment.amount_range.currency",
            ViolationCode::AmountBelowMinimum => "payment.amount_range.below_minimum",
            ViolationCode::AmountAboveMaximum => "payment.amount_range.above_maximum",
            ViolationCode::PayeeNotAllowed => "payment.allowed_payees.not_allowed",
            ViolationCode::ReferenceHashRequired => "payment.reference.hash_required",
            ViolationCode::ReferenceMismatch => "payment.reference.mismatch",
            ViolationCode::PaymentInstrumentNotAllowed => {
                "payment.allowed_payment_instruments.not_allowed"
            }
            ViolationCode::PispMissing => "payment.allowed_pisps.missing",
            ViolationCode::PispNotAllowed => "payment.allowed_pisps.not_allowed",
            ViolationCode::BudgetCurrencyMismatch => "payment.budget.currency",
            ViolationCode::BudgetMissingContext => "payment.budget.missing_context",
            ViolationCode::BudgetExceeded => "payment.budget.exceeded",
            ViolationCode::ExecutionDateBefore => "payment.execution_date.before",
            ViolationCode::ExecutionDateAfter => "payment.execution_date.after",
            ViolationCode::TransactionIdMismatch => "payment.transaction_id_mismatch",
        }
    }

    /// True for the codes that stand for an SDK message; false for agentid's own
    /// checks, which the SDK never reports.
    pub fn is_sdk(self) -> bool {
        !matches!(self, ViolationCode::CheckoutJwtNotClosed)
    }

    /// The code of one violation string of the AP2 v0.2 Python SDK (an element of
    /// the list `CheckoutMandateChain.verify` / `PaymentMandateChain.verify`
    /// return), or `None` for a string that is no SDK violation.
    ///
    /// The SDK's strings are f-strings with values in them; they are recognised by
    /// their fixed text (a prefix, and the fixed text after the value where there is
    /// one), never by the values, so a payee named `x not in allowed list` cannot
    /// change the code. `'utf-8' codec can't decode …` is what the SDK reports for a
    /// checkout JWT payload that is not UTF-8 (Python's `UnicodeDecodeError` text,
    /// caught as a `ValueError`): [`ViolationCode::CheckoutJwtJson`].
    pub fn from_sdk_message(message: &str) -> Option<ViolationCode> {
        let m = message;
        let framed = |prefix: &str, suffix: &str| m.starts_with(prefix) && m.ends_with(suffix);
        let code = if m.starts_with("checkout_jwt is required to verify checkout constraints") {
            ViolationCode::CheckoutJwtRequired
        } else if m.starts_with("Malformed checkout_jwt: expected header.payload.signature") {
            ViolationCode::CheckoutJwtMalformed
        } else if m.starts_with("Base64 decoding failed for checkout_jwt") {
            ViolationCode::CheckoutJwtBase64
        } else if m.starts_with("Invalid JSON in checkout_jwt payload")
            || m.starts_with("'utf-8' codec can't decode")
        {
            ViolationCode::CheckoutJwtJson
        } else if m.starts_with("checkout_jwt payload failed schema validation") {
            ViolationCode::CheckoutJwtSchema
        } else if m.starts_with("Checkout checkout_hash mismatch: expected") {
            ViolationCode::CheckoutHashMismatch
        } else if m == "Missing merchant in checkout" {
            ViolationCode::MerchantMissing
        } else if framed("Merchant ", " not in allowed list") {
            ViolationCode::MerchantNotAllowed
        } else if m == "Empty cart does not satisfy line_items constraint" {
            ViolationCode::LineItemsEmptyCart
        } else if framed("Item ", " not in any requirement's acceptable items") {
            ViolationCode::LineItemNotAcceptable
        } else if framed(
            "Cannot satisfy line item constraints: ",
            " could not be assigned to any requirement slot",
        ) {
            ViolationCode::LineItemsUnassigned
        } else if m.starts_with("Pre-set payee mismatch: expected ") {
            ViolationCode::PresetPayeeMismatch
        } else if m.starts_with("Pre-set amount mismatch: expected ") {
            ViolationCode::PresetAmountMismatch
        } else if m == "Pre-set payment_instrument mismatch" {
            ViolationCode::PresetPaymentInstrumentMismatch
        } else if m.starts_with("Pre-set execution_date mismatch: expected ") {
            ViolationCode::PresetExecutionDateMismatch
        } else if m == "payment.agent_recurrence requires payment.amount_range constraint" {
            ViolationCode::RecurrenceRequiresAmountRange
        } else if m == "payment.agent_recurrence requires payment.budget constraint" {
            ViolationCode::RecurrenceRequiresBudget
        } else if m == "Missing mandate context required to evaluate recurrence" {
            ViolationCode::RecurrenceMissingContext
        } else if m.starts_with("Maximum occurrences exceeded: ") {
            ViolationCode::RecurrenceExceeded
        } else if m.starts_with("Currency mismatch: expected ") {
            ViolationCode::AmountCurrencyMismatch
        } else if m.starts_with("Amount ") && m.contains(" below minimum ") {
            ViolationCode::AmountBelowMinimum
        } else if m.starts_with("Amount ") && m.contains(" exceeds maximum ") {
            ViolationCode::AmountAboveMaximum
        } else if framed("Payee ", " not in allowed list") {
            ViolationCode::PayeeNotAllowed
        } else if m == "open_checkout_hash is required to evaluate PaymentReference constraints" {
            ViolationCode::ReferenceHashRequired
        } else if m.starts_with("PaymentReference mismatch: expected open checkout hash ") {
            ViolationCode::ReferenceMismatch
        } else if framed("Payment instrument ", " not in allowed list") {
            ViolationCode::PaymentInstrumentNotAllowed
        } else if m == "Missing PISP in closed mandate" {
            ViolationCode::PispMissing
        } else if framed("PISP ", " not in allowed list") {
            ViolationCode::PispNotAllowed
        } else if m.starts_with("Budget currency mismatch: expected ") {
            ViolationCode::BudgetCurrencyMismatch
        } else if m == "Missing mandate context required to evaluate budget" {
            ViolationCode::BudgetMissingContext
        } else if m.starts_with("Cumulative spend ") && m.contains(" exceeds budget limit ") {
            ViolationCode::BudgetExceeded
        } else if m.starts_with("Execution date ") && m.contains(" is before allowed window ") {
            ViolationCode::ExecutionDateBefore
        } else if m.starts_with("Execution date ") && m.contains(" is after allowed window ") {
            ViolationCode::ExecutionDateAfter
        } else if m.starts_with("Payment transaction_id mismatch: expected") {
            ViolationCode::TransactionIdMismatch
        } else {
            return None;
        };
        Some(code)
    }
}

impl std::fmt::Display for ViolationCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ViolationCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// One broken rule: its code, the SDK-shaped message, and the open mandate whose
/// constraint it breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Error)]
#[error("{message}")]
#[non_exhaustive]
pub struct Violation {
    /// What kind of rule.
    pub code: ViolationCode,
    /// The index in the chain's payloads of the open mandate whose constraint is
    /// broken; `None` for a check of the closed mandate against the caller's
    /// expectations (`checkout_hash`, `transaction_id`) or of the checkout JWT itself.
    pub payload: Option<usize>,
    /// A human message with the same text the SDK reports for this violation
    /// (values from the mandates included, truncated when long).
    pub message: String,
}

impl Violation {
    pub(crate) fn new(code: ViolationCode, payload: Option<usize>, message: String) -> Self {
        Violation {
            code,
            payload,
            message,
        }
    }

    /// True when `sdk_message`, one string of the SDK's violation list, reports
    /// this violation's kind ([`ViolationCode::from_sdk_message`]).
    pub fn matches_sdk_message(&self, sdk_message: &str) -> bool {
        ViolationCode::from_sdk_message(sdk_message) == Some(self.code)
    }
}

/// An AP2 chain was not accepted.
///
/// [`Ap2Violation::Refused`] is "checked and invalid": the chain was read and the
/// closed mandate breaks rules, all of them listed. Every other variant is "could
/// not check" (the SDK raises an exception in these cases instead of returning
/// violations): a payload that is not the mandate its `vct` names, a constraint type
/// nobody knows, a sequence of mandates that is no AP2 chain, a limit, or a context
/// that does not fit the chain.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum Ap2Violation {
    /// A payload breaks its mandate schema (a required member missing, a member of
    /// the wrong type, a value outside its range).
    #[error("payload {payload} is not a valid {}: {reason}", mandate_name(.vct))]
    Malformed {
        /// Its index in the chain.
        payload: usize,
        /// The `vct` it claims (empty when it has none).
        vct: String,
        /// What is wrong, with the member's path.
        reason: String,
    },
    /// A constraint whose `type` is not one AP2 defines for this mandate: it cannot
    /// be enforced, so the chain is refused (AP2's rule; in the SDK the mandate does
    /// not validate).
    #[error("payload {payload} has constraint {index} of unknown type {constraint_type}")]
    UnknownConstraint {
        /// Index of the open mandate in the chain.
        payload: usize,
        /// Index of the constraint in its `constraints`.
        index: usize,
        /// The type it names.
        constraint_type: String,
    },
    /// The payloads are not one or more open mandates followed by the closed mandate
    /// of the same kind.
    #[error("not an AP2 mandate chain: {0}")]
    UnsupportedChain(String),
    /// The input is larger than the documented limits ([`crate::ap2`]).
    #[error("limit exceeded: {0}")]
    LimitExceeded(String),
    /// API misuse: the context sets an expectation this kind of chain cannot check
    /// (an expected transaction id for a checkout chain, …). Refused rather than
    /// silently skipped.
    #[error("context does not fit the chain: {0}")]
    InvalidContext(String),
    /// The closed mandate breaks the open mandates' constraints or the caller's
    /// expectations: every violation, in the SDK's order.
    #[error("the closed mandate breaks {} AP2 rule(s): {}", .0.len(), join(.0))]
    Refused(Vec<Violation>),
}

fn mandate_name(vct: &str) -> &str {
    if vct.is_empty() {
        "AP2 mandate"
    } else {
        vct
    }
}

fn join(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(|violation| violation.message.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

impl Ap2Violation {
    /// A stable machine-readable name of the outcome class: `malformed`,
    /// `unknown_constraint`, `unsupported_chain`, `limit_exceeded`,
    /// `invalid_context` or `refused`.
    pub fn code(&self) -> &'static str {
        match self {
            Ap2Violation::Malformed { .. } => "malformed",
            Ap2Violation::UnknownConstraint { .. } => "unknown_constraint",
            Ap2Violation::UnsupportedChain(_) => "unsupported_chain",
            Ap2Violation::LimitExceeded(_) => "limit_exceeded",
            Ap2Violation::InvalidContext(_) => "invalid_context",
            Ap2Violation::Refused(_) => "refused",
        }
    }

    /// The violations of a refused chain (empty for "could not check").
    pub fn violations(&self) -> &[Violation] {
        match self {
            Ap2Violation::Refused(violations) => violations,
            _ => &[],
        }
    }

    /// True when the chain could not be checked at all (every variant but
    /// [`Ap2Violation::Refused`]): where the SDK raises instead of returning a list.
    pub fn could_not_check(&self) -> bool {
        !matches!(self, Ap2Violation::Refused(_))
    }

    /// True when this refusal reports the same violations as `sdk_messages`, the
    /// list the SDK's `verify()` returned for the same chain and context: the same
    /// codes, each as many times, in any order. Always false for "could not check"
    /// (the SDK raised there; compare with [`Ap2Violation::could_not_check`]) and
    /// when a string is no SDK violation.
    pub fn matches_sdk<S: AsRef<str>>(&self, sdk_messages: &[S]) -> bool {
        let Ap2Violation::Refused(violations) = self else {
            return false;
        };
        let mut ours: Vec<ViolationCode> = violations.iter().map(|v| v.code).collect();
        let mut theirs = Vec::with_capacity(sdk_messages.len());
        for message in sdk_messages {
            match ViolationCode::from_sdk_message(message.as_ref()) {
                Some(code) => theirs.push(code),
                None => return false,
            }
        }
        ours.sort_unstable();
        theirs.sort_unstable();
        ours == theirs
    }
}
