//! Property tests: any single byte changed, removed or inserted in a valid
//! presentation is rejected, and no input makes the verifier panic.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::OnceLock;

use agentid_verifier::Algorithm;
use common::*;
use proptest::prelude::*;

/// One fixture and presentation per algorithm, made once.
fn fixtures() -> &'static [(Fixture, String)] {
    static FIXTURES: OnceLock<Vec<(Fixture, String)>> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        [Algorithm::EdDSA, Algorithm::ES256K, Algorithm::ES256]
            .into_iter()
            .map(|alg| {
                let fixture = fixture(alg);
                let presentation = fixture.present(&["on_behalf_of", "task"]);
                (fixture, presentation)
            })
            .collect()
    })
}

fn rejected(which: usize, mutated: &[u8]) -> bool {
    let (fixture, _) = &fixtures()[which];
    // Mutants need not be UTF-8; the verifier's input is text, so a non-UTF-8 mutant
    // is rejected before it reaches the verifier.
    match std::str::from_utf8(mutated) {
        Err(_) => true,
        Ok(text) => fixture
            .verifier
            .verify_presentation(text, &request(), NOW)
            .is_err(),
    }
}

#[test]
fn the_unmutated_presentations_are_valid() {
    for (fixture, presentation) in fixtures() {
        fixture
            .verifier
            .verify_presentation(presentation, &request(), NOW)
            .expect("valid");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn any_changed_byte_is_rejected(which in 0usize..3, position in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut bytes = fixtures()[which].1.as_bytes().to_vec();
        let at = position.index(bytes.len());
        prop_assume!(bytes[at] != byte);
        bytes[at] = byte;
        prop_assert!(rejected(which, &bytes));
    }

    #[test]
    fn any_removed_byte_is_rejected(which in 0usize..3, position in any::<prop::sample::Index>()) {
        let mut bytes = fixtures()[which].1.as_bytes().to_vec();
        bytes.remove(position.index(bytes.len()));
        prop_assert!(rejected(which, &bytes));
    }

    #[test]
    fn any_inserted_byte_is_rejected(which in 0usize..3, position in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut bytes = fixtures()[which].1.as_bytes().to_vec();
        bytes.insert(position.index(bytes.len() + 1), byte);
        prop_assert!(rejected(which, &bytes));
    }

    #[test]
    fn arbitrary_input_never_panics(input in ".{0,512}") {
        let (fixture, _) = &fixtures()[0];
        let _ = fixture.verifier.verify_presentation(&input, &request(), NOW);
        let _ = fixture.verifier.verify_credential(&input, NOW);
    }

    #[test]
    fn sd_jwt_shaped_garbage_never_panics(parts in prop::collection::vec("[A-Za-z0-9_.~-]{0,64}", 0..8)) {
        let (fixture, _) = &fixtures()[0];
        let input = parts.join("~");
        let _ = fixture.verifier.verify_presentation(&input, &request(), NOW);
    }
}
