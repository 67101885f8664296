//! RFC 9068 §4 validation, one test per rule.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use p256::ecdsa::signature::Signer as _;
use rand_core::OsRng;
use serde_json::{json, Value};

use super::*;
use crate::encoding::b64url_encode;
use crate::{jwk_thumbprint, PublicKey};

const ISSUER: &str = "https://as.example";
const RESOURCE: &str = "https://tools.example/mcp";
const NOW: u64 = 1_800_000_000;

enum Key {
    P256(p256::ecdsa::SigningKey),
    Ed(ed25519_zebra::SigningKey),
}

impl Key {
    fn p256() -> Self {
        Key::P256(p256::ecdsa::SigningKey::random(&mut OsRng))
    }
    fn ed() -> Self {
        Key::Ed(ed25519_zebra::SigningKey::new(OsRng))
    }
    fn public(&self) -> PublicKey {
        match self {
            Key::P256(key) => PublicKey::P256(*key.verifying_key()),
            Key::Ed(key) => PublicKey::Ed25519(ed25519_zebra::VerificationKey::from(key)),
        }
    }
    fn alg(&self) -> &'static str {
        match self {
            Key::P256(_) => "ES256",
            Key::Ed(_) => "EdDSA",
        }
    }
    fn kid(&self) -> String {
        jwk_thumbprint(&self.public())
    }
    fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            b64url_encode(header.to_string().as_bytes()),
            b64url_encode(claims.to_string().as_bytes())
        );
        let signature = match self {
            Key::P256(key) => {
                let signature: p256::ecdsa::Signature = key.sign(input.as_bytes());
                signature.to_bytes().to_vec()
            }
            Key::Ed(key) => <[u8; 64]>::from(key.sign(input.as_bytes())).to_vec(),
        };
        format!("{input}.{}", b64url_encode(&signature))
    }
    fn token(&self, claims: &Value) -> String {
        self.sign(
            &json!({"alg": self.alg(), "typ": "at+jwt", "kid": self.kid()}),
            claims,
        )
    }
    fn set(&self) -> JwkSet {
        let mut set = JwkSet::new();
        set.insert(self.kid(), self.public()).unwrap();
        set
    }
}

fn claims() -> Value {
    json!({
        "iss": ISSUER, "sub": "did:key:z6Mkagent", "client_id": "did:key:z6Mkagent",
        "aud": RESOURCE, "iat": NOW - 10, "exp": NOW + 290, "jti": "j-1",
        "scope": "tools:read tools:write",
    })
}

fn with(mut claims: Value, name: &str, value: Value) -> Value {
    claims[name] = value;
    claims
}

fn without(mut claims: Value, name: &str) -> Value {
    claims.as_object_mut().unwrap().remove(name);
    claims
}

fn validator() -> AccessTokenValidator {
    AccessTokenValidator::new(ISSUER, RESOURCE)
}

fn check(key: &Key, claims: &Value) -> Result<AccessToken, AccessTokenError> {
    validator().validate(&key.token(claims), &key.set(), NOW)
}

#[test]
fn rfc9068_section4_valid_tokens_of_both_algorithms_are_accepted() {
    for key in [Key::p256(), Key::ed()] {
        let extra = json!({
            "cnf": {"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"},
            "act": {"sub": "did:key:z6Mkdelegator"}, "on_behalf_of": "did:key:z6Mkperson",
            "task_id": "task-7", "constraints": {"max_amount": 50}, "nbf": NOW - 10,
        });
        let mut all = claims();
        all.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let token = check(&key, &all).unwrap();
        assert_eq!(token.subject, "did:key:z6Mkagent");
        assert_eq!(token.audience, [RESOURCE]);
        assert_eq!(token.scope, ["tools:read", "tools:write"]);
        assert!(token.has_scope("tools:write") && !token.has_scope("tools"));
        assert!(token.is_dpop_bound());
        assert_eq!(token.task_id.as_deref(), Some("task-7"));
        assert_eq!(token.on_behalf_of.as_deref(), Some("did:key:z6Mkperson"));
        assert_eq!(token.act, Some(json!({"sub": "did:key:z6Mkdelegator"})));
        assert_eq!(token.constraints.unwrap()["max_amount"], 50);
        assert_eq!(token.kid, key.kid());
    }
}

#[test]
fn rfc9068_section4_typ_must_be_at_jwt() {
    let key = Key::p256();
    for typ in [Some("JWT"), Some("dpop+jwt"), Some("at+jwt+x"), None] {
        let mut header = json!({"alg": "ES256", "kid": key.kid()});
        if let Some(typ) = typ {
            header["typ"] = json!(typ);
        }
        assert_eq!(
            validator().validate(&key.sign(&header, &claims()), &key.set(), NOW),
            Err(AccessTokenError::UnexpectedType)
        );
    }
    let header = json!({"alg": "ES256", "typ": "application/AT+JWT", "kid": key.kid()});
    assert!(validator()
        .validate(&key.sign(&header, &claims()), &key.set(), NOW)
        .is_ok());
}

#[test]
fn algorithms_off_the_allow_list_are_refused() {
    let key = Key::ed();
    let es256_only = validator().with_algorithms([crate::Algorithm::ES256]);
    assert_eq!(
        es256_only.validate(&key.token(&claims()), &key.set(), NOW),
        Err(AccessTokenError::AlgorithmNotAllowed)
    );
    for alg in ["none", "HS256", "RS256"] {
        let header = json!({"alg": alg, "typ": "at+jwt", "kid": key.kid()});
        assert_eq!(
            validator().validate(&key.sign(&header, &claims()), &key.set(), NOW),
            Err(AccessTokenError::AlgorithmNotAllowed),
            "{alg}"
        );
    }
}

#[test]
fn the_kid_must_name_a_key_of_the_set_that_verifies() {
    let key = Key::p256();
    let header = json!({"alg": "ES256", "typ": "at+jwt"});
    assert_eq!(
        validator().validate(&key.sign(&header, &claims()), &key.set(), NOW),
        Err(AccessTokenError::MissingKid)
    );
    assert_eq!(
        validator().validate(&key.token(&claims()), &Key::p256().set(), NOW),
        Err(AccessTokenError::UnknownKey)
    );
    // Another key published under this key's kid: the signature does not verify.
    let mut impostor = JwkSet::new();
    impostor.insert(key.kid(), Key::p256().public()).unwrap();
    assert_eq!(
        validator().validate(&key.token(&claims()), &impostor, NOW),
        Err(AccessTokenError::InvalidSignature)
    );
    // A key of another type under the kid: refused, never "verified" across algorithms.
    let mut other_type = JwkSet::new();
    other_type.insert(key.kid(), Key::ed().public()).unwrap();
    assert_eq!(
        validator().validate(&key.token(&claims()), &other_type, NOW),
        Err(AccessTokenError::InvalidSignature)
    );
    let token = key.token(&claims());
    let (input, _) = token.rsplit_once('.').unwrap();
    let forged = format!("{input}.{}", b64url_encode(&[0u8; 64]));
    assert_eq!(
        validator().validate(&forged, &key.set(), NOW),
        Err(AccessTokenError::InvalidSignature)
    );
}

#[test]
fn rfc9068_section4_issuer_and_audience_must_match_exactly() {
    let key = Key::p256();
    let claims = claims();
    assert_eq!(
        check(
            &key,
            &with(claims.clone(), "iss", json!("https://as.example/"))
        ),
        Err(AccessTokenError::IssuerMismatch)
    );
    for aud in [
        json!("https://tools.example/mcp/"),
        json!("https://tools.example"),
        json!(["https://other.example"]),
        json!([]),
    ] {
        assert_eq!(
            check(&key, &with(claims.clone(), "aud", aud.clone())),
            Err(AccessTokenError::AudienceMismatch),
            "{aud}"
        );
    }
    assert!(check(
        &key,
        &with(
            claims.clone(),
            "aud",
            json!(["https://other.example", RESOURCE])
        )
    )
    .is_ok());
    assert!(matches!(
        check(&key, &with(claims.clone(), "aud", json!([7]))),
        Err(AccessTokenError::Malformed(_))
    ));
    assert_eq!(
        check(&key, &without(claims, "aud")),
        Err(AccessTokenError::MissingClaim("aud"))
    );
}

#[test]
fn rfc9068_section4_exp_iat_and_nbf_are_enforced_with_the_skew() {
    let key = Key::ed();
    let claims = claims();
    assert_eq!(
        check(&key, &with(claims.clone(), "exp", json!(NOW - 61))),
        Err(AccessTokenError::Expired)
    );
    assert!(check(&key, &with(claims.clone(), "exp", json!(NOW - 60))).is_ok());
    assert_eq!(
        check(&key, &with(claims.clone(), "nbf", json!(NOW + 61))),
        Err(AccessTokenError::NotYetValid)
    );
    assert_eq!(
        check(&key, &with(claims.clone(), "iat", json!(NOW + 61))),
        Err(AccessTokenError::NotYetValid)
    );
    let strict = validator().with_clock_skew(0);
    assert_eq!(
        strict.validate(
            &key.token(&with(claims.clone(), "exp", json!(NOW - 1))),
            &key.set(),
            NOW
        ),
        Err(AccessTokenError::Expired)
    );
    for name in ["exp", "iat", "sub", "client_id", "jti"] {
        assert_eq!(
            check(&key, &without(claims.clone(), name)),
            Err(AccessTokenError::MissingClaim(name)),
            "{name}"
        );
    }
    for (name, value) in [
        ("exp", json!(1.5e9)),
        ("iat", json!("1800000000")),
        ("nbf", json!(-1)),
        ("sub", json!("")),
        ("jti", json!(7)),
    ] {
        assert!(
            matches!(
                check(&key, &with(claims.clone(), name, value)),
                Err(AccessTokenError::Malformed(_))
            ),
            "{name}"
        );
    }
}

#[test]
fn rfc6749_section3_3_scope_is_a_list_of_scope_tokens() {
    let key = Key::p256();
    let claims = claims();
    assert_eq!(
        check(&key, &without(claims.clone(), "scope"))
            .unwrap()
            .scope,
        Vec::<String>::new()
    );
    for scope in [
        json!("a  b"),
        json!(" a"),
        json!("a\"b"),
        json!("a\\b"),
        json!("é"),
        json!(["a"]),
    ] {
        assert!(
            matches!(
                check(&key, &with(claims.clone(), "scope", scope.clone())),
                Err(AccessTokenError::Malformed(_))
            ),
            "{scope}"
        );
    }
}

#[test]
fn rfc9449_section6_only_jkt_confirmation_is_understood() {
    let key = Key::p256();
    for cnf in [
        json!({"x5t#S256": "abc"}),
        json!({"jkt": "abc", "jwk": {}}),
        json!({}),
        json!({"jkt": 7}),
    ] {
        assert_eq!(
            check(&key, &with(claims(), "cnf", cnf.clone())),
            Err(AccessTokenError::UnsupportedConfirmation),
            "{cnf}"
        );
    }
}

#[test]
fn oversized_or_garbled_tokens_are_refused_without_echo() {
    let key = Key::p256();
    let big = key.token(&with(
        claims(),
        "pad",
        json!("x".repeat(DEFAULT_MAX_TOKEN_BYTES)),
    ));
    assert_eq!(
        validator().validate(&big, &key.set(), NOW),
        Err(AccessTokenError::TooLarge)
    );
    for garbage in ["", "a.b", "a.b.c.d", "secret-value.e30.AA", "e30.e30.%%"] {
        let error = validator().validate(garbage, &key.set(), NOW).unwrap_err();
        assert!(matches!(error, AccessTokenError::Malformed(_)), "{garbage}");
        assert!(!error.to_string().contains("secret-value"));
    }
}

#[test]
fn the_unverified_issuer_and_kid_are_readable_before_validation() {
    let key = Key::ed();
    let token = key.token(&claims());
    let parsed = UnverifiedAccessToken::parse(&token, DEFAULT_MAX_TOKEN_BYTES).unwrap();
    assert_eq!(parsed.unverified_issuer(), Some(ISSUER));
    assert_eq!(parsed.kid(), Some(key.kid().as_str()));
    assert!(validator().validate_parsed(parsed, &key.set(), NOW).is_ok());
}

mod mutations {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any change of one character of a valid token (header, claims, signature
        /// or a separator) makes it invalid, and never panics.
        #[test]
        fn any_one_character_change_is_refused(position in 0usize..4096, replacement in 0u8..128) {
            let key = Key::p256();
            let token = key.token(&claims());
            let position = position % token.len();
            let original = token.as_bytes()[position];
            prop_assume!(replacement != original);
            let mut mutated = token.into_bytes();
            mutated[position] = replacement;
            let mutated = String::from_utf8(mutated).unwrap();
            prop_assert!(validator().validate(&mutated, &key.set(), NOW).is_err());
        }

        /// Arbitrary JWK set documents and tokens are refused or accepted, never a panic.
        #[test]
        fn arbitrary_input_never_panics(jwks in ".{0,300}", token in "[A-Za-z0-9._~-]{0,300}") {
            let _ = JwkSet::from_json(jwks.as_bytes());
            let _ = validator().validate(&token, &Key::ed().set(), NOW);
        }
    }
}
