//! The checks: a closed mandate (or its checkout) against one open mandate's
//! constraints and pre-set claims, as the SDK's `constraints.py` makes them. Each
//! function names the SDK function it follows; the messages are the SDK's text.

use serde::Serialize;

use super::chain::MandateContext;
use super::checkout::Checkout;
use super::line_items;
use super::mandate::{
    Amount, CheckoutConstraint, Merchant, OpenCheckoutMandate, OpenPaymentMandate,
    PaymentConstraint, PaymentMandate, Pisp,
};
use super::violation::{Ap2Violation, Violation, ViolationCode};
use super::MAX_LINE_ITEMS;
use crate::error::truncate;

/// One check that was made, for the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CheckMade {
    /// The payload index of the open mandate whose constraint was checked; `None`
    /// for checks of the closed mandate against the caller's expectations.
    pub payload: Option<usize>,
    /// The rule: a constraint `type` (`payment.amount_range`), a pre-set claim
    /// (`payment.preset.payee`), or a chain check (`payment.transaction_id`).
    pub rule: &'static str,
    /// The SDK function or class that makes the same check; `None` for agentid's
    /// own checks.
    pub sdk: Option<&'static str>,
}

/// What evaluating a chain found: the checks made and the violations.
#[derive(Debug, Default)]
pub(crate) struct Findings {
    pub(crate) violations: Vec<Violation>,
    pub(crate) checks: Vec<CheckMade>,
}

impl Findings {
    pub(crate) fn check(&mut self, payload: Option<usize>, rule: &'static str, sdk: &'static str) {
        self.checks.push(CheckMade {
            payload,
            rule,
            sdk: Some(sdk),
        });
    }

    pub(crate) fn own_check(&mut self, payload: Option<usize>, rule: &'static str) {
        self.checks.push(CheckMade {
            payload,
            rule,
            sdk: None,
        });
    }

    pub(crate) fn violate(&mut self, code: ViolationCode, payload: Option<usize>, message: String) {
        self.violations.push(Violation::new(code, payload, message));
    }
}

/// Python's `repr` of a string (what the SDK's messages print for pydantic
/// models), truncated.
fn py_repr(text: &str) -> String {
    let text = truncate(text);
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(text.len() + 2);
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// `str()` of the SDK's `Amount` model.
fn py_amount(amount: &Amount) -> String {
    format!(
        "amount={} currency={}",
        amount.amount,
        py_repr(&amount.currency)
    )
}

/// `str()` of the SDK's `PISP` model.
fn py_pisp(pisp: &Pisp) -> String {
    format!(
        "legal_name={} brand_name={} domain_name={}",
        py_repr(&pisp.legal_name),
        py_repr(&pisp.brand_name),
        py_repr(&pisp.domain_name)
    )
}

/// The SDK's `merchant_matches`: by `id` when both have a non-empty one, else by
/// `name` and `website`, both non-empty and equal.
pub(crate) fn merchant_matches(candidate: &Merchant, target: &Merchant) -> bool {
    if !candidate.id.is_empty() && !target.id.is_empty() {
        return candidate.id == target.id;
    }
    let website = candidate.website.as_deref().unwrap_or_default();
    !candidate.name.is_empty()
        && candidate.name == target.name
        && !website.is_empty()
        && candidate.website == target.website
}

/// The SDK's `check_preset_payment_claims`: what the open mandate pre-sets, the
/// closed one must repeat (the payee by [`merchant_matches`], the rest equal).
fn check_preset_claims(
    open: &OpenPaymentMandate,
    payload: usize,
    closed: &PaymentMandate,
    findings: &mut Findings,
) {
    const SDK: &str = "check_preset_payment_claims";
    let at = Some(payload);
    if let Some(payee) = &open.payee {
        findings.check(at, "payment.preset.payee", SDK);
        if !merchant_matches(payee, &closed.payee) {
            findings.violate(
                ViolationCode::PresetPayeeMismatch,
                at,
                format!(
                    "Pre-set payee mismatch: expected {}, got {}",
                    truncate(&payee.name),
                    truncate(&closed.payee.name)
                ),
            );
        }
    }
    if let Some(amount) = &open.payment_amount {
        findings.check(at, "payment.preset.payment_amount", SDK);
        if *amount != closed.payment_amount {
            findings.violate(
                ViolationCode::PresetAmountMismatch,
                at,
                format!(
                    "Pre-set amount mismatch: expected {}, got {}",
                    py_amount(amount),
                    py_amount(&closed.payment_amount)
                ),
            );
        }
    }
    if let Some(instrument) = &open.payment_instrument {
        findings.check(at, "payment.preset.payment_instrument", SDK);
        if *instrument != closed.payment_instrument {
            findings.violate(
                ViolationCode::PresetPaymentInstrumentMismatch,
                at,
                "Pre-set payment_instrument mismatch".into(),
            );
        }
    }
    if let Some(date) = &open.execution_date {
        findings.check(at, "payment.preset.execution_date", SDK);
        if closed.execution_date.as_ref() != Some(date) {
            findings.violate(
                ViolationCode::PresetExecutionDateMismatch,
                at,
                format!(
                    "Pre-set execution_date mismatch: expected {}, got {}",
                    truncate(date),
                    closed
                        .execution_date
                        .as_deref()
                        .map_or_else(|| "None".to_owned(), truncate)
                ),
            );
        }
    }
}

/// True when `total` (an integer) is greater than `limit` (an integral `f64`), as
/// Python compares an `int` with `int(limit)`: exactly.
fn exceeds(total: i128, limit: f64) -> bool {
    const TWO_POW_127: f64 = 170_141_183_460_469_231_731_687_303_715_884_105_728.0;
    if limit >= TWO_POW_127 {
        false
    } else if limit < -TWO_POW_127 {
        true
    } else {
        // Exact: `limit` is integral and inside the i128 range.
        total > limit as i128
    }
}

/// The SDK's `check_payment_constraints` for one open mandate: its pre-set
/// claims, recurrence's companions, then each constraint with its evaluator.
pub(crate) fn check_payment(
    open: &OpenPaymentMandate,
    payload: usize,
    closed: &PaymentMandate,
    context: &MandateContext,
    findings: &mut Findings,
) {
    let at = Some(payload);
    check_preset_claims(open, payload, closed, findings);

    let has = |wanted: fn(&PaymentConstraint) -> bool| open.constraints.iter().any(wanted);
    if has(|c| matches!(c, PaymentConstraint::AgentRecurrence { .. })) {
        findings.check(
            at,
            "payment.agent_recurrence.companions",
            "check_payment_constraints",
        );
        if !has(|c| matches!(c, PaymentConstraint::AmountRange { .. })) {
            findings.violate(
                ViolationCode::RecurrenceRequiresAmountRange,
                at,
                "payment.agent_recurrence requires payment.amount_range constraint".into(),
            );
        }
        if !has(|c| matches!(c, PaymentConstraint::Budget { .. })) {
            findings.violate(
                ViolationCode::RecurrenceRequiresBudget,
                at,
                "payment.agent_recurrence requires payment.budget constraint".into(),
            );
        }
    }

    let amount = &closed.payment_amount;
    for constraint in &open.constraints {
        match constraint {
            PaymentConstraint::AmountRange { currency, max, min } => {
                findings.check(at, "payment.amount_range", "AmountRangeEvaluator");
                if !currency.is_empty() && amount.currency != *currency {
                    findings.violate(
                        ViolationCode::AmountCurrencyMismatch,
                        at,
                        format!(
                            "Currency mismatch: expected {}, got {}",
                            truncate(currency),
                            truncate(&amount.currency)
                        ),
                    );
                }
                if let Some(min) = min {
                    if amount.amount < *min {
                        findings.violate(
                            ViolationCode::AmountBelowMinimum,
                            at,
                            format!("Amount {} below minimum {min}", amount.amount),
                        );
                    }
                }
                if amount.amount > *max {
                    findings.violate(
                        ViolationCode::AmountAboveMaximum,
                        at,
                        format!("Amount {} exceeds maximum {max}", amount.amount),
                    );
                }
            }
            PaymentConstraint::AllowedPayees { allowed } => {
                findings.check(at, "payment.allowed_payees", "AllowedPayeeEvaluator");
                if !allowed.iter().any(|m| merchant_matches(m, &closed.payee)) {
                    findings.violate(
                        ViolationCode::PayeeNotAllowed,
                        at,
                        format!("Payee {} not in allowed list", truncate(&closed.payee.name)),
                    );
                }
            }
            PaymentConstraint::PaymentReference {
                conditional_transaction_id,
            } => {
                findings.check(at, "payment.reference", "PaymentReferenceEvaluator");
                match context.expected_open_checkout_hash.as_deref() {
                    None | Some("") => findings.violate(
                        ViolationCode::ReferenceHashRequired,
                        at,
                        "open_checkout_hash is required to evaluate PaymentReference constraints"
                            .into(),
                    ),
                    Some(hash) if hash != conditional_transaction_id => findings.violate(
                        ViolationCode::ReferenceMismatch,
                        at,
                        format!(
                            "PaymentReference mismatch: expected open checkout hash {}, got {}",
                            truncate(conditional_transaction_id),
                            truncate(hash)
                        ),
                    ),
                    Some(_) => {}
                }
            }
            PaymentConstraint::AgentRecurrence {
                max_occurrences, ..
            } => {
                findings.check(at, "payment.agent_recurrence", "AgentRecurrenceEvaluator");
                if let Some(limit) = max_occurrences {
                    match &context.usage {
                        None => findings.violate(
                            ViolationCode::RecurrenceMissingContext,
                            at,
                            "Missing mandate context required to evaluate recurrence".into(),
                        ),
                        Some(usage) if usage.total_uses >= *limit => findings.violate(
                            ViolationCode::RecurrenceExceeded,
                            at,
                            format!(
                                "Maximum occurrences exceeded: {} >= {limit}",
                                usage.total_uses
                            ),
                        ),
                        Some(_) => {}
                    }
                }
            }
            PaymentConstraint::AllowedPaymentInstruments { allowed } => {
                findings.check(
                    at,
                    "payment.allowed_payment_instruments",
                    "AllowedPaymentInstrumentEvaluator",
                );
                let instrument = &closed.payment_instrument;
                if !allowed.iter().any(|a| a.id == instrument.id) {
                    findings.violate(
                        ViolationCode::PaymentInstrumentNotAllowed,
                        at,
                        format!(
                            "Payment instrument {} not in allowed list",
                            truncate(&instrument.id)
                        ),
                    );
                }
            }
            PaymentConstraint::AllowedPisps { allowed } => {
                findings.check(at, "payment.allowed_pisps", "AllowedPispEvaluator");
                match &closed.pisp {
                    None => findings.violate(
                        ViolationCode::PispMissing,
                        at,
                        "Missing PISP in closed mandate".into(),
                    ),
                    Some(pisp) if !allowed.contains(pisp) => findings.violate(
                        ViolationCode::PispNotAllowed,
                        at,
                        format!("PISP {} not in allowed list", py_pisp(pisp)),
                    ),
                    Some(_) => {}
                }
            }
            PaymentConstraint::Budget { max, currency } => {
                findings.check(at, "payment.budget", "BudgetEvaluator");
                if amount.currency != *currency {
                    findings.violate(
                        ViolationCode::BudgetCurrencyMismatch,
                        at,
                        format!(
                            "Budget currency mismatch: expected {}, got {}",
                            truncate(currency),
                            truncate(&amount.currency)
                        ),
                    );
                    continue;
                }
                let Some(usage) = &context.usage else {
                    findings.violate(
                        ViolationCode::BudgetMissingContext,
                        at,
                        "Missing mandate context required to evaluate budget".into(),
                    );
                    continue;
                };
                let past = usage.total_amount;
                let total = i128::from(past) + i128::from(amount.amount);
                // The SDK's `int(max * 100)`: a float product, truncated. Finite:
                // the mandate reader refuses a `max` whose product is not.
                let limit = (max * 100.0).trunc() + 0.0;
                if exceeds(total, limit) {
                    findings.violate(
                        ViolationCode::BudgetExceeded,
                        at,
                        format!(
                            "Cumulative spend {total} exceeds budget limit {limit:.0} (past spend: {past})"
                        ),
                    );
                }
            }
            PaymentConstraint::ExecutionDate {
                not_before,
                not_after,
            } => {
                findings.check(at, "payment.execution_date", "ExecutionDateEvaluator");
                let date = closed.execution_date.as_deref().unwrap_or_default();
                if date.is_empty() {
                    continue;
                }
                // Python compares the strings, code point by code point: so does
                // `str`'s `Ord` (UTF-8 byte order is code point order).
                if let Some(bound) = not_before.as_deref().filter(|b| !b.is_empty()) {
                    if date < bound {
                        findings.violate(
                            ViolationCode::ExecutionDateBefore,
                            at,
                            format!(
                                "Execution date {} is before allowed window {}",
                                truncate(date),
                                truncate(bound)
                            ),
                        );
                    }
                }
                if let Some(bound) = not_after.as_deref().filter(|b| !b.is_empty()) {
                    if date > bound {
                        findings.violate(
                            ViolationCode::ExecutionDateAfter,
                            at,
                            format!(
                                "Execution date {} is after allowed window {}",
                                truncate(date),
                                truncate(bound)
                            ),
                        );
                    }
                }
            }
        }
    }
}

/// The SDK's `check_checkout_constraints` for one open mandate.
///
/// # Errors
/// [`Ap2Violation::LimitExceeded`] for a line-items constraint over a cart of more
/// than [`MAX_LINE_ITEMS`] lines.
pub(crate) fn check_checkout(
    open: &OpenCheckoutMandate,
    payload: usize,
    checkout: &Checkout,
    findings: &mut Findings,
) -> Result<(), Ap2Violation> {
    let at = Some(payload);
    for constraint in &open.constraints {
        match constraint {
            CheckoutConstraint::AllowedMerchants { allowed } => {
                findings.check(
                    at,
                    "checkout.allowed_merchants",
                    "AllowedMerchantsEvaluator",
                );
                match &checkout.merchant {
                    None => findings.violate(
                        ViolationCode::MerchantMissing,
                        at,
                        "Missing merchant in checkout".into(),
                    ),
                    Some(merchant) if !allowed.iter().any(|m| merchant_matches(m, merchant)) => {
                        findings.violate(
                            ViolationCode::MerchantNotAllowed,
                            at,
                            format!("Merchant {} not in allowed list", truncate(&merchant.name)),
                        );
                    }
                    Some(_) => {}
                }
            }
            CheckoutConstraint::LineItems { items } => {
                findings.check(at, "checkout.line_items", "LineItemsEvaluator");
                if checkout.line_items.is_empty() {
                    findings.violate(
                        ViolationCode::LineItemsEmptyCart,
                        at,
                        "Empty cart does not satisfy line_items constraint".into(),
                    );
                    continue;
                }
                if checkout.line_items.len() > MAX_LINE_ITEMS {
                    return Err(Ap2Violation::LimitExceeded(format!(
                        "the checkout has {} line items; line-item constraints are matched for at most {MAX_LINE_ITEMS}",
                        checkout.line_items.len()
                    )));
                }
                for (code, message) in line_items::evaluate(&checkout.line_items, items) {
                    findings.violate(code, at, message);
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merchant(id: &str, name: &str, website: Option<&str>) -> Merchant {
        Merchant {
            id: id.into(),
            name: name.into(),
            website: website.map(Into::into),
        }
    }

    /// The cases of the SDK's `test_merchant_matches` / `test_merchant_no_match`.
    #[test]
    fn merchants_match_by_id_or_else_by_name_and_website() {
        let site = Some("https://shop.example");
        let cases = [
            (
                merchant("m-1", "A", Some("https://a.example")),
                merchant("m-1", "B", Some("https://b.example")),
                true,
            ),
            (merchant("", "Shop", site), merchant("", "Shop", site), true),
            (
                merchant("m-1", "A", None),
                merchant("m-2", "A", None),
                false,
            ),
            (
                merchant("", "Shop", None),
                merchant("", "Shop", None),
                false,
            ),
            (
                merchant("", "Shop", Some("")),
                merchant("", "Shop", Some("")),
                false,
            ),
            // One side without an id: the ids are not compared.
            (
                merchant("m-1", "Shop", site),
                merchant("", "Shop", site),
                true,
            ),
            (merchant("", "", site), merchant("", "", site), false),
        ];
        for (candidate, target, expected) in cases {
            assert_eq!(
                merchant_matches(&candidate, &target),
                expected,
                "{candidate:?} vs {target:?}"
            );
        }
    }

    #[test]
    fn python_reprs_are_quoted_as_python_quotes_them() {
        assert_eq!(py_repr("USD"), "'USD'");
        assert_eq!(py_repr("it's"), "\"it's\"");
        assert_eq!(py_repr("a'b\"c"), "'a\\'b\"c'");
        assert_eq!(py_repr("a\nb\\"), "'a\\nb\\\\'");
    }

    #[test]
    fn an_integral_limit_is_compared_exactly_at_any_size() {
        assert!(exceeds(1501, 1500.0));
        assert!(!exceeds(1500, 1500.0));
        assert!(!exceeds(i128::from(i64::MAX) * 2, 1e300));
        assert!(exceeds(0, -1e300));
        assert!(exceeds(-5, -6.0));
    }
}
