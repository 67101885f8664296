//! The verifier's text and JSON inputs from files and the command line; the first
//! byte picks the parser, the rest is its input:
//! - `t`: a trust file (`TrustStore::from_json`);
//! - `p`: predicate text (`Predicate::parse`): an accepted predicate has one or two
//!   bounds in range, not crossed, on a claim in canonical claim-path form (or the
//!   `age>=` shorthand's `birthdate`);
//! - `c`: a claim path (`ClaimPath::from_str`): accepted paths print back to text
//!   that parses to the same path;
//! - `a`: action text `SCOPE RESOURCE [AMOUNT]` (`Action::parse`) and `j`: an action
//!   object (`Action::from_json`): accepted actions pass `Action::check` (non-empty
//!   scope and resource, finite non-negative amount) and survive a JSON round trip;
//! - `k`: a public JWK (`PublicKey::from_jwk`): accepted keys survive a JWK and a
//!   did:key round trip;
//! - `r`: `<resource>\n<granted prefix>[\n<outer prefix>]` (`resource_within`): a
//!   resource within a prefix holds no control character, space, backslash or dot
//!   segment, is within itself, and the rule is transitive.
//!
//! Nothing may panic.
#![no_main]

use agentid_verifier::authorize::Action;
use agentid_verifier::resource::resource_within;
use agentid_verifier::predicate::{Predicate, MAX_VALUE, MIN_VALUE};
use agentid_verifier::{did_key, ClaimPath, PublicKey, TrustStore};
use libfuzzer_sys::fuzz_target;

/// `now` of `seeds/context.json`, in days: the `age>=` shorthand's today.
const TODAY: i64 = 1_800_000_000 / 86_400;

fn predicate(text: &str) {
    let Ok(predicate) = Predicate::parse(text, TODAY) else {
        return;
    };
    assert!(predicate.range_count() >= 1);
    for bound in [predicate.min, predicate.max].into_iter().flatten() {
        assert!((MIN_VALUE..=MAX_VALUE).contains(&bound), "{bound}");
    }
    if let (Some(min), Some(max)) = (predicate.min, predicate.max) {
        assert!(min <= max);
    }
    let path: ClaimPath = predicate.claim.parse().expect("the claim is a claim path");
    assert_eq!(path.to_string(), predicate.claim, "not canonical");
}

fn claim_path(text: &str) {
    let Ok(path) = text.parse::<ClaimPath>() else {
        return;
    };
    let printed = path.to_string();
    assert_eq!(
        printed.parse::<ClaimPath>().as_ref(),
        Ok(&path),
        "{printed}"
    );
    assert!(path.matches(&path) && path.is_prefix_of(&path));
}

fn action(action: Action) {
    assert!(action.check().is_ok());
    assert!(!action.scope.is_empty() && !action.resource.is_empty());
    assert!(action
        .amount
        .is_none_or(|amount| amount.is_finite() && amount >= 0.0));
    let json = serde_json::to_value(&action).expect("an action as JSON");
    let again = Action::from_json(&json).expect("an action's JSON reads back");
    assert_eq!(again, action);
    // One canonical form per action: the JSON spelling changes nothing.
    assert!(again.same_as(&action));
    assert_eq!(again.digest(), action.digest());
    assert_eq!(Action::parse(&json.to_string()).as_ref(), Ok(&action));
}

fn resources(text: &str) {
    let mut parts = text.splitn(3, '\n');
    let (Some(wanted), Some(granted)) = (parts.next(), parts.next()) else {
        return;
    };
    if !resource_within(wanted, granted) {
        return;
    }
    assert!(
        !wanted
            .chars()
            .any(|c| c.is_control() || c == ' ' || c == '\\'),
        "{wanted:?}"
    );
    let lower = wanted.to_ascii_lowercase();
    let path = lower.split(['?', '#']).next().unwrap_or_default();
    assert!(
        !path
            .replace("%2e", ".")
            .split('/')
            .any(|segment| segment == "." || segment == ".."),
        "{wanted:?}"
    );
    assert!(resource_within(wanted, wanted), "{wanted:?}");
    if let Some(outer) = parts.next() {
        if resource_within(granted, outer) {
            assert!(resource_within(wanted, outer), "{wanted:?} {granted:?} {outer:?}");
        }
    }
}

fn jwk(value: &serde_json::Value) {
    let Ok(key) = PublicKey::from_jwk(value) else {
        return;
    };
    assert_eq!(PublicKey::from_jwk(&key.to_jwk()).as_ref(), Ok(&key));
    assert_eq!(did_key::decode(&did_key::encode(&key)).as_ref(), Ok(&key));
}

fuzz_target!(|data: &[u8]| {
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    if kind == b't' {
        let _ = TrustStore::from_json(rest).map(|store| store.len());
        return;
    }
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    match kind {
        b'p' => predicate(text),
        b'c' => claim_path(text),
        b'r' => resources(text),
        b'a' => {
            if let Ok(parsed) = Action::parse(text) {
                action(parsed);
            }
        }
        b'j' | b'k' => {
            let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
                return;
            };
            if kind == b'k' {
                jwk(&value);
            } else if let Ok(parsed) = Action::from_json(&value) {
                action(parsed);
            }
        }
        _ => {}
    }
});
