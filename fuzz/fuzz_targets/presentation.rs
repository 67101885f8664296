//! Presentation verification, single and batch on the same input.
//!
//! Asserts, for any UTF-8 input under the fixed context of `seeds/context.json`:
//! - `Verifier::verify_presentation` never panics (plain presentations, issued
//!   credentials and delegation chains — input holding `~~` — all enter there);
//! - `Verifier::verify_batch` gives the same verdict, for the item alone and for the
//!   item among seven valid presentations (so that Ed25519 batches form, fail and
//!   bisect): both `Ok` with equal `Verified` (compared as JSON), or the same error;
//!   the valid neighbours stay valid;
//! - `verify_credential` and `UnverifiedSdJwt::parse` / `disclosure_map` never panic.
#![no_main]

#[path = "../src/context.rs"]
mod context;

use std::sync::OnceLock;

use agentid_verifier::{BatchItem, Limits, UnverifiedSdJwt, Verified, Verifier, VerifyError};
use context::Context;
use libfuzzer_sys::fuzz_target;

struct Fixture {
    context: Context,
    verifier: Verifier,
    /// Valid presentations placed around the fuzz input in the grouped batch.
    neighbours: [&'static str; 7],
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let context =
            Context::from_json(include_str!("../seeds/context.json")).expect("seeds/context.json");
        let verifier = context.verifier().expect("the context's verifier");
        let eddsa = include_str!("../seeds/presentation/eddsa.txt");
        let fixture = Fixture {
            neighbours: [
                eddsa,
                include_str!("../seeds/presentation/status-valid.txt"),
                eddsa,
                include_str!("../seeds/presentation/es256.txt"),
                include_str!("../seeds/presentation/chain.txt"),
                eddsa,
                include_str!("../seeds/presentation/pinned-jwk.txt"),
            ],
            context,
            verifier,
        };
        for neighbour in fixture.neighbours {
            fixture
                .verifier
                .verify_presentation(neighbour, &fixture.context.request, fixture.context.now)
                .expect("a valid neighbour");
        }
        fixture
    })
}

fn assert_same(
    single: &Result<Verified, VerifyError>,
    batch: &Result<Verified, VerifyError>,
    how: &str,
) {
    match (single, batch) {
        (Ok(one), Ok(other)) => assert_eq!(
            serde_json::to_value(one).expect("Verified as JSON"),
            serde_json::to_value(other).expect("Verified as JSON"),
            "{how}: both valid, different results"
        ),
        (Err(one), Err(other)) => assert_eq!(one, other, "{how}: different errors"),
        _ => panic!("{how}: single {single:?}, batch {batch:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let fixture = fixture();
    let (request, now) = (&fixture.context.request, fixture.context.now);
    let single = fixture.verifier.verify_presentation(input, request, now);

    let item = BatchItem {
        presentation: input,
        request,
    };
    let alone = fixture.verifier.verify_batch(&[item], now);
    assert_eq!(alone.len(), 1);
    assert_same(&single, &alone[0], "alone");

    // Inputs that fail a structural check never reach the signature phase, where
    // the paths differ; the others also go through a batch that groups.
    let reaches_signatures = matches!(
        single,
        Ok(_) | Err(VerifyError::InvalidSignature(_) | VerifyError::InvalidPredicateProof)
    );
    if reaches_signatures {
        let mut items: Vec<BatchItem<'_>> = fixture
            .neighbours
            .iter()
            .map(|presentation| BatchItem {
                presentation,
                request,
            })
            .collect();
        items.insert(3, item);
        let verdicts = fixture.verifier.verify_batch(&items, now);
        assert_eq!(verdicts.len(), items.len());
        assert_same(&single, &verdicts[3], "grouped");
        for (index, verdict) in verdicts.iter().enumerate() {
            if index != 3 {
                assert!(verdict.is_ok(), "neighbour {index}: {verdict:?}");
            }
        }
    }

    let _ = fixture.verifier.verify_credential(input, now);
    if let Ok(parsed) = UnverifiedSdJwt::parse(input, &Limits::default()) {
        let _ = parsed.disclosures().count();
        let _ = parsed.disclosure_map();
    }
});
