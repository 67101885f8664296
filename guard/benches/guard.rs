//! Guard overhead per request, in one run: an axum handler with no guard, with the
//! guard validating a bearer token, and with a DPoP-bound token and its proof (the
//! proof is signed outside the timed part, as a client would). In process, through
//! `tower::ServiceExt::oneshot`; the JWK set is static (fetching is cached anyway).
//!
//! `cargo bench -p agentid-guard --bench guard`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentid_guard::{GuardConfig, GuardLayer, IssuerConfig, JwksSource};
use agentid_verifier::access_token::JwkSet;
use agentid_verifier::{b64url_encode, jwk_thumbprint, Algorithm};
use agentid_wallet::dpop::sign_dpop_proof;
use agentid_wallet::{unix_now, SigningKey};
use axum::body::Body;
use axum::routing::get;
use axum::Router;
use criterion::{BatchSize, Criterion};
use http::Request;
use serde_json::json;
use tower::ServiceExt as _;

const ISSUER: &str = "https://as.example";
const RESOURCE: &str = "https://tools.example/mcp";

fn sign(key: &SigningKey, header: &serde_json::Value, claims: &serde_json::Value) -> String {
    let input = format!(
        "{}.{}",
        b64url_encode(header.to_string().as_bytes()),
        b64url_encode(claims.to_string().as_bytes())
    );
    format!("{input}.{}", b64url_encode(&key.sign(input.as_bytes())))
}

struct Fixture {
    plain: Router,
    guarded: Router,
    bearer: String,
    bound: String,
    dpop_key: SigningKey,
}

fn fixture() -> Fixture {
    let as_key = SigningKey::generate(Algorithm::ES256);
    let kid = jwk_thumbprint(as_key.public_key());
    let mut keys = JwkSet::new();
    keys.insert(kid.clone(), as_key.public_key().clone())
        .unwrap();
    let config = GuardConfig::new(RESOURCE)
        .unwrap()
        .with_issuer(IssuerConfig::new(
            ISSUER,
            JwksSource::Static(Arc::new(keys)),
        ))
        .with_replay_capacity(2_000_000);
    let handler = || async { "ok" };
    let plain = Router::new().route("/mcp", get(handler));
    let guarded = Router::new()
        .route("/mcp", get(handler))
        .layer(GuardLayer::new(config).unwrap());
    let now = unix_now();
    let claims = json!({"iss": ISSUER, "sub": "did:key:z6Mkagent", "client_id": "did:key:z6Mkagent",
        "aud": RESOURCE, "iat": now, "exp": now + 3600, "jti": "j-1", "scope": "tools:read"});
    let header = json!({"alg": "ES256", "typ": "at+jwt", "kid": kid});
    let bearer = sign(&as_key, &header, &claims);
    let dpop_key = SigningKey::generate(Algorithm::ES256);
    let mut bound_claims = claims.clone();
    bound_claims["cnf"] = json!({"jkt": jwk_thumbprint(dpop_key.public_key())});
    let bound = sign(&as_key, &header, &bound_claims);
    Fixture {
        plain,
        guarded,
        bearer,
        bound,
        dpop_key,
    }
}

fn request(authorization: Option<String>, proof: Option<String>) -> Request<Body> {
    let mut builder = Request::get("/mcp");
    if let Some(authorization) = authorization {
        builder = builder.header("authorization", authorization);
    }
    if let Some(proof) = proof {
        builder = builder.header("dpop", proof);
    }
    builder.body(Body::empty()).unwrap()
}

impl Fixture {
    fn bearer_request(&self) -> Request<Body> {
        request(Some(format!("Bearer {}", self.bearer)), None)
    }

    fn dpop_request(&self) -> Request<Body> {
        let proof = sign_dpop_proof(
            &self.dpop_key,
            "GET",
            RESOURCE,
            Some(&self.bound),
            None,
            unix_now(),
        );
        request(Some(format!("DPoP {}", self.bound)), Some(proof))
    }
}

fn call(runtime: &tokio::runtime::Runtime, app: &Router, request: Request<Body>) {
    let response = runtime.block_on(app.clone().oneshot(request)).unwrap();
    assert_eq!(response.status(), 200);
    black_box(response);
}

/// Mean time per request over `n` requests prepared beforehand.
fn mean(
    runtime: &tokio::runtime::Runtime,
    app: &Router,
    n: u32,
    make: impl Fn() -> Request<Body>,
) -> Duration {
    let requests: Vec<_> = (0..n).map(|_| make()).collect();
    let start = Instant::now();
    for request in requests {
        call(runtime, app, request);
    }
    start.elapsed() / n
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let fixture = fixture();
    let mut criterion = Criterion::default()
        .measurement_time(Duration::from_secs(4))
        .configure_from_args();
    let mut group = criterion.benchmark_group("guard");
    group.bench_function("no guard", |b| {
        b.iter_batched(
            || request(None, None),
            |r| call(&runtime, &fixture.plain, r),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("bearer token", |b| {
        b.iter_batched(
            || fixture.bearer_request(),
            |r| call(&runtime, &fixture.guarded, r),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("DPoP-bound token", |b| {
        b.iter_batched(
            || fixture.dpop_request(),
            |r| call(&runtime, &fixture.guarded, r),
            BatchSize::SmallInput,
        )
    });
    group.finish();
    criterion.final_summary();

    // Both sides and the ratio, measured again back to back in this run.
    let n = 2000;
    let plain = mean(&runtime, &fixture.plain, n, || request(None, None));
    let bearer = mean(&runtime, &fixture.guarded, n, || fixture.bearer_request());
    let dpop = mean(&runtime, &fixture.guarded, n, || fixture.dpop_request());
    let ratio = |d: Duration| d.as_secs_f64() / plain.as_secs_f64();
    println!("guard overhead per request ({n} requests each, one thread, in process):");
    println!("  no guard          {:>9.2} µs", plain.as_secs_f64() * 1e6);
    println!(
        "  bearer token      {:>9.2} µs  ({:.1}× no guard, +{:.2} µs)",
        bearer.as_secs_f64() * 1e6,
        ratio(bearer),
        (bearer.as_secs_f64() - plain.as_secs_f64()) * 1e6
    );
    println!(
        "  DPoP-bound token  {:>9.2} µs  ({:.1}× no guard, +{:.2} µs)",
        dpop.as_secs_f64() * 1e6,
        ratio(dpop),
        (dpop.as_secs_f64() - plain.as_secs_f64()) * 1e6
    );
}
