//! Credentials and presentations with any payload, really signed: the NumericDates
//! (`iat`, `nbf`, `exp` of the credential and of the KB-JWT, far past year 9999 and
//! up to `u64::MAX`) reach the time checks behind valid signatures.
//!
//! The input is `<credential payload JSON>[\n<KB-JWT payload JSON>]` (see
//! `Context::signed_presentation`). Asserts: verification never panics; an accepted
//! credential is within its validity window at `now` (allowing the clock skew); a
//! presentation gets the same verdict from `verify_batch` as from
//! `verify_presentation`.
#![no_main]

#[path = "../src/context.rs"]
mod context;

use std::sync::OnceLock;

use agentid_verifier::{BatchItem, Verified, Verifier};
use context::Context;
use libfuzzer_sys::fuzz_target;

struct Fixture {
    context: Context,
    verifier: Verifier,
    issuer: ed25519_zebra::SigningKey,
    holder: ed25519_zebra::SigningKey,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let context =
            Context::from_json(include_str!("../seeds/context.json")).expect("seeds/context.json");
        Fixture {
            verifier: context.verifier().expect("the context's verifier"),
            issuer: ed25519_zebra::SigningKey::from(context.issuer_seed),
            holder: ed25519_zebra::SigningKey::from(context.holder_seed),
            context,
        }
    })
}

fn assert_within_window(verified: &Verified, now: u64, skew: u64) {
    if let Some(exp) = verified.expires_at {
        assert!(exp.saturating_add(skew) >= now, "accepted after exp {exp}");
    }
}

fuzz_target!(|data: &[u8]| {
    let fixture = fixture();
    let sign_issuer = |message: &[u8]| fixture.issuer.sign(message).to_bytes().to_vec();
    let sign_holder = |message: &[u8]| fixture.holder.sign(message).to_bytes().to_vec();
    let Some(presentation) = fixture
        .context
        .signed_presentation(data, &sign_issuer, &sign_holder)
    else {
        return;
    };
    let (request, now) = (&fixture.context.request, fixture.context.now);
    let skew = fixture.verifier.policy().clock_skew_secs;
    if let Ok(verified) = fixture.verifier.verify_credential(&presentation, now) {
        assert_within_window(&verified, now, skew);
    }
    let single = fixture
        .verifier
        .verify_presentation(&presentation, request, now);
    let batch = fixture.verifier.verify_batch(
        &[BatchItem {
            presentation: &presentation,
            request,
        }],
        now,
    );
    match (&single, &batch[0]) {
        (Ok(one), Ok(other)) => {
            assert_within_window(one, now, skew);
            assert_eq!(
                serde_json::to_value(one).expect("Verified as JSON"),
                serde_json::to_value(other).expect("Verified as JSON")
            );
        }
        (Err(one), Err(other)) => assert_eq!(one, other),
        _ => panic!("single {single:?}, batch {:?}", batch[0]),
    }
});
