//! The AP2 v0.2 mandate vocabulary: is a closed mandate within the open mandates it
//! closes?
//!
//! AP2 (the Agent Payments Protocol) hands an agent an *open* mandate — what it may
//! buy or pay, as constraints — and the agent answers with a *closed* mandate, one
//! concrete checkout or payment, as the last hop of a Delegate SD-JWT chain. Once the
//! chain's signatures are verified, [`evaluate_chain`] takes the effective payload
//! of each hop and decides, offline and without I/O, whether the closed mandate
//! satisfies every constraint, evaluated as the AP2 v0.2 Python SDK (`ap2.sdk`,
//! `constraints.py`, `checkout_mandate_chain.py`, `payment_mandate_chain.py`,
//! `max_flow_helper.py`) evaluates it.
//!
//! ```
//! use agentid_verifier::ap2::{evaluate_chain, Ap2Violation, MandateContext, ViolationCode};
//! use serde_json::json;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let open = json!({
//!     "vct": "mandate.payment.open.1",
//!     "cnf": {"jwk": {"kty": "EC", "crv": "P-256", "x": "…", "y": "…"}},
//!     "constraints": [
//!         {"type": "payment.amount_range", "currency": "USD", "max": 5000},
//!         {"type": "payment.allowed_payees", "allowed": [{"id": "M-1", "name": "Cat Store"}]}
//!     ]
//! });
//! let closed = json!({
//!     "vct": "mandate.payment.1",
//!     "transaction_id": "tx_abc",
//!     "payee": {"id": "M-1", "name": "Cat Store"},
//!     "payment_amount": {"amount": 2500, "currency": "USD"},
//!     "payment_instrument": {"id": "stub", "type": "card"}
//! });
//! let payloads = [open.as_object().cloned().unwrap_or_default(), closed.as_object().cloned().unwrap_or_default()];
//! let context = MandateContext::payment().with_expected_transaction_id("tx_abc");
//! let report = evaluate_chain(&payloads, &context)?;
//! assert_eq!(report.checks.len(), 3);
//!
//! // 7500 is above the open mandate's maximum: refused, with the SDK's message.
//! let mut over = payloads.clone();
//! over[1]["payment_amount"] = json!({"amount": 7500, "currency": "USD"});
//! let refused = evaluate_chain(&over, &context).unwrap_err();
//! assert_eq!(refused.violations()[0].code, ViolationCode::AmountAboveMaximum);
//! assert!(refused.matches_sdk(&["Amount 7500 exceeds maximum 5000"]));
//! assert!(matches!(refused, Ap2Violation::Refused(_)));
//! # Ok(())
//! # }
//! ```
//!
//! # Chains
//!
//! The kind comes from the `vct`s: `mandate.checkout.open.1` … then
//! `mandate.checkout.1` is a checkout chain, `mandate.payment.open.1` … then
//! `mandate.payment.1` a payment chain. Anything else — a closed mandate before the
//! end, an open one at the end, kinds mixed, a `vct` AP2 does not define, fewer than
//! two payloads — is [`Ap2Violation::UnsupportedChain`].
//!
//! The SDK's typed chains take exactly two payloads (open, closed), although its own
//! three-step flow (bank → shopping agent → credentials provider) produces three.
//! agentid takes any number of open mandates (up to [`MAX_CHAIN_PAYLOADS`] payloads)
//! and checks the closed mandate against **every** one of them, each with the SDK's
//! two-payload rules and the same context. Not only the last: AP2 does not check
//! that an intermediate open mandate narrows its parent, so an intermediate hop
//! could drop the root's constraints (an empty `constraints`, no pre-set payee), and
//! checking the last open mandate alone would let it. Every delegator in the path
//! authorized the closed mandate only if it is within every open mandate. For a
//! two-payload chain this is exactly the SDK's check. The context's usage applies
//! to every open mandate (the store tracks the chain's mandate, not each hop).
//!
//! # Rules
//!
//! Violations come in the SDK's order: per open mandate, root first, its pre-set
//! claims, then recurrence's companions, then each constraint in its order; then the
//! checks of the closed mandate against the context.
//!
//! | rule | SDK function | violation codes |
//! |---|---|---|
//! | pre-set `payee` (by [`merchant_matches`](#merchants)), `payment_amount`, `payment_instrument`, `execution_date` must be repeated | `check_preset_payment_claims` | `payment.preset.*` |
//! | `payment.agent_recurrence` needs a `payment.amount_range` and a `payment.budget` in the same mandate | `check_payment_constraints` | `payment.agent_recurrence.requires_*` |
//! | `payment.amount_range`: currency (unless empty), `min` ≤ amount ≤ `max`, minor units | `AmountRangeEvaluator` | `payment.amount_range.*` |
//! | `payment.allowed_payees`: the payee matches one | `AllowedPayeeEvaluator` | `payment.allowed_payees.not_allowed` |
//! | `payment.reference`: `conditional_transaction_id` is the context's open checkout hash | `PaymentReferenceEvaluator` | `payment.reference.*` |
//! | `payment.agent_recurrence`: uses so far < `max_occurrences` (the frequency is read, not enforced: the SDK counts all uses) | `AgentRecurrenceEvaluator` | `payment.agent_recurrence.*` |
//! | `payment.allowed_payment_instruments`: the instrument's `id` is one's | `AllowedPaymentInstrumentEvaluator` | `payment.allowed_payment_instruments.not_allowed` |
//! | `payment.allowed_pisps`: a PISP, equal in all three names to one | `AllowedPispEvaluator` | `payment.allowed_pisps.*` |
//! | `payment.budget`: same currency; past spend + amount ≤ `int(max × 100)` (a float product, truncated) | `BudgetEvaluator` | `payment.budget.*` |
//! | `payment.execution_date`: no date passes; else `not_before` ≤ date ≤ `not_after`, as strings | `ExecutionDateEvaluator` | `payment.execution_date.*` |
//! | the expected `transaction_id` | `PaymentMandateChain.verify` | `payment.transaction_id_mismatch` |
//! | a checkout JWT is given, and is a UCP Checkout | `CheckoutMandateChain.verify`, `extract_parsed_checkout_object` | `checkout.jwt_*` |
//! | the checkout JWT given is the closed mandate's (agentid only) | — | `checkout.jwt_not_closed` |
//! | `checkout.allowed_merchants`: the checkout's merchant matches one | `AllowedMerchantsEvaluator` | `checkout.allowed_merchants.*` |
//! | `checkout.line_items`: a non-empty cart, every unit in a slot ([`line_items`](#line-items)) | `LineItemsEvaluator`, `evaluate_line_items_max_flow` | `checkout.line_items.*` |
//! | the expected `checkout_hash` | `CheckoutMandateChain.verify` | `checkout.hash_mismatch` |
//!
//! When reading the checkout JWT fails, that is the only violation (the SDK returns
//! there). Nothing reads a clock: the SDK's constraint checks do not (see
//! [`MandateContext`]).
//!
//! ## Merchants
//!
//! Two merchants match by `id` when both have a non-empty one, otherwise by `name`
//! and `website`, both non-empty and equal (`merchant_matches`).
//!
//! ## Line items
//!
//! Quantities are summed per item id; each id must be acceptable to some
//! requirement (unless one is a wildcard, with no `acceptable_items`), and every
//! unit must fit a requirement's `quantity`, found as a maximum flow with the SDK's
//! greedy step and Dinic's algorithm in the SDK's edge order, so the units reported
//! unassigned are the SDK's too.
//!
//! # Unknown constraints
//!
//! A constraint whose `type` AP2 does not define for its mandate (a payment
//! constraint in an open checkout mandate counts as unknown) cannot be enforced, so
//! the chain is refused: [`Ap2Violation::UnknownConstraint`] (AP2's rule; the SDK's
//! pydantic models fail to validate). A constraint with no `type` is
//! [`Ap2Violation::Malformed`]: the schema requires one (pydantic would pick a
//! constraint class by the members present).
//!
//! # Limits
//!
//! Bounded work on untrusted input; above a limit, [`Ap2Violation::LimitExceeded`]
//! (the SDK has none):
//!
//! | limit | value |
//! |---|---|
//! | payloads in a chain | [`MAX_CHAIN_PAYLOADS`] (10: the delegation verifier's 8 delegations, the root and the closed hop) |
//! | constraints per open mandate | [`MAX_CONSTRAINTS`] (64) |
//! | requirements per `checkout.line_items` | [`MAX_REQUIREMENTS`] (256) |
//! | checkout lines matched by a `checkout.line_items` | [`MAX_LINE_ITEMS`] (256) |
//! | item–requirement edges of all line-item matchings of a chain | [`MAX_FLOW_EDGES`] (65 536: 256 × 256) |
//! | checkout JWT size | [`MAX_CHECKOUT_JWT_BYTES`] (64 KiB); its JSON nests at most 32 deep |
//!
//! Integers (amounts, quantities, usage) are `i64`; a member outside is refused as
//! malformed (Python has no bound).
//!
//! # Where agentid and the SDK differ
//!
//! By refusing what the SDK accepts, never the reverse (as far as differential runs
//! against the SDK found: its test cases and 20 000 random two-payload chains gave
//! the same messages; mutated mandates and checkouts differed only as listed here),
//! except that a longer chain is evaluated (the SDK raises for more than two
//! payloads):
//!
//! - members are read by the JSON Schema's types, not pydantic's lax coercion
//!   (`"1000"` or `true` for an integer are refused); a constraint needs its `type`,
//!   a mandate its `vct` (pydantic defaults both);
//! - the checkout JWT given must be the closed mandate's (`checkout.jwt_not_closed`);
//! - its payload must be strict base64url (or base64) and UTF-8 JSON;
//! - a context member the chain cannot check is refused, not ignored;
//! - the limits above.
//!
//! The SDK does not check the schemas' `contains` (an open payment mandate holds a
//! `payment.reference`, an open checkout mandate a `checkout.line_items`), the
//! merchant's signature on the checkout JWT, or that `checkout_hash` is the hash of
//! `checkout_jwt`; neither does this module (the caller's verifier may).
//!
//! # Comparing with the SDK
//!
//! Every [`ViolationCode`] but `checkout.jwt_not_closed` stands for one SDK message;
//! [`ViolationCode::from_sdk_message`] maps an SDK string to its code and
//! [`Ap2Violation::matches_sdk`] compares a whole SDK violation list with a refusal,
//! code by code. Where the SDK raises (pydantic `ValidationError`, "requires exactly
//! 2 payloads") agentid answers one of the "could not check" variants
//! ([`Ap2Violation::could_not_check`]).

mod chain;
mod checkout;
mod constraints;
mod line_items;
mod mandate;
mod read;
mod tokens;
mod violation;

#[cfg(test)]
mod tests;

pub use chain::{evaluate_chain, Ap2Chain, ChainKind, MandateContext, MandateReport, MandateUsage};
pub use checkout::{Checkout, Item, LineItem};
pub use constraints::CheckMade;
pub use mandate::{
    AcceptableItem, Amount, CheckoutConstraint, CheckoutMandate, Frequency, LineItemRequirement,
    Merchant, OpenCheckoutMandate, OpenPaymentMandate, PaymentConstraint, PaymentInstrument,
    PaymentMandate, Pisp, CHECKOUT_VCT, OPEN_CHECKOUT_VCT, OPEN_PAYMENT_VCT, PAYMENT_VCT,
};
pub use tokens::VerifiedMandateChain;
pub use violation::{Ap2Violation, Violation, ViolationCode};

/// Most payloads a chain may have: the delegation verifier's
/// [`crate::delegation::MAX_DELEGATIONS`], the root and the closed hop.
pub const MAX_CHAIN_PAYLOADS: usize = crate::delegation::MAX_DELEGATIONS + 2;
/// Most constraints an open mandate may have.
pub const MAX_CONSTRAINTS: usize = 64;
/// Most requirements a `checkout.line_items` constraint may have.
pub const MAX_REQUIREMENTS: usize = 256;
/// Most checkout lines a `checkout.line_items` constraint is matched against.
pub const MAX_LINE_ITEMS: usize = 256;
/// Most item–requirement edges the line-item matchings of one chain may build
/// (distinct item ids × requirements, summed over its `checkout.line_items`).
pub const MAX_FLOW_EDGES: usize = 65_536;
/// Largest checkout JWT read.
pub const MAX_CHECKOUT_JWT_BYTES: usize = 64 * 1024;
