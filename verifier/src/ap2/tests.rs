//! Chain-level tests: the cases of the SDK's `constraints_tests.py`,
//! `agent_recurrence_tests.py`, `checkout_mandate_chain_tests.py` and
//! `payment_mandate_chain_tests.py` (own data), each rule with an accepted and a
//! refused case, the expected messages being the ones the SDK prints.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use super::checkout::tests::{checkout_payload, jwt};
use super::*;

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

/// `base` with `overrides` set (a `null` removes the member).
fn with(base: Value, overrides: Value) -> Value {
    let mut map = object(base);
    for (key, value) in object(overrides) {
        if value.is_null() {
            map.remove(&key);
        } else {
            map.insert(key, value);
        }
    }
    Value::Object(map)
}

fn cnf() -> Value {
    json!({"jwk": {"kty": "EC", "crv": "P-256",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}})
}

fn open_payment(constraints: Value) -> Value {
    json!({"vct": OPEN_PAYMENT_VCT, "cnf": cnf(), "constraints": constraints})
}

fn closed_payment(overrides: Value) -> Value {
    with(
        json!({
            "vct": PAYMENT_VCT,
            "transaction_id": "tx-9f2",
            "payee": {"id": "m-42", "name": "Corner Shop"},
            "payment_amount": {"amount": 1000, "currency": "USD"},
            "payment_instrument": {"id": "card-7", "type": "card"}
        }),
        overrides,
    )
}

fn open_checkout(constraints: Value) -> Value {
    json!({"vct": OPEN_CHECKOUT_VCT, "cnf": cnf(), "constraints": constraints})
}

fn closed_checkout(checkout_jwt: &str) -> Value {
    json!({"vct": CHECKOUT_VCT, "checkout_jwt": checkout_jwt, "checkout_hash": "h-closed"})
}

fn run(payloads: &[Value], context: &MandateContext) -> Result<MandateReport, Ap2Violation> {
    let maps: Vec<Map<String, Value>> = payloads.iter().cloned().map(object).collect();
    evaluate_chain(&maps, context)
}

fn pisp(legal: &str, brand: &str, domain: &str) -> Value {
    json!({"legal_name": legal, "brand_name": brand, "domain_name": domain})
}

fn usage(total_amount: i64, total_uses: i64) -> MandateContext {
    MandateContext::payment().with_usage(MandateUsage::new(total_amount, total_uses))
}

/// What a case expects: accepted, or refused with exactly these SDK messages.
enum Expect {
    Accepted,
    Refused(&'static [&'static str]),
}

struct Case {
    name: &'static str,
    payloads: Vec<Value>,
    context: MandateContext,
    expect: Expect,
}

fn case(name: &'static str, payloads: Vec<Value>, context: MandateContext, expect: Expect) -> Case {
    Case {
        name,
        payloads,
        context,
        expect,
    }
}

/// Runs every case; returns the codes seen.
fn check(cases: Vec<Case>) -> BTreeSet<ViolationCode> {
    let mut seen = BTreeSet::new();
    for Case {
        name,
        payloads,
        context,
        expect,
    } in cases
    {
        let result = run(&payloads, &context);
        match (expect, result) {
            (Expect::Accepted, Ok(_)) => {}
            (Expect::Refused(expected), Err(refusal)) => {
                let messages: Vec<&str> = refusal
                    .violations()
                    .iter()
                    .map(|v| v.message.as_str())
                    .collect();
                assert_eq!(messages, expected, "{name}");
                assert!(refusal.matches_sdk(expected), "{name}: codes");
                seen.extend(refusal.violations().iter().map(|v| v.code));
            }
            (Expect::Accepted, Err(refusal)) => panic!("{name}: refused: {refusal}"),
            (Expect::Refused(_), Ok(report)) => panic!("{name}: accepted: {report:?}"),
        }
    }
    seen
}

fn payment_cases() -> Vec<Case> {
    use Expect::{Accepted, Refused};
    let pay = MandateContext::payment;
    let range = |min: Value, max: i64| {
        let mut constraint = json!({"type": "payment.amount_range", "currency": "USD", "max": max});
        if !min.is_null() {
            constraint["min"] = min;
        }
        open_payment(json!([constraint]))
    };
    let amount = |value: i64, currency: &str| {
        closed_payment(json!({"payment_amount": {"amount": value, "currency": currency}}))
    };
    let payees = open_payment(json!([{"type": "payment.allowed_payees",
        "allowed": [{"id": "m-42", "name": "Corner Shop"}]}]));
    let reference = open_payment(json!([{"type": "payment.reference",
        "conditional_transaction_id": "open-checkout-digest"}]));
    let instruments = open_payment(json!([{"type": "payment.allowed_payment_instruments",
        "allowed": [{"id": "card-7", "type": "card"}]}]));
    let budget = |max: f64, currency: &str| {
        open_payment(json!([{"type": "payment.budget", "max": max, "currency": currency}]))
    };
    let window = open_payment(json!([{"type": "payment.execution_date",
        "not_before": "2025-01-01", "not_after": "2025-12-31"}]));
    let date = |value: Value| closed_payment(json!({"execution_date": value}));
    let pisps = open_payment(json!([{"type": "payment.allowed_pisps",
        "allowed": [pisp("Pay Init Ltd", "PayInit", "payinit.example")]}]));
    let preset = |members: Value| with(open_payment(json!([])), members);
    let recurring = |max_occurrences: Value, with_range: bool, with_budget: bool| {
        let mut constraints = vec![
            json!({"type": "payment.agent_recurrence", "frequency": "DAILY", "max_occurrences": max_occurrences}),
        ];
        if with_range {
            constraints.push(
                json!({"type": "payment.amount_range", "currency": "USD", "min": 100, "max": 2000}),
            );
        }
        if with_budget {
            constraints.push(json!({"type": "payment.budget", "max": 5000, "currency": "USD"}));
        }
        open_payment(Value::Array(constraints))
    };
    vec![
        case("empty constraints are satisfied", vec![open_payment(json!([])), closed_payment(json!({}))], pay(), Accepted),
        // payment.amount_range
        case("an amount within the range is accepted", vec![range(json!(500), 5000), amount(1500, "USD")], pay(), Accepted),
        case("a closed payment below the open amount range is refused",
            vec![range(json!(1000), 5000), amount(500, "USD")], pay(),
            Refused(&["Amount 500 below minimum 1000"])),
        case("a closed payment above the open amount range is refused",
            vec![range(json!(1000), 5000), amount(6000, "USD")], pay(),
            Refused(&["Amount 6000 exceeds maximum 5000"])),
        case("a closed payment in another currency than the range is refused",
            vec![range(Value::Null, 50000), amount(1000, "EUR")], pay(),
            Refused(&["Currency mismatch: expected USD, got EUR"])),
        case("a range without a minimum checks the maximum only", vec![range(Value::Null, 2000), amount(1500, "USD")], pay(), Accepted),
        case("zero at a zero minimum is within the range", vec![range(json!(0), 5000), amount(0, "USD")], pay(), Accepted),
        case("the minimum itself is within the range", vec![range(json!(1000), 5000), amount(1000, "USD")], pay(), Accepted),
        case("the maximum itself is within the range", vec![range(json!(1000), 5000), amount(5000, "USD")], pay(), Accepted),
        case("a very large maximum", vec![range(json!(1000), 999_999_999), amount(999_999, "USD")], pay(), Accepted),
        // payment.allowed_payees
        case("a payee in the allowed list (by id) is accepted", vec![payees.clone(), closed_payment(json!({}))], pay(), Accepted),
        case("a payee outside the allowed list is refused",
            vec![payees.clone(), closed_payment(json!({"payee": {"id": "m-13", "name": "Other Shop"}}))], pay(),
            Refused(&["Payee Other Shop not in allowed list"])),
        case("every constraint is evaluated and every violation listed",
            vec![open_payment(json!([
                {"type": "payment.amount_range", "currency": "USD", "max": 500},
                {"type": "payment.allowed_payees", "allowed": [{"id": "m-42", "name": "Corner Shop"}]}])),
                closed_payment(json!({"payee": {"id": "m-13", "name": "Other Shop"}}))], pay(),
            Refused(&["Amount 1000 exceeds maximum 500", "Payee Other Shop not in allowed list"])),
        // payment.reference
        case("a payment reference naming the open checkout is accepted",
            vec![reference.clone(), closed_payment(json!({}))],
            pay().with_expected_open_checkout_hash("open-checkout-digest"), Accepted),
        case("a payment reference naming another open checkout is refused",
            vec![reference.clone(), closed_payment(json!({}))],
            pay().with_expected_open_checkout_hash("another-digest"),
            Refused(&["PaymentReference mismatch: expected open checkout hash open-checkout-digest, got another-digest"])),
        case("a payment reference without the open checkout hash is refused",
            vec![reference.clone(), closed_payment(json!({}))], pay(),
            Refused(&["open_checkout_hash is required to evaluate PaymentReference constraints"])),
        case("an empty open checkout hash counts as none",
            vec![reference, closed_payment(json!({}))], pay().with_expected_open_checkout_hash(""),
            Refused(&["open_checkout_hash is required to evaluate PaymentReference constraints"])),
        // payment.allowed_payment_instruments
        case("an allowed payment instrument is accepted", vec![instruments.clone(), closed_payment(json!({}))], pay(), Accepted),
        case("a payment instrument outside the allowed list is refused",
            vec![instruments, closed_payment(json!({"payment_instrument": {"id": "card-8", "type": "card"}}))], pay(),
            Refused(&["Payment instrument card-8 not in allowed list"])),
        // payment.budget
        case("a payment within the budget is accepted", vec![budget(15.0, "USD"), closed_payment(json!({}))], usage(0, 0), Accepted),
        case("a payment above the budget is refused",
            vec![budget(5.0, "USD"), closed_payment(json!({}))], usage(0, 0),
            Refused(&["Cumulative spend 1000 exceeds budget limit 500 (past spend: 0)"])),
        case("past spend plus the payment above the budget is refused",
            vec![budget(15.0, "USD"), closed_payment(json!({}))], usage(600, 1),
            Refused(&["Cumulative spend 1600 exceeds budget limit 1500 (past spend: 600)"])),
        case("a budget in another currency is refused",
            vec![budget(10.0, "EUR"), closed_payment(json!({}))], pay(),
            Refused(&["Budget currency mismatch: expected EUR, got USD"])),
        case("a budget without usage context is refused",
            vec![budget(10.0, "USD"), closed_payment(json!({}))], pay(),
            Refused(&["Missing mandate context required to evaluate budget"])),
        case("a budget of 0.29 allows 28 cents, as the SDK's float product does",
            vec![budget(0.29, "USD"), closed_payment(json!({"payment_amount": {"amount": 29, "currency": "USD"}}))],
            usage(0, 0), Refused(&["Cumulative spend 29 exceeds budget limit 28 (past spend: 0)"])),
        // payment.execution_date
        case("an execution date within the window is accepted", vec![window.clone(), date(json!("2025-06-01"))], pay(), Accepted),
        case("an execution date before the window is refused",
            vec![window.clone(), date(json!("2024-12-31"))], pay(),
            Refused(&["Execution date 2024-12-31 is before allowed window 2025-01-01"])),
        case("an execution date after the window is refused",
            vec![window.clone(), date(json!("2026-01-01"))], pay(),
            Refused(&["Execution date 2026-01-01 is after allowed window 2025-12-31"])),
        case("no execution date (immediate) passes the window", vec![window, date(Value::Null)], pay(), Accepted),
        // payment.allowed_pisps
        case("an allowed PISP is accepted",
            vec![pisps.clone(), closed_payment(json!({"pisp": pisp("Pay Init Ltd", "PayInit", "payinit.example")}))], pay(), Accepted),
        case("a PISP outside the allowed list is refused",
            vec![pisps.clone(), closed_payment(json!({"pisp": pisp("Other Ltd", "Other", "other.example")}))], pay(),
            Refused(&["PISP legal_name='Other Ltd' brand_name='Other' domain_name='other.example' not in allowed list"])),
        case("allowed PISPs and none in the closed mandate is refused",
            vec![pisps, closed_payment(json!({}))], pay(),
            Refused(&["Missing PISP in closed mandate"])),
        // check_preset_payment_claims
        case("a pre-set payee repeated is accepted",
            vec![preset(json!({"payee": {"id": "m-42", "name": "Corner Shop"}})), closed_payment(json!({}))], pay(), Accepted),
        case("a pre-set payee changed is refused",
            vec![preset(json!({"payee": {"id": "m-42", "name": "Corner Shop"}})),
                closed_payment(json!({"payee": {"id": "m-13", "name": "Other Shop"}}))], pay(),
            Refused(&["Pre-set payee mismatch: expected Corner Shop, got Other Shop"])),
        case("a pre-set amount repeated is accepted",
            vec![preset(json!({"payment_amount": {"amount": 1000, "currency": "USD"}})), closed_payment(json!({}))], pay(), Accepted),
        case("a pre-set amount changed is refused",
            vec![preset(json!({"payment_amount": {"amount": 1000, "currency": "USD"}})),
                closed_payment(json!({"payment_amount": {"amount": 2000, "currency": "USD"}}))], pay(),
            Refused(&["Pre-set amount mismatch: expected amount=1000 currency='USD', got amount=2000 currency='USD'"])),
        case("a pre-set payment instrument repeated is accepted",
            vec![preset(json!({"payment_instrument": {"id": "card-7", "type": "card"}})), closed_payment(json!({}))], pay(), Accepted),
        case("a pre-set payment instrument changed is refused",
            vec![preset(json!({"payment_instrument": {"id": "card-7", "type": "card"}})),
                closed_payment(json!({"payment_instrument": {"id": "acct-2", "type": "bank"}}))], pay(),
            Refused(&["Pre-set payment_instrument mismatch"])),
        case("a pre-set instrument is compared with its description too",
            vec![preset(json!({"payment_instrument": {"id": "card-7", "type": "card", "description": "Visa"}})),
                closed_payment(json!({}))], pay(),
            Refused(&["Pre-set payment_instrument mismatch"])),
        case("a pre-set execution date repeated is accepted",
            vec![preset(json!({"execution_date": "2025-01-01"})), closed_payment(json!({"execution_date": "2025-01-01"}))], pay(), Accepted),
        case("a pre-set execution date changed is refused",
            vec![preset(json!({"execution_date": "2025-01-01"})), closed_payment(json!({"execution_date": "2025-12-31"}))], pay(),
            Refused(&["Pre-set execution_date mismatch: expected 2025-01-01, got 2025-12-31"])),
        case("a pre-set execution date dropped is refused",
            vec![preset(json!({"execution_date": "2025-01-01"})), closed_payment(json!({}))], pay(),
            Refused(&["Pre-set execution_date mismatch: expected 2025-01-01, got None"])),
        // payment.agent_recurrence
        case("a recurring mandate never used is accepted", vec![recurring(json!(1), true, true), closed_payment(json!({}))], usage(0, 0), Accepted),
        case("a recurring mandate used fewer times than allowed is accepted",
            vec![recurring(json!(2), true, true), closed_payment(json!({}))], usage(1000, 1), Accepted),
        case("a recurring mandate used max_occurrences times is refused",
            vec![recurring(json!(1), true, true), closed_payment(json!({}))], usage(1000, 1),
            Refused(&["Maximum occurrences exceeded: 1 >= 1"])),
        case("a recurring mandate without max_occurrences counts nothing",
            vec![recurring(Value::Null, true, true), closed_payment(json!({}))], usage(1000, 100), Accepted),
        case("recurrence without an amount range is refused",
            vec![recurring(json!(1), false, true), closed_payment(json!({}))], usage(0, 0),
            Refused(&["payment.agent_recurrence requires payment.amount_range constraint"])),
        case("recurrence without a budget is refused",
            vec![recurring(json!(1), true, false), closed_payment(json!({}))], usage(0, 0),
            Refused(&["payment.agent_recurrence requires payment.budget constraint"])),
        case("recurrence with max_occurrences and no usage context is refused",
            vec![recurring(json!(1), true, true), closed_payment(json!({}))], pay(),
            Refused(&["Missing mandate context required to evaluate recurrence",
                "Missing mandate context required to evaluate budget"])),
        // PaymentMandateChain.verify
        case("the expected transaction id is accepted",
            vec![open_payment(json!([])), closed_payment(json!({}))], pay().with_expected_transaction_id("tx-9f2"), Accepted),
        case("another transaction id than expected is refused",
            vec![open_payment(json!([])), closed_payment(json!({}))], pay().with_expected_transaction_id("tx-expected"),
            Refused(&["Payment transaction_id mismatch: expected tx-expected, got tx-9f2"])),
        case("the amount range is checked on the payment chain",
            vec![open_payment(json!([{"type": "payment.amount_range", "currency": "USD", "max": 5000}])),
                closed_payment(json!({"payment_amount": {"amount": 10000, "currency": "USD"}}))], pay(),
            Refused(&["Amount 10000 exceeds maximum 5000"])),
    ]
}

fn checkout_cases() -> Vec<Case> {
    use Expect::{Accepted, Refused};
    let store = json!({"id": "m-1", "name": "Good Store"});
    let with_store = jwt(&checkout_payload(Some(store.clone()), &[("SKU-A", 2)]));
    let evil = jwt(&checkout_payload(
        Some(json!({"id": "m-999", "name": "Evil Store"})),
        &[("SKU-A", 2)],
    ));
    let no_merchant = jwt(&checkout_payload(None, &[("SKU-A", 2)]));
    let empty_cart = jwt(&checkout_payload(Some(store.clone()), &[]));
    let merchants =
        open_checkout(json!([{"type": "checkout.allowed_merchants", "allowed": [store]}]));
    let line_items = |quantity: i64| {
        open_checkout(json!([{"type": "checkout.line_items", "items": [
            {"id": "req-1", "acceptable_items": [{"id": "SKU-A", "title": "Widget"}], "quantity": quantity}]}]))
    };
    let ctx = |checkout_jwt: &str| MandateContext::checkout(checkout_jwt);
    vec![
        case("empty checkout constraints are satisfied",
            vec![open_checkout(json!([])), closed_checkout(&with_store)], ctx(&with_store), Accepted),
        case("an allowed merchant is accepted",
            vec![merchants.clone(), closed_checkout(&with_store)], ctx(&with_store), Accepted),
        case("a merchant outside the allowed list is refused",
            vec![merchants.clone(), closed_checkout(&evil)], ctx(&evil),
            Refused(&["Merchant Evil Store not in allowed list"])),
        case("allowed merchants and a checkout without a merchant is refused",
            vec![merchants, closed_checkout(&no_merchant)], ctx(&no_merchant),
            Refused(&["Missing merchant in checkout"])),
        case("line items within the requirement are accepted",
            vec![line_items(2), closed_checkout(&with_store)], ctx(&with_store), Accepted),
        case("line items above the requirement are refused",
            vec![line_items(1), closed_checkout(&with_store)], ctx(&with_store),
            Refused(&["Cannot satisfy line item constraints: SKU-A (1) could not be assigned to any requirement slot"])),
        case("an empty cart never satisfies a line-items constraint",
            vec![line_items(2), closed_checkout(&empty_cart)], ctx(&empty_cart),
            Refused(&["Empty cart does not satisfy line_items constraint"])),
        case("the expected checkout hash is accepted",
            vec![open_checkout(json!([])), closed_checkout(&with_store)],
            ctx(&with_store).with_expected_checkout_hash("h-closed"), Accepted),
        case("another checkout hash than expected is refused",
            vec![open_checkout(json!([])), closed_checkout(&with_store)],
            ctx(&with_store).with_expected_checkout_hash("h-expected"),
            Refused(&["Checkout checkout_hash mismatch: expected h-expected, got h-closed"])),
        case("no checkout JWT to evaluate is refused, and nothing else checked",
            vec![line_items(1), closed_checkout(&with_store)],
            MandateContext::default().with_expected_checkout_hash("h-expected"),
            Refused(&["checkout_jwt is required to verify checkout constraints."])),
        case("a checkout JWT that is not three parts is refused",
            vec![open_checkout(json!([])), closed_checkout("not-a-jwt")], ctx("not-a-jwt"),
            Refused(&["Malformed checkout_jwt: expected header.payload.signature"])),
    ]
}

#[test]
fn payment_chains_follow_the_sdk_rules() {
    check(payment_cases());
}

#[test]
fn checkout_chains_follow_the_sdk_rules() {
    check(checkout_cases());
}

/// Each rule has an accepted and a refused case: every SDK violation code is
/// produced by some case above (or by the checkout and line-item tests).
#[test]
fn every_sdk_violation_code_is_exercised() {
    let mut seen = check(payment_cases());
    seen.extend(check(checkout_cases()));
    let elsewhere = [
        // checkout::tests
        ViolationCode::CheckoutJwtBase64,
        ViolationCode::CheckoutJwtJson,
        ViolationCode::CheckoutJwtSchema,
        // line_items::tests
        ViolationCode::LineItemNotAcceptable,
        // a_checkout_jwt_other_than_the_closed_mandates_is_refused
        ViolationCode::CheckoutJwtNotClosed,
    ];
    seen.extend(elsewhere);
    let missing: Vec<_> = ViolationCode::ALL
        .iter()
        .filter(|code| !seen.contains(code))
        .collect();
    assert!(missing.is_empty(), "no case for {missing:?}");
}

#[test]
fn a_checkout_jwt_other_than_the_closed_mandates_is_refused() {
    let mandated = jwt(&checkout_payload(None, &[("SKU-A", 1)]));
    let other = jwt(&checkout_payload(None, &[("SKU-B", 1)]));
    let refusal = run(
        &[open_checkout(json!([])), closed_checkout(&mandated)],
        &MandateContext::checkout(other),
    )
    .unwrap_err();
    let codes: Vec<_> = refusal.violations().iter().map(|v| v.code).collect();
    assert_eq!(codes, [ViolationCode::CheckoutJwtNotClosed]);
    assert!(!ViolationCode::CheckoutJwtNotClosed.is_sdk());
    // The SDK reports nothing here, so the lists do not match.
    assert!(!refusal.matches_sdk::<&str>(&[]));
}

#[test]
fn an_accepted_chain_reports_its_mandates_and_checks() {
    let checkout = jwt(&checkout_payload(
        Some(json!({"id": "m-1", "name": "Good Store"})),
        &[("SKU-A", 2)],
    ));
    let report = run(
        &[
            open_checkout(json!([
                {"type": "checkout.allowed_merchants", "allowed": [{"id": "m-1", "name": "Good Store"}]},
                {"type": "checkout.line_items", "items": [{"id": "r", "acceptable_items": [], "quantity": 2}]}
            ])),
            closed_checkout(&checkout),
        ],
        &MandateContext::checkout(checkout.clone()).with_expected_checkout_hash("h-closed"),
    )
    .unwrap();
    assert_eq!(report.kind(), ChainKind::Checkout);
    let rules: Vec<_> = report
        .checks
        .iter()
        .map(|c| (c.payload, c.rule, c.sdk))
        .collect();
    assert_eq!(
        rules,
        [
            (None, "checkout.checkout_jwt_is_the_closed_mandates", None),
            (
                None,
                "checkout.checkout_jwt",
                Some("CheckoutMandateChain.extract_parsed_checkout_object")
            ),
            (
                Some(0),
                "checkout.allowed_merchants",
                Some("AllowedMerchantsEvaluator")
            ),
            (Some(0), "checkout.line_items", Some("LineItemsEvaluator")),
            (
                None,
                "checkout.checkout_hash",
                Some("CheckoutMandateChain.verify")
            ),
        ]
    );
    let serialized = serde_json::to_value(&report).unwrap();
    assert_eq!(serialized["chain"]["kind"], "checkout");
    assert_eq!(
        serialized["chain"]["open"][0]["constraints"][0]["type"],
        "checkout.allowed_merchants"
    );
    assert_eq!(
        serialized["chain"]["checkout"]["line_items"][0]["item"]["id"],
        "SKU-A"
    );
    assert_eq!(serialized["checks"][2]["sdk"], "AllowedMerchantsEvaluator");
}

/// The SDK's three-step flow (bank → shopping agent → credentials provider): the
/// closed mandate is checked against every open mandate, so an intermediate hop
/// with no constraints does not drop the root's.
#[test]
fn a_longer_chain_is_checked_against_every_open_mandate() {
    let bank = with(
        open_payment(json!([{"type": "payment.amount_range", "currency": "USD", "max": 2500}])),
        json!({"payee": {"id": "m-42", "name": "Corner Shop"}}),
    );
    let agent = open_payment(json!([]));
    let good = closed_payment(json!({"payment_amount": {"amount": 2500, "currency": "USD"}}));
    let report = run(
        &[bank.clone(), agent.clone(), good],
        &MandateContext::payment(),
    )
    .unwrap();
    let Ap2Chain::Payment { open, .. } = &report.chain else {
        panic!("a payment chain")
    };
    assert_eq!(open.len(), 2);

    let widened = closed_payment(json!({
        "payee": {"id": "m-13", "name": "Other Shop"},
        "payment_amount": {"amount": 9000, "currency": "USD"}
    }));
    let refusal = run(&[bank, agent.clone(), widened], &MandateContext::payment()).unwrap_err();
    let found: Vec<_> = refusal
        .violations()
        .iter()
        .map(|v| (v.code, v.payload))
        .collect();
    assert_eq!(
        found,
        [
            (ViolationCode::PresetPayeeMismatch, Some(0)),
            (ViolationCode::AmountAboveMaximum, Some(0)),
        ]
    );

    // The intermediate hop's own constraints bind too.
    let narrowing =
        open_payment(json!([{"type": "payment.amount_range", "currency": "USD", "max": 100}]));
    let refusal = run(
        &[agent, narrowing, closed_payment(json!({}))],
        &MandateContext::payment(),
    )
    .unwrap_err();
    assert_eq!(refusal.violations()[0].payload, Some(1));
}

#[test]
fn a_sequence_that_is_no_ap2_chain_cannot_be_checked() {
    let open = open_payment(json!([]));
    let closed = closed_payment(json!({}));
    let checkout_open = open_checkout(json!([]));
    let cases: Vec<(&str, Vec<Value>)> = vec![
        ("no payloads", vec![]),
        ("an open mandate alone", vec![open.clone()]),
        ("a closed mandate alone", vec![closed.clone()]),
        ("nothing closes the chain", vec![open.clone(), open.clone()]),
        (
            "a closed mandate before the end",
            vec![closed.clone(), closed.clone()],
        ),
        ("kinds mixed", vec![checkout_open, closed.clone()]),
        (
            "an unknown vct",
            vec![
                with(open.clone(), json!({"vct": "mandate.intent.1"})),
                closed.clone(),
            ],
        ),
    ];
    for (name, payloads) in cases {
        let result = run(&payloads, &MandateContext::payment());
        assert!(
            matches!(result, Err(Ap2Violation::UnsupportedChain(_))),
            "{name}: {result:?}"
        );
    }
    let no_vct = with(open, json!({"vct": null}));
    let result = run(&[no_vct, closed], &MandateContext::payment());
    assert!(
        matches!(result, Err(Ap2Violation::Malformed { payload: 0, .. })),
        "{result:?}"
    );
}

#[test]
fn an_unknown_constraint_type_refuses_the_chain() {
    let open = open_payment(json!([
        {"type": "payment.amount_range", "currency": "USD", "max": 5000},
        {"type": "payment.merchant_category", "allowed": ["5411"]}
    ]));
    let result = run(
        &[open, closed_payment(json!({}))],
        &MandateContext::payment(),
    );
    assert_eq!(
        result.unwrap_err(),
        Ap2Violation::UnknownConstraint {
            payload: 0,
            index: 1,
            constraint_type: "payment.merchant_category".into()
        }
    );
    let open = open_checkout(json!([{"type": "payment.budget", "max": 5, "currency": "USD"}]));
    let checkout = jwt(&checkout_payload(None, &[("A", 1)]));
    let result = run(
        &[open, closed_checkout(&checkout)],
        &MandateContext::checkout(checkout.clone()),
    );
    assert_eq!(result.unwrap_err().code(), "unknown_constraint");
}

#[test]
fn a_malformed_mandate_cannot_be_checked() {
    let result = run(
        &[
            open_payment(json!([])),
            closed_payment(json!({"payee": null})),
        ],
        &MandateContext::payment(),
    );
    match result {
        Err(Ap2Violation::Malformed {
            payload,
            vct,
            reason,
        }) => {
            assert_eq!((payload, vct.as_str()), (1, PAYMENT_VCT));
            assert_eq!(reason, "payee: required member missing");
        }
        other => panic!("{other:?}"),
    }
    let result = run(
        &[
            open_payment(json!([{"type": "payment.budget", "max": 1e307, "currency": "USD"}])),
            closed_payment(json!({})),
        ],
        &MandateContext::payment(),
    );
    assert!(result.unwrap_err().could_not_check());
}

#[test]
fn a_context_for_the_other_kind_of_chain_is_refused() {
    let payment = [open_payment(json!([])), closed_payment(json!({}))];
    for context in [
        MandateContext::checkout("a.b.c"),
        MandateContext::payment().with_expected_checkout_hash("h"),
    ] {
        assert!(matches!(
            run(&payment, &context),
            Err(Ap2Violation::InvalidContext(_))
        ));
    }
    let checkout = jwt(&checkout_payload(None, &[("A", 1)]));
    let chain = [open_checkout(json!([])), closed_checkout(&checkout)];
    for context in [
        MandateContext::checkout(checkout.clone()).with_expected_transaction_id("tx"),
        MandateContext::checkout(checkout.clone()).with_expected_open_checkout_hash("h"),
        MandateContext::checkout(checkout.clone()).with_usage(MandateUsage::default()),
    ] {
        assert!(matches!(
            run(&chain, &context),
            Err(Ap2Violation::InvalidContext(_))
        ));
    }
}

#[test]
fn a_chain_at_the_payload_limit_is_evaluated_and_one_longer_is_not() {
    let mut payloads = vec![open_payment(json!([])); MAX_CHAIN_PAYLOADS - 1];
    payloads.push(closed_payment(json!({})));
    assert!(run(&payloads, &MandateContext::payment()).is_ok());
    payloads.insert(0, open_payment(json!([])));
    assert!(matches!(
        run(&payloads, &MandateContext::payment()),
        Err(Ap2Violation::LimitExceeded(_))
    ));
}

#[test]
fn line_item_matching_is_refused_above_its_limits() {
    let requirement = |ids: &[String]| {
        let acceptable: Vec<Value> = ids
            .iter()
            .map(|id| json!({"id": id, "title": id}))
            .collect();
        json!({"id": "r", "acceptable_items": acceptable, "quantity": 1})
    };
    let ids: Vec<String> = (0..MAX_LINE_ITEMS + 1)
        .map(|i| format!("sku-{i}"))
        .collect();
    let lines = |count: usize| -> Vec<(&str, i64)> {
        ids[..count].iter().map(|id| (id.as_str(), 1)).collect()
    };
    let evaluate = |count: usize, requirements: usize| {
        let checkout = jwt(&checkout_payload(None, &lines(count)));
        let items = vec![requirement(&ids); requirements];
        run(
            &[
                open_checkout(json!([{"type": "checkout.line_items", "items": items}])),
                closed_checkout(&checkout),
            ],
            &MandateContext::checkout(checkout.clone()),
        )
    };
    // 256 lines × 256 requirements is the largest matching: it runs (and fits).
    assert!(evaluate(MAX_LINE_ITEMS, MAX_REQUIREMENTS).is_ok());
    assert!(matches!(
        evaluate(MAX_LINE_ITEMS + 1, 1),
        Err(Ap2Violation::LimitExceeded(_))
    ));
    // Two constraints of 256 requirements over 256 ids: 131 072 edges in the chain.
    let checkout = jwt(&checkout_payload(None, &lines(MAX_LINE_ITEMS)));
    let items = vec![requirement(&ids); MAX_REQUIREMENTS];
    let constraint = json!({"type": "checkout.line_items", "items": items});
    let result = run(
        &[
            open_checkout(json!([constraint.clone(), constraint])),
            closed_checkout(&checkout),
        ],
        &MandateContext::checkout(checkout.clone()),
    );
    assert!(
        matches!(result, Err(Ap2Violation::LimitExceeded(_))),
        "{result:?}"
    );
}

/// The SDK's strings, as its f-strings print them, map to their codes; other
/// strings map to none.
#[test]
fn sdk_violation_strings_map_to_their_codes() {
    let cases = [
        (
            "checkout_jwt is required to verify checkout constraints.",
            ViolationCode::CheckoutJwtRequired,
        ),
        (
            "Malformed checkout_jwt: expected header.payload.signature",
            ViolationCode::CheckoutJwtMalformed,
        ),
        (
            "Base64 decoding failed for checkout_jwt: Incorrect padding",
            ViolationCode::CheckoutJwtBase64,
        ),
        (
            "Invalid JSON in checkout_jwt payload: Expecting value: line 1 column 1 (char 0)",
            ViolationCode::CheckoutJwtJson,
        ),
        (
            "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte",
            ViolationCode::CheckoutJwtJson,
        ),
        (
            "checkout_jwt payload failed schema validation: 1 validation error for Checkout",
            ViolationCode::CheckoutJwtSchema,
        ),
        (
            "Merchant  not in allowed list",
            ViolationCode::MerchantNotAllowed,
        ),
        (
            "Payee x not in allowed list",
            ViolationCode::PayeeNotAllowed,
        ),
        (
            "Item SKU-1 not in any requirement's acceptable items",
            ViolationCode::LineItemNotAcceptable,
        ),
        (
            "Amount -5 below minimum 0",
            ViolationCode::AmountBelowMinimum,
        ),
        (
            "Cumulative spend 1600 exceeds budget limit 1500 (past spend: 600)",
            ViolationCode::BudgetExceeded,
        ),
    ];
    for (message, code) in cases {
        assert_eq!(
            ViolationCode::from_sdk_message(message),
            Some(code),
            "{message}"
        );
    }
    for other in [
        "",
        "Amount",
        "Payment instrument",
        "anything else",
        "Missing PISP",
    ] {
        assert_eq!(ViolationCode::from_sdk_message(other), None, "{other}");
    }
    // A refusal matches an SDK list with the same codes in any order, and no other.
    let refusal = run(
        &[
            open_payment(json!([
                {"type": "payment.amount_range", "currency": "USD", "max": 500},
                {"type": "payment.allowed_payees", "allowed": [{"id": "m-1", "name": "A"}]}])),
            closed_payment(json!({})),
        ],
        &MandateContext::payment(),
    )
    .unwrap_err();
    assert!(refusal.matches_sdk(&[
        "Payee Corner Shop not in allowed list",
        "Amount 1000 exceeds maximum 500"
    ]));
    assert!(!refusal.matches_sdk(&["Amount 1000 exceeds maximum 500"]));
    assert!(!refusal.matches_sdk(&[
        "Amount 1000 exceeds maximum 500",
        "Payee Corner Shop not in allowed list",
        "Payee Corner Shop not in allowed list"
    ]));
    assert!(refusal.violations()[0].matches_sdk_message("Amount 1 exceeds maximum 0"));
    assert!(!Ap2Violation::UnsupportedChain("x".into()).matches_sdk::<&str>(&[]));
}

/// Codes are unique and stable strings.
#[test]
fn violation_codes_are_unique() {
    let names: BTreeSet<&str> = ViolationCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(names.len(), ViolationCode::ALL.len());
}
