//! RFC 9901 (SD-JWT) test cases of the reference implementation, sd-jwt-python
//! (`tests/testcases/`, Apache-2.0), run through agentid's issuer, holder and verifier.
//!
//! The cases are read from `$AGENTID_EXTERNAL_VECTORS/sd-jwt-python/` (see
//! `vectors/README.md`); without that variable the tests print a note and pass.
//!
//! Each case gives the issuer's claims with `!sd` tags (on mapping keys and array
//! elements) naming what is selectively disclosable, the holder's choice of
//! disclosures, and the claims a verifier must end up with. agentid issues the
//! claims with the fixed keys of `settings.yml`, presents the chosen disclosures
//! with a KB-JWT and verifies the result; the verified claims must equal the
//! expected ones exactly (RFC 9901 §7: verification and processing).

// Test helpers outside #[test] functions fail loudly on bad vectors, as tests do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use agentid_verifier::{
    b64url_encode, sha256_b64, Algorithm, ClaimPath, PathSegment, Policy, PresentationRequest,
    TrustStore, Verified, Verifier, VerifyError, KB_JWT_TYP,
};
use agentid_wallet::{cnf, present, Issuer, SigningKey};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Map, Value as Json};
use serde_yaml::Value as Yaml;

/// The `typ` the reference implementation's examples use.
const TYP: &str = "example+sd-jwt";
/// Seconds between the credential's `iat` and the moment of verification.
const VERIFY_AFTER_SECS: u64 = 10;
/// Every member a case's `specification.yml` may have; anything else would carry a
/// meaning this test does not know, so it fails rather than passing silently.
const KNOWN_CASE_MEMBERS: [&str; 7] = [
    "user_claims",
    "holder_disclosed_claims",
    "expect_verified_user_claims",
    "key_binding",
    "serialization_format",
    "settings_override",
    "extra_header_parameters",
];

/// `$AGENTID_EXTERNAL_VECTORS`, a relative path taken from the package root.
fn external_vectors() -> Option<PathBuf> {
    let dir = PathBuf::from(std::env::var_os("AGENTID_EXTERNAL_VECTORS")?);
    if dir.as_os_str().is_empty() {
        return None;
    }
    Some(if dir.is_absolute() {
        dir
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(dir)
    })
}

fn read_yaml(path: &Path) -> Yaml {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    serde_yaml::from_str(&text)
        .unwrap_or_else(|error| panic!("{} is not YAML: {error}", path.display()))
}

fn b64url_decode(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(text)
        .unwrap_or_else(|error| panic!("{text:?} is not base64url: {error}"))
}

fn get<'y>(value: &'y Yaml, key: &str) -> Option<&'y Yaml> {
    value.as_mapping().and_then(|map| map.get(key))
}

fn get_str<'y>(value: &'y Yaml, key: &str, what: &str) -> &'y str {
    get(value, key)
        .and_then(Yaml::as_str)
        .unwrap_or_else(|| panic!("{what}: missing string {key:?}"))
}

fn get_u64(value: &Yaml, key: &str, what: &str) -> u64 {
    get(value, key)
        .and_then(Yaml::as_u64)
        .unwrap_or_else(|| panic!("{what}: missing number {key:?}"))
}

/// A P-256 key of `settings.yml` (a JWK with `d`): the signing key and the public
/// JWK a verifier pins, with `kid` when the JWK has one.
struct Ec256Key {
    key: SigningKey,
    public_jwk: Json,
    kid: Option<String>,
}

impl Ec256Key {
    fn from_jwk(jwk: &Yaml, what: &str) -> Self {
        assert_eq!(get_str(jwk, "kty", what), "EC", "{what}");
        assert_eq!(get_str(jwk, "crv", what), "P-256", "{what}");
        let key = SigningKey::from_secret_bytes(
            Algorithm::ES256,
            &b64url_decode(get_str(jwk, "d", what)),
        )
        .unwrap_or_else(|error| panic!("{what}: {error}"));
        let mut public_jwk = json!({
            "kty": "EC",
            "crv": "P-256",
            "x": get_str(jwk, "x", what),
            "y": get_str(jwk, "y", what),
        });
        // The settings file is self-consistent: `d` is the secret of `x`, `y`.
        assert_eq!(
            key.public_key().to_jwk(),
            public_jwk,
            "{what}: d does not fit x, y"
        );
        let kid = get(jwk, "kid").map(|kid| {
            kid.as_str()
                .unwrap_or_else(|| panic!("{what}: kid is not a string"))
                .to_owned()
        });
        if let Some(kid) = &kid {
            public_jwk["kid"] = kid.clone().into();
        }
        Ec256Key {
            key,
            public_jwk,
            kid,
        }
    }
}

/// `settings.yml`, with a case's `settings_override` applied where it names keys.
struct Settings {
    issuer_id: String,
    verifier_id: String,
    nonce: String,
    iat: u64,
    exp: u64,
    issuer_key: Ec256Key,
    holder_key: Ec256Key,
}

impl Settings {
    fn read(settings: &Yaml, override_: Option<&Yaml>) -> Self {
        let what = "settings.yml";
        let identifiers = get(settings, "identifiers").expect("settings.yml: identifiers");
        let key_settings = get(settings, "key_settings").expect("settings.yml: key_settings");
        // Overrides name the keys either at their top level or under key_settings.
        let overridden = |name: &str| {
            override_.and_then(|over| {
                get(over, name).or_else(|| get(over, "key_settings").and_then(|ks| get(ks, name)))
            })
        };
        let issuer_keys = overridden("issuer_keys")
            .or_else(|| get(key_settings, "issuer_keys"))
            .and_then(Yaml::as_sequence)
            .expect("settings.yml: issuer_keys");
        let holder_key = overridden("holder_key")
            .or_else(|| get(key_settings, "holder_key"))
            .expect("settings.yml: holder_key");
        Settings {
            issuer_id: get_str(identifiers, "issuer", what).to_owned(),
            verifier_id: get_str(identifiers, "verifier", what).to_owned(),
            nonce: get_str(settings, "key_binding_nonce", what).to_owned(),
            iat: get_u64(settings, "iat", what),
            exp: get_u64(settings, "exp", what),
            // The reference issuer signs with the first key of the list.
            issuer_key: Ec256Key::from_jwk(&issuer_keys[0], "issuer key"),
            holder_key: Ec256Key::from_jwk(holder_key, "holder key"),
        }
    }

    fn now(&self) -> u64 {
        self.iat + VERIFY_AFTER_SECS
    }

    fn registered_claims(&self) -> Map<String, Json> {
        let mut registered = Map::new();
        registered.insert("iat".into(), self.iat.into());
        registered.insert("exp".into(), self.exp.into());
        // Key binding is orthogonal to which claims are revealed: every case is
        // issued to the holder key and presented with a KB-JWT, also those whose
        // `key_binding` is false.
        registered.insert("cnf".into(), cnf(self.holder_key.key.public_key()));
        registered
    }

    fn verifier(&self) -> Verifier {
        let mut trust = TrustStore::new();
        trust
            .add_pinned_jwk(&self.issuer_id, &self.issuer_key.public_jwk)
            .expect("the issuer JWK is valid");
        Verifier::new(trust, Policy::default().with_accepted_typs([TYP]))
    }

    fn request(&self) -> PresentationRequest {
        PresentationRequest::new(&self.verifier_id, &self.nonce)
    }
}

/// Splits off an `!sd` tag; any other tag is not part of the test-case language.
fn untag<'y>(value: &'y Yaml, at: &ClaimPath) -> (bool, &'y Yaml) {
    match value {
        Yaml::Tagged(tagged) => {
            assert!(tagged.tag == "sd", "unknown tag {} at {at}", tagged.tag);
            assert!(
                !matches!(tagged.value, Yaml::Tagged(_)),
                "two tags on one node at {at}"
            );
            (true, &tagged.value)
        }
        other => (false, other),
    }
}

/// A mapping key as a claim name. Keys are always strings in these cases (the
/// `key_data_types` case quotes `"null"`, `"42"` and so on for that reason).
fn key_name(key: &Yaml, at: &ClaimPath) -> String {
    key.as_str()
        .unwrap_or_else(|| panic!("non-string mapping key {key:?} at {at}"))
        .to_owned()
}

fn scalar_to_json(value: &Yaml, at: &ClaimPath) -> Json {
    match value {
        Yaml::Null => Json::Null,
        Yaml::Bool(flag) => Json::Bool(*flag),
        Yaml::String(text) => Json::String(text.clone()),
        Yaml::Number(number) => {
            if let Some(unsigned) = number.as_u64() {
                unsigned.into()
            } else if let Some(signed) = number.as_i64() {
                signed.into()
            } else {
                let float = number.as_f64().expect("a YAML number is an f64");
                serde_json::Number::from_f64(float)
                    .map(Json::Number)
                    .unwrap_or_else(|| panic!("{float} at {at} has no JSON form"))
            }
        }
        other => panic!("not a scalar at {at}: {other:?}"),
    }
}

/// Converts YAML to JSON, recording the path of every `!sd` key or array element.
fn to_json(value: &Yaml, at: &ClaimPath, disclosable: &mut Vec<ClaimPath>) -> Json {
    match value {
        Yaml::Sequence(items) => Json::Array(
            items
                .iter()
                .enumerate()
                .map(|(index, item)| {
                    let path = at.child(PathSegment::Index(index));
                    let (sd, item) = untag(item, &path);
                    if sd {
                        disclosable.push(path.clone());
                    }
                    to_json(item, &path, disclosable)
                })
                .collect(),
        ),
        Yaml::Mapping(map) => Json::Object(to_json_object(map, at, disclosable)),
        Yaml::Tagged(_) => panic!("a tag on a mapping value at {at}: tag the key instead"),
        scalar => scalar_to_json(scalar, at),
    }
}

fn to_json_object(
    map: &serde_yaml::Mapping,
    at: &ClaimPath,
    disclosable: &mut Vec<ClaimPath>,
) -> Map<String, Json> {
    let mut object = Map::new();
    for (key, value) in map {
        let (sd, key) = untag(key, at);
        let name = key_name(key, at);
        let path = at.child(PathSegment::Key(name.clone()));
        if sd {
            disclosable.push(path.clone());
        }
        let value = to_json(value, &path, disclosable);
        assert!(
            object.insert(name, value).is_none(),
            "duplicate key at {path}"
        );
    }
    object
}

/// Converts untagged YAML (the expected claims) to a JSON object.
fn plain_object(value: &Yaml, what: &str) -> Map<String, Json> {
    let mut tags = Vec::new();
    let map = value
        .as_mapping()
        .unwrap_or_else(|| panic!("{what} is not a mapping"));
    let object = to_json_object(map, &ClaimPath::root(), &mut tags);
    assert!(tags.is_empty(), "{what} carries !sd tags: {tags:?}");
    object
}

/// The paths the holder chooses (`holder_disclosed_claims`): `true` discloses the
/// claim at that key or index; `false`, null or any other scalar does not; a
/// mapping or list recurses into the claim's children (the claim itself is then
/// disclosed along with them, by the wallet's ancestor rule).
fn disclose_paths(choice: &Yaml, at: &ClaimPath, out: &mut Vec<ClaimPath>) {
    match choice {
        Yaml::Bool(true) => {
            assert!(
                !at.segments().is_empty(),
                "true for the whole claims object"
            );
            out.push(at.clone());
        }
        Yaml::Mapping(map) => {
            for (key, value) in map {
                let path = at.child(PathSegment::Key(key_name(key, at)));
                disclose_paths(value, &path, out);
            }
        }
        Yaml::Sequence(items) => {
            for (index, value) in items.iter().enumerate() {
                disclose_paths(value, &at.child(PathSegment::Index(index)), out);
            }
        }
        Yaml::Tagged(_) => panic!("tag in holder_disclosed_claims at {at}"),
        // false, null, and the string "None" (YAML has no None) disclose nothing.
        _ => {}
    }
}

/// The claims a verifier sees: `claims` plus `sub`, which the reference cases
/// treat as a user claim and agentid reports in `subject`.
fn user_claims_of(verified: &Verified) -> Map<String, Json> {
    let mut claims = verified.claims.clone();
    if let Some(subject) = &verified.subject {
        claims.insert("sub".into(), subject.clone().into());
    }
    claims
}

/// Signs a compact JWS by hand, for headers the issuer API cannot write.
fn sign_compact(header: &Json, payload_b64: &str, key: &SigningKey) -> String {
    let signing_input = format!(
        "{}.{payload_b64}",
        b64url_encode(header.to_string().as_bytes())
    );
    let signature = key.sign(signing_input.as_bytes());
    format!("{signing_input}.{}", b64url_encode(&signature))
}

/// A KB-JWT over `presented` (`<JWT>~<D>…~`), by hand.
fn key_binding_jwt(presented: &str, settings: &Settings) -> String {
    let payload = json!({
        "iat": settings.now(),
        "aud": settings.verifier_id,
        "nonce": settings.nonce,
        "sd_hash": sha256_b64(presented),
    });
    sign_compact(
        &json!({"alg": "ES256", "typ": KB_JWT_TYP}),
        &b64url_encode(payload.to_string().as_bytes()),
        &settings.holder_key.key,
    )
}

/// `header_mod`: the reference implementation writes `"kid": 42` into the issuer
/// JWT header. RFC 7515 §4.1.4 defines `kid` as a string, and agentid's verifier
/// refuses any other type as malformed, deliberately. `Issuer::with_kid` only takes
/// a string, so the tokens are built by hand here: the same payload and disclosures
/// verify under a header without `kid` and are refused with `"kid": 42`.
fn check_numeric_kid_is_refused(
    name: &str,
    kid: &Yaml,
    case: &Yaml,
    settings: &Settings,
    claims: Map<String, Json>,
    disclosable: &[ClaimPath],
    disclose: &[ClaimPath],
) {
    let issuer = Issuer::with_pinned_key(
        settings.issuer_id.clone(),
        SigningKey::from_secret_bytes(
            Algorithm::ES256,
            &settings.issuer_key.key.expose_secret_bytes(),
        )
        .expect("valid key"),
    )
    .expect("issuer");
    let issued = issuer
        .issue_sd_jwt(TYP, settings.registered_claims(), claims, disclosable)
        .expect("issuance");
    let (jwt, disclosures) = issued.split_once('~').expect("an SD-JWT");
    let payload_b64 = jwt.split('.').nth(1).expect("a compact JWS");
    let kid = scalar_to_json(kid, &ClaimPath::root());
    let verifier = settings.verifier();
    let request = settings.request();
    let expected = plain_object(
        get(case, "expect_verified_user_claims").expect("expected claims"),
        name,
    );

    // Control: the hand-built token without `kid` is accepted and reveals what the
    // case expects, so the only difference below is the type of `kid`.
    let control = format!(
        "{}~{disclosures}",
        sign_compact(
            &json!({"alg": "ES256", "typ": TYP}),
            payload_b64,
            &settings.issuer_key.key
        )
    );
    let presentation = present(
        &control,
        &settings.holder_key.key,
        disclose,
        &request,
        settings.now(),
    )
    .expect("presentation of the control token");
    let verified = verifier
        .verify_presentation(&presentation, &request, settings.now())
        .unwrap_or_else(|error| panic!("{name}: control token refused: {error}"));
    assert_eq!(user_claims_of(&verified), expected, "{name}: control token");

    // The same payload and the same chosen disclosures under `"kid": 42`.
    let numeric_kid_jwt = sign_compact(
        &json!({"alg": "ES256", "typ": TYP, "kid": kid}),
        payload_b64,
        &settings.issuer_key.key,
    );
    // `<JWT>~<D1>~…~<Dn>~<KB-JWT>`: keep the chosen disclosures only.
    let (without_kb, _kb) = presentation.rsplit_once('~').expect("a presentation");
    let chosen = without_kb
        .split_once('~')
        .map_or("", |(_jwt, chosen)| chosen);
    let presented = if chosen.is_empty() {
        format!("{numeric_kid_jwt}~")
    } else {
        format!("{numeric_kid_jwt}~{chosen}~")
    };
    let numeric_kid_presentation = format!("{presented}{}", key_binding_jwt(&presented, settings));
    let credential = format!("{numeric_kid_jwt}~{disclosures}");
    for (what, verdict) in [
        (
            "presentation",
            verifier.verify_presentation(&numeric_kid_presentation, &request, settings.now()),
        ),
        (
            "issued credential",
            verifier.verify_credential(&credential, settings.now()),
        ),
    ] {
        match verdict {
            Err(VerifyError::Malformed(reason)) => {
                assert!(reason.contains("kid"), "{name}: {reason}");
            }
            other => panic!("{name}: {what} with kid {kid} must be malformed, got {other:?}"),
        }
    }
    println!(
        "{name}: refused as malformed, deliberately unlike the reference implementation: \
         its header sets \"kid\": {kid}, but RFC 7515 §4.1.4 makes kid a string and \
         agentid's verifier refuses any other type"
    );
}

#[test]
fn rfc9901_section_7_python_reference_cases() {
    let Some(vectors) = external_vectors() else {
        eprintln!("skipped: AGENTID_EXTERNAL_VECTORS not set");
        return;
    };
    let root = vectors.join("sd-jwt-python");
    let settings_yaml = read_yaml(&root.join("settings.yml"));
    let mut cases: Vec<(String, PathBuf)> = std::fs::read_dir(&root)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", root.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.join("specification.yml").is_file())
        .map(|path| {
            let name = path
                .file_name()
                .and_then(|name| name.to_str())
                .expect("UTF-8 case name")
                .to_owned();
            (name, path.join("specification.yml"))
        })
        .collect();
    cases.sort();

    let mut verified_cases = Vec::new();
    let mut refused_cases = Vec::new();
    let mut json_cases = BTreeSet::new();
    for (name, spec_path) in &cases {
        let case = read_yaml(spec_path);
        for member in case.as_mapping().expect("a case is a mapping").keys() {
            let member = member.as_str().expect("string member");
            assert!(
                KNOWN_CASE_MEMBERS.contains(&member),
                "{name}: unknown member {member:?}"
            );
        }
        let format = get(&case, "serialization_format")
            .map_or("compact", |format| format.as_str().expect("format"));
        if format == "json" {
            println!(
                "{name}: skipped: JWS JSON serialization (RFC 9901 §8), which agentid \
                 does not support; it reads and writes the compact form only"
            );
            json_cases.insert(name.clone());
            continue;
        }
        assert_eq!(format, "compact", "{name}: unknown serialization_format");

        let settings = Settings::read(&settings_yaml, get(&case, "settings_override"));
        let mut disclosable = Vec::new();
        let claims = to_json_object(
            get(&case, "user_claims")
                .and_then(Yaml::as_mapping)
                .unwrap_or_else(|| panic!("{name}: user_claims")),
            &ClaimPath::root(),
            &mut disclosable,
        );
        let mut disclose = Vec::new();
        disclose_paths(
            get(&case, "holder_disclosed_claims").unwrap_or(&Yaml::Null),
            &ClaimPath::root(),
            &mut disclose,
        );
        let expected = plain_object(
            get(&case, "expect_verified_user_claims")
                .unwrap_or_else(|| panic!("{name}: expect_verified_user_claims")),
            name,
        );

        // Header parameters: a string kid is what `Issuer::with_kid` writes; the
        // numeric kid of header_mod is checked by hand.
        let mut kid = settings.issuer_key.kid.clone();
        let mut refused = false;
        if let Some(extra) = get(&case, "extra_header_parameters") {
            for (parameter, value) in extra.as_mapping().expect("a mapping") {
                assert_eq!(
                    parameter.as_str(),
                    Some("kid"),
                    "{name}: unsupported header"
                );
                match value.as_str() {
                    Some(text) => kid = Some(text.to_owned()),
                    None => {
                        check_numeric_kid_is_refused(
                            name,
                            value,
                            &case,
                            &settings,
                            claims.clone(),
                            &disclosable,
                            &disclose,
                        );
                        refused_cases.push(name.clone());
                        refused = true;
                    }
                }
            }
        }
        if refused {
            continue;
        }

        let issuer = Issuer::with_pinned_key(
            settings.issuer_id.clone(),
            SigningKey::from_secret_bytes(
                Algorithm::ES256,
                &settings.issuer_key.key.expose_secret_bytes(),
            )
            .expect("valid key"),
        )
        .expect("issuer")
        .with_kid(kid);
        let sd_jwt = issuer
            .issue_sd_jwt(
                TYP,
                settings.registered_claims(),
                claims.clone(),
                &disclosable,
            )
            .unwrap_or_else(|error| panic!("{name}: issuance failed: {error}"));
        let verifier = settings.verifier();
        let now = settings.now();

        // The issued SD-JWT with every disclosure reveals every user claim.
        let full = verifier
            .verify_credential(&sd_jwt, now)
            .unwrap_or_else(|error| panic!("{name}: issued credential refused: {error}"));
        assert_eq!(user_claims_of(&full), claims, "{name}: issued credential");
        assert_eq!(full.issuer, settings.issuer_id);
        assert_eq!(full.issued_at, Some(settings.iat));
        assert_eq!(full.expires_at, Some(settings.exp));

        // The holder's choice, presented with a KB-JWT.
        let request = settings.request();
        let presentation = present(&sd_jwt, &settings.holder_key.key, &disclose, &request, now)
            .unwrap_or_else(|error| panic!("{name}: presentation failed: {error}"));
        let verified = verifier
            .verify_presentation(&presentation, &request, now)
            .unwrap_or_else(|error| panic!("{name}: presentation refused: {error}"));
        assert_eq!(
            Json::Object(user_claims_of(&verified)),
            Json::Object(expected),
            "{name}: verified claims (disclosed: {})",
            disclose
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
        let binding = verified.key_binding.as_ref().expect("key binding");
        assert_eq!(binding.audience, settings.verifier_id);
        assert_eq!(binding.nonce, settings.nonce);
        assert_eq!(binding.issued_at, now);
        assert_eq!(
            verified.holder_key.as_ref(),
            Some(settings.holder_key.key.public_key())
        );
        let key_binding = get(&case, "key_binding").and_then(Yaml::as_bool) == Some(true);
        println!(
            "{name}: verified ({} disclosable, {} chosen, key_binding in case: {key_binding})",
            disclosable.len(),
            disclose.len()
        );
        verified_cases.push(name.clone());
    }

    println!(
        "{} cases verified, {} refused deliberately ({}), {} skipped (JSON serialization: {})",
        verified_cases.len(),
        refused_cases.len(),
        refused_cases.join(", "),
        json_cases.len(),
        json_cases.iter().cloned().collect::<Vec<_>>().join(", ")
    );
    let json_named: BTreeSet<String> = cases
        .iter()
        .map(|(name, _)| name.clone())
        .filter(|name| name.starts_with("json_serialization_"))
        .collect();
    assert!(
        !json_named.is_empty(),
        "expected json_serialization_* cases"
    );
    assert_eq!(
        json_cases, json_named,
        "only the json_serialization_* cases may be skipped"
    );
    assert_eq!(refused_cases, ["header_mod"]);
    assert!(
        verified_cases.len() >= 14,
        "only {} cases ran: {verified_cases:?}",
        verified_cases.len()
    );
}
