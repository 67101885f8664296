//! Predicate statements and the aggregated Bulletproofs range proof in a KB-JWT.
//!
//! The input is `<predicates JSON>\n<raw proof bytes>`; the harness puts them in
//! the KB-JWT of the seed predicate credential (`predicates`, `predicate_proof`)
//! and signs it with the holder's key (see `Context::predicate_presentation`), so
//! every input passes the signatures and reaches the statement reader, the proof
//! decoder and the proof check. Asserts: verification never panics, and an accepted
//! presentation proves exactly one of the seed statement lists — a proof is never
//! accepted for a statement it was not made for. An accepted one also gets the same
//! verdict from `verify_batch`.
#![no_main]

#[path = "../src/context.rs"]
mod context;

use std::sync::OnceLock;

use agentid_verifier::{BatchItem, Verifier};
use context::Context;
use libfuzzer_sys::fuzz_target;

struct Fixture {
    context: Context,
    verifier: Verifier,
    holder: ed25519_zebra::SigningKey,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let context =
            Context::from_json(include_str!("../seeds/context.json")).expect("seeds/context.json");
        Fixture {
            verifier: context.verifier().expect("the context's verifier"),
            holder: ed25519_zebra::SigningKey::from(context.holder_seed),
            context,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let fixture = fixture();
    let sign = |message: &[u8]| fixture.holder.sign(message).to_bytes().to_vec();
    let Some(presentation) = fixture.context.predicate_presentation(data, &sign) else {
        return;
    };
    let (request, now) = (&fixture.context.request, fixture.context.now);
    if let Ok(verified) = fixture
        .verifier
        .verify_presentation(&presentation, request, now)
    {
        assert!(
            fixture.context.proves_a_seed_statement(&verified),
            "accepted a proof for {:?}",
            verified.predicates
        );
        let batch = fixture.verifier.verify_batch(
            &[BatchItem {
                presentation: &presentation,
                request,
            }],
            now,
        );
        let batch = batch[0].as_ref().expect("the batch path accepts it too");
        assert_eq!(batch.predicates, verified.predicates);
    }
});
