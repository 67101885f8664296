//! Status list token decoding (`StatusLists::add_token`).
//!
//! The input is `r<token text>` (the token as it is) or `s<payload JSON>[\n<raw
//! lst bytes>]`, which the harness signs as the trusted seed issuer (see
//! `Context::status_token`) so that mutations reach the ZLIB decoder and the list
//! checks behind the signature. Asserts: `add_token` never panics at the fixed
//! `now`; an accepted token adds exactly one list, found under its `sub`, whose
//! `status(i)` never panics and is `Some` exactly for `i < len()`.
#![no_main]

#[path = "../src/context.rs"]
mod context;

use std::sync::OnceLock;

use agentid_verifier::{StatusLists, TrustStore};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use context::Context;
use libfuzzer_sys::fuzz_target;

struct Fixture {
    context: Context,
    trust: TrustStore,
    issuer: ed25519_zebra::SigningKey,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let context =
            Context::from_json(include_str!("../seeds/context.json")).expect("seeds/context.json");
        Fixture {
            trust: context.trust().expect("the context's trust file"),
            issuer: ed25519_zebra::SigningKey::from(context.issuer_seed),
            context,
        }
    })
}

/// The `sub` of a compact JWS's payload.
fn subject(token: &str) -> Option<String> {
    let payload = token.trim().split('.').nth(1)?;
    let payload: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    payload.get("sub")?.as_str().map(str::to_owned)
}

fuzz_target!(|data: &[u8]| {
    let fixture = fixture();
    let sign = |message: &[u8]| fixture.issuer.sign(message).to_bytes().to_vec();
    let Some(token) = fixture.context.status_token(data, &sign) else {
        return;
    };
    let context = &fixture.context;
    let mut lists = StatusLists::new();
    if lists
        .add_token(
            &token,
            &fixture.trust,
            context.now,
            context.status_max_age_secs,
        )
        .is_err()
    {
        assert!(lists.is_empty());
        return;
    }
    assert_eq!(lists.len(), 1);
    let uri = subject(&token).expect("an accepted token has a sub");
    let list = lists
        .iter()
        .find(|list| list.uri() == uri)
        .expect("the list is found under its sub");
    let len = list.len() as u64;
    let tail = data
        .iter()
        .rev()
        .take(8)
        .fold(0u64, |n, &b| (n << 8) | u64::from(b));
    for index in [
        0,
        1,
        7,
        8,
        len.saturating_sub(1),
        len,
        len.saturating_add(1),
        len.saturating_mul(2),
        u64::MAX,
        u64::MAX / 2,
        u64::MAX / 8 + 1,
        1 << 61,
        tail,
        tail % len.max(1),
    ] {
        assert_eq!(
            list.status(index).is_some(),
            index < len,
            "index {index} of {len}"
        );
    }
});
