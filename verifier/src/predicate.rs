//! Zero-knowledge predicates on committed claims (Bulletproofs range proofs).
//!
//! The issuer signs a Pedersen commitment `C = v·B + r·B̃` to an integer claim `v`
//! (a date as days since 1970-01-01). To prove `v ≤ max` the holder proves
//! `max − v ∈ [0, 2^32)` for the commitment `max·B − C`; to prove `v ≥ min`, that
//! `v − min ∈ [0, 2^32)` for `C − min·B`. The verifier derives both commitments itself
//! from the signed `C` and the public bound; it never takes a commitment from the
//! holder. All range proofs of a presentation are aggregated into one, padded to a
//! power of two with commitments to zero. See `docs/notes-predicates.md`.

use std::fmt;
use std::sync::OnceLock;

use bulletproofs::{BulletproofGens, PedersenGens, RangeProof};
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::encoding::{b64url_decode, b64url_encode};
use crate::error::VerifyError;
use crate::transcript::{predicate_transcript, PredicateTranscript};

/// Bits of every range proof. Committed values and bounds lie in
/// [`MIN_VALUE`]`..=`[`MAX_VALUE`], so every difference fits in `[0, 2^32)` exactly
/// when the statement holds, and nothing wraps modulo the group order (≈ 2^252).
pub const RANGE_BITS: usize = 32;
/// Smallest committable value.
pub const MIN_VALUE: i64 = -(1 << 31);
/// Largest committable value.
pub const MAX_VALUE: i64 = (1 << 31) - 1;
/// Most range proofs aggregated in one presentation (a `min..=max` statement uses two).
pub const MAX_AGGREGATED: usize = 8;
/// Longest `predicate_proof` read, in base64url characters: a proof of
/// [`MAX_AGGREGATED`] 32-bit ranges is 800 bytes (1,067 characters); anything
/// longer is refused before it is decoded.
pub const MAX_PROOF_CHARS: usize = 2048;
/// The name of the signed claim holding commitments.
pub const COMMITMENTS_CLAIM: &str = "commitments";
/// The commitment scheme written in each commitment.
pub const SCHEME: &str = "pedersen-ristretto255";
/// Julian day number of 1970-01-01.
const UNIX_EPOCH_JULIAN_DAY: i64 = 2_440_588;

/// How a committed claim's value maps to an integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ValueEncoding {
    /// A JSON integer.
    Integer,
    /// A full date `YYYY-MM-DD`, as days since 1970-01-01.
    Date,
}

impl ValueEncoding {
    /// The name written in the commitment.
    pub fn as_str(self) -> &'static str {
        match self {
            ValueEncoding::Integer => "integer",
            ValueEncoding::Date => "date",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        match name {
            "integer" => Some(ValueEncoding::Integer),
            "date" => Some(ValueEncoding::Date),
            _ => None,
        }
    }

    /// Reads a claim value in this encoding, refusing values outside the range.
    pub fn encode(self, value: &Value) -> Option<i64> {
        let number = match self {
            ValueEncoding::Integer => value.as_i64()?,
            ValueEncoding::Date => date_to_days(value.as_str()?)?,
        };
        (MIN_VALUE..=MAX_VALUE).contains(&number).then_some(number)
    }

    /// Formats an encoded value for people.
    pub fn display(self, value: i64) -> String {
        match self {
            ValueEncoding::Integer => value.to_string(),
            ValueEncoding::Date => days_to_date(value).unwrap_or_else(|| value.to_string()),
        }
    }
}

/// `YYYY-MM-DD` → days since 1970-01-01.
pub fn date_to_days(text: &str) -> Option<i64> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(text, &format).ok()?;
    Some(i64::from(date.to_julian_day()) - UNIX_EPOCH_JULIAN_DAY)
}

/// Days since 1970-01-01 → `YYYY-MM-DD`.
pub fn days_to_date(days: i64) -> Option<String> {
    let julian = i32::try_from(days.checked_add(UNIX_EPOCH_JULIAN_DAY)?).ok()?;
    let date = time::Date::from_julian_day(julian).ok()?;
    let format = time::macros::format_description!("[year]-[month]-[day]");
    date.format(&format).ok()
}

/// The latest birthdate of someone who is at least `years` old on `today` (days
/// since 1970-01-01): `age >= years` is `birthdate <= cutoff`. A 29 February birthday
/// counts from 1 March in common years (the cutoff falls back to 28 February).
pub fn birthdate_cutoff(years: u32, today: i64) -> Option<i64> {
    let today =
        time::Date::from_julian_day(i32::try_from(today.checked_add(UNIX_EPOCH_JULIAN_DAY)?).ok()?)
            .ok()?;
    let year = today.year().checked_sub(i32::try_from(years).ok()?)?;
    let cutoff = time::Date::from_calendar_date(year, today.month(), today.day())
        .or_else(|_| time::Date::from_calendar_date(year, today.month(), today.day() - 1))
        .ok()?;
    Some(i64::from(cutoff.to_julian_day()) - UNIX_EPOCH_JULIAN_DAY)
}

/// A statement about one committed claim: `min ≤ claim`, `claim ≤ max`, or both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Predicate {
    /// The claim path (as in [`crate::ClaimPath`] text form).
    pub claim: String,
    /// Lower bound, inclusive.
    pub min: Option<i64>,
    /// Upper bound, inclusive.
    pub max: Option<i64>,
}

/// A predicate could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid predicate {text:?}: {reason}")]
pub struct InvalidPredicate {
    text: String,
    reason: String,
}

impl Predicate {
    /// `claim ≤ max`.
    pub fn at_most(claim: impl Into<String>, max: i64) -> Self {
        Predicate {
            claim: claim.into(),
            min: None,
            max: Some(max),
        }
    }

    /// `claim ≥ min`.
    pub fn at_least(claim: impl Into<String>, min: i64) -> Self {
        Predicate {
            claim: claim.into(),
            min: Some(min),
            max: None,
        }
    }

    /// `min ≤ claim ≤ max`.
    pub fn between(claim: impl Into<String>, min: i64, max: i64) -> Self {
        Predicate {
            claim: claim.into(),
            min: Some(min),
            max: Some(max),
        }
    }

    /// Reads `claim<=BOUND`, `claim>=BOUND` or `LOW<=claim<=HIGH`, where a bound is
    /// an integer or a date `YYYY-MM-DD` (days since 1970-01-01), or the shorthand
    /// `age>=N`, which is `birthdate <= ` the date `N` years before `today`.
    ///
    /// # Errors
    /// [`InvalidPredicate`] for any other form, or bounds out of range or crossed.
    pub fn parse(text: &str, today: i64) -> Result<Self, InvalidPredicate> {
        let invalid = |reason: &str| InvalidPredicate {
            text: text.chars().take(128).collect(),
            reason: reason.into(),
        };
        let bound = |part: &str| -> Result<i64, InvalidPredicate> {
            let part = part.trim();
            let value = part
                .parse::<i64>()
                .ok()
                .or_else(|| date_to_days(part))
                .ok_or_else(|| invalid("a bound must be an integer or a date YYYY-MM-DD"))?;
            if (MIN_VALUE..=MAX_VALUE).contains(&value) {
                Ok(value)
            } else {
                Err(invalid("bound out of range"))
            }
        };
        let claim_name = |part: &str| -> Result<String, InvalidPredicate> {
            let part = part.trim();
            // The canonical text form, so `a[07]` and `a[7]` name the same claim.
            let path = part
                .parse::<crate::ClaimPath>()
                .map_err(|_| invalid("not a claim path"))?;
            Ok(path.to_string())
        };
        let age = text
            .trim()
            .strip_prefix("age")
            .and_then(|rest| rest.trim_start().strip_prefix(">="));
        if let Some(years) = age {
            let years: u32 = years
                .trim()
                .parse()
                .map_err(|_| invalid("age>= needs a whole number of years"))?;
            let cutoff =
                birthdate_cutoff(years, today).ok_or_else(|| invalid("age out of range"))?;
            return Ok(Predicate::at_most("birthdate", cutoff));
        }
        let parts: Vec<&str> = text.split("<=").collect();
        let predicate = match parts.as_slice() {
            [low, claim, high] => Predicate::between(claim_name(claim)?, bound(low)?, bound(high)?),
            [claim, high] if !claim.contains(">=") => {
                Predicate::at_most(claim_name(claim)?, bound(high)?)
            }
            [single] => match single.split(">=").collect::<Vec<_>>().as_slice() {
                [claim, low] => Predicate::at_least(claim_name(claim)?, bound(low)?),
                _ => {
                    return Err(invalid(
                        "expected claim<=BOUND, claim>=BOUND or LOW<=claim<=HIGH",
                    ))
                }
            },
            _ => {
                return Err(invalid(
                    "expected claim<=BOUND, claim>=BOUND or LOW<=claim<=HIGH",
                ))
            }
        };
        if let (Some(min), Some(max)) = (predicate.min, predicate.max) {
            if min > max {
                return Err(invalid("the lower bound is above the upper bound"));
            }
        }
        Ok(predicate)
    }

    /// The number of range proofs this statement needs (1 or 2).
    pub fn range_count(&self) -> usize {
        usize::from(self.min.is_some()) + usize::from(self.max.is_some())
    }

    /// The JSON form carried in the KB-JWT.
    pub fn to_json(&self) -> Value {
        let mut object = Map::new();
        object.insert("claim".into(), self.claim.clone().into());
        if let Some(min) = self.min {
            object.insert("min".into(), min.into());
        }
        if let Some(max) = self.max {
            object.insert("max".into(), max.into());
        }
        Value::Object(object)
    }

    fn from_json(value: &Value) -> Result<Self, VerifyError> {
        let object = value
            .as_object()
            .ok_or_else(|| VerifyError::malformed("a predicate is not an object"))?;
        if object
            .keys()
            .any(|key| !matches!(key.as_str(), "claim" | "min" | "max"))
        {
            return Err(VerifyError::malformed("a predicate has unknown members"));
        }
        let claim = object
            .get("claim")
            .and_then(Value::as_str)
            .ok_or_else(|| VerifyError::malformed("a predicate has no claim"))?;
        let bound = |name: &str| -> Result<Option<i64>, VerifyError> {
            match object.get(name) {
                None => Ok(None),
                Some(value) => value
                    .as_i64()
                    .filter(|bound| (MIN_VALUE..=MAX_VALUE).contains(bound))
                    .map(Some)
                    .ok_or_else(|| {
                        VerifyError::malformed(format!(
                            "predicate {name} is not an integer in range"
                        ))
                    }),
            }
        };
        let predicate = Predicate {
            claim: claim.to_owned(),
            min: bound("min")?,
            max: bound("max")?,
        };
        if predicate.range_count() == 0 {
            return Err(VerifyError::malformed("a predicate needs min or max"));
        }
        Ok(predicate)
    }
}

/// A predicate the verifier checked: a proven statement, never a value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ProvenPredicate {
    /// The claim the statement is about.
    pub claim: String,
    /// Proven lower bound, inclusive.
    pub min: Option<i64>,
    /// Proven upper bound, inclusive.
    pub max: Option<i64>,
    /// How the claim is encoded (dates as days since 1970-01-01).
    pub encoding: ValueEncoding,
}

impl ProvenPredicate {
    /// True when this proven statement implies `claim ≤ max` for the given bound.
    pub fn implies_at_most(&self, max: i64) -> bool {
        self.max.is_some_and(|proven| proven <= max)
    }

    /// True when this proven statement implies `claim ≥ min` for the given bound.
    pub fn implies_at_least(&self, min: i64) -> bool {
        self.min.is_some_and(|proven| proven >= min)
    }
}

impl fmt::Display for ProvenPredicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.min, self.max) {
            (Some(min), Some(max)) => write!(
                f,
                "{} <= {} <= {}",
                self.encoding.display(min),
                self.claim,
                self.encoding.display(max)
            ),
            (Some(min), None) => write!(f, "{} >= {}", self.claim, self.encoding.display(min)),
            (None, Some(max)) => write!(f, "{} <= {}", self.claim, self.encoding.display(max)),
            (None, None) => write!(f, "{}", self.claim),
        }
    }
}

/// An issuer-signed commitment to one claim, validated (the point decompresses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimCommitment {
    /// The committed value's encoding.
    pub encoding: ValueEncoding,
    compressed: CompressedRistretto,
    point: RistrettoPoint,
}

impl ClaimCommitment {
    /// A commitment from its point.
    pub fn from_point(point: RistrettoPoint, encoding: ValueEncoding) -> Self {
        ClaimCommitment {
            encoding,
            compressed: point.compress(),
            point,
        }
    }

    /// The compressed point.
    pub fn compressed(&self) -> &[u8; 32] {
        self.compressed.as_bytes()
    }

    /// The JSON form signed in the credential.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "scheme": SCHEME,
            "encoding": self.encoding.as_str(),
            "pedersen": b64url_encode(self.compressed.as_bytes()),
        })
    }

    fn from_json(claim: &str, value: &Value) -> Result<Self, VerifyError> {
        let invalid = |reason: &str| {
            VerifyError::InvalidPredicate(format!("commitment for {claim}: {reason}"))
        };
        if value.get("scheme").and_then(Value::as_str) != Some(SCHEME) {
            return Err(invalid("unsupported scheme"));
        }
        let encoding = value
            .get("encoding")
            .and_then(Value::as_str)
            .and_then(ValueEncoding::from_name)
            .ok_or_else(|| invalid("unknown encoding"))?;
        let bytes = value
            .get("pedersen")
            .and_then(Value::as_str)
            .map(|text| b64url_decode(text, "commitment"))
            .transpose()?
            .ok_or_else(|| invalid("no pedersen point"))?;
        let compressed =
            CompressedRistretto::from_slice(&bytes).map_err(|_| invalid("not 32 bytes"))?;
        // Validate the point before it enters a transcript or an equation.
        let point = compressed
            .decompress()
            .ok_or_else(|| invalid("not a Ristretto point"))?;
        Ok(ClaimCommitment {
            encoding,
            compressed,
            point,
        })
    }
}

/// Reads the signed commitments claim (`{"claim": {scheme, encoding, pedersen}}`),
/// validating every point.
///
/// # Errors
/// [`VerifyError::InvalidPredicate`] for a malformed commitment.
pub fn read_commitments(value: &Value) -> Result<Vec<(String, ClaimCommitment)>, VerifyError> {
    let object = value
        .as_object()
        .ok_or_else(|| VerifyError::InvalidPredicate("commitments is not an object".into()))?;
    object
        .iter()
        .map(|(claim, commitment)| {
            Ok((
                claim.clone(),
                ClaimCommitment::from_json(claim, commitment)?,
            ))
        })
        .collect()
}

/// The Pedersen and Bulletproofs generators, built once.
pub fn generators() -> &'static (PedersenGens, BulletproofGens) {
    static GENERATORS: OnceLock<(PedersenGens, BulletproofGens)> = OnceLock::new();
    GENERATORS.get_or_init(|| {
        (
            PedersenGens::default(),
            BulletproofGens::new(RANGE_BITS, MAX_AGGREGATED),
        )
    })
}

/// The statements of a presentation, with the commitments the verifier derives.
#[derive(Debug, Clone)]
pub struct Statements {
    entries: Vec<(Predicate, ClaimCommitment)>,
}

impl Statements {
    /// Pairs each predicate with the issuer's commitment to its claim.
    ///
    /// # Errors
    /// [`VerifyError::InvalidPredicate`] for a claim with no commitment, or more
    /// range proofs than [`MAX_AGGREGATED`].
    pub fn new(
        predicates: Vec<Predicate>,
        commitments: &[(String, ClaimCommitment)],
    ) -> Result<Self, VerifyError> {
        let mut entries = Vec::with_capacity(predicates.len());
        for predicate in predicates {
            let commitment = commitments
                .iter()
                .find(|(claim, _)| *claim == predicate.claim)
                .map(|(_, commitment)| *commitment)
                .ok_or_else(|| {
                    VerifyError::InvalidPredicate(format!(
                        "{} has no issuer-signed commitment",
                        predicate.claim
                    ))
                })?;
            entries.push((predicate, commitment));
        }
        let ranges: usize = entries
            .iter()
            .map(|(predicate, _)| predicate.range_count())
            .sum();
        if ranges == 0 {
            return Err(VerifyError::InvalidPredicate(
                "no range proof to check".into(),
            ));
        }
        if ranges > MAX_AGGREGATED {
            return Err(VerifyError::LimitExceeded(format!(
                "more than {MAX_AGGREGATED} range proofs per presentation"
            )));
        }
        Ok(Statements { entries })
    }

    /// The predicates and commitments, in order.
    pub fn entries(&self) -> &[(Predicate, ClaimCommitment)] {
        &self.entries
    }

    /// The commitments each range proof is about, derived from the signed ones and
    /// the public bounds (lower bound first), padded with the identity to a power of two.
    pub fn derived_commitments(&self) -> Vec<CompressedRistretto> {
        // PedersenGens::default().B is the Ristretto basepoint: its precomputed table
        // makes each bound times B a fixed-base multiplication.
        let table = curve25519_dalek::constants::RISTRETTO_BASEPOINT_TABLE;
        let mut derived = Vec::with_capacity(MAX_AGGREGATED);
        for (predicate, commitment) in &self.entries {
            if let Some(min) = predicate.min {
                derived.push((commitment.point - table * &signed_scalar(min)).compress());
            }
            if let Some(max) = predicate.max {
                derived.push((table * &signed_scalar(max) - commitment.point).compress());
            }
        }
        let padded = derived.len().next_power_of_two();
        derived.resize(padded, RistrettoPoint::identity().compress());
        derived
    }

    /// The transcript binding these statements to one presentation.
    pub fn transcript(&self, sd_hash: &str, audience: &str, nonce: &str) -> merlin::Transcript {
        let mut transcript = predicate_transcript();
        transcript.bind_presentation(sd_hash, audience, nonce, self.entries.len());
        for (predicate, commitment) in &self.entries {
            transcript.bind_statement(
                &predicate.claim,
                predicate.min,
                predicate.max,
                commitment.compressed(),
            );
        }
        transcript
    }

    fn proven(&self) -> Vec<ProvenPredicate> {
        self.entries
            .iter()
            .map(|(predicate, commitment)| ProvenPredicate {
                claim: predicate.claim.clone(),
                min: predicate.min,
                max: predicate.max,
                encoding: commitment.encoding,
            })
            .collect()
    }
}

/// A signed integer as a scalar (negative values are negated).
pub fn signed_scalar(value: i64) -> Scalar {
    let magnitude = Scalar::from(value.unsigned_abs());
    if value < 0 {
        -magnitude
    } else {
        magnitude
    }
}

/// Predicates and their aggregated proof, parsed from a KB-JWT; verified last.
#[derive(Debug, Clone)]
pub(crate) struct PendingProof {
    statements: Statements,
    proof: Vec<u8>,
    sd_hash: String,
    audience: String,
    nonce: String,
}

impl PendingProof {
    /// Reads `predicates` and `predicate_proof` from a KB-JWT payload.
    pub(crate) fn from_kb_payload(
        payload: &Map<String, Value>,
        commitments: Option<&Value>,
        sd_hash: &str,
        audience: &str,
        nonce: &str,
    ) -> Result<Option<Self>, VerifyError> {
        let (predicates, proof) = match (payload.get("predicates"), payload.get("predicate_proof"))
        {
            (None, None) => return Ok(None),
            (Some(Value::Array(predicates)), Some(Value::String(proof))) => (predicates, proof),
            _ => {
                return Err(VerifyError::malformed(
                    "KB-JWT predicates must be an array with a predicate_proof string",
                ))
            }
        };
        if predicates.len() > MAX_AGGREGATED {
            return Err(VerifyError::LimitExceeded(format!(
                "more than {MAX_AGGREGATED} predicates"
            )));
        }
        if proof.len() > MAX_PROOF_CHARS {
            return Err(VerifyError::LimitExceeded(format!(
                "predicate proof longer than {MAX_PROOF_CHARS} characters"
            )));
        }
        let predicates = predicates
            .iter()
            .map(Predicate::from_json)
            .collect::<Result<Vec<_>, _>>()?;
        let commitments = match commitments {
            Some(value) => read_commitments(value)?,
            None => Vec::new(),
        };
        let statements = Statements::new(predicates, &commitments)?;
        let proof = b64url_decode(proof, "predicate proof")?;
        Ok(Some(PendingProof {
            statements,
            proof,
            sd_hash: sd_hash.to_owned(),
            audience: audience.to_owned(),
            nonce: nonce.to_owned(),
        }))
    }

    /// Verifies the aggregated range proof; returns the proven statements.
    pub(crate) fn verify(&self) -> Result<Vec<ProvenPredicate>, VerifyError> {
        let proof =
            RangeProof::from_bytes(&self.proof).map_err(|_| VerifyError::InvalidPredicateProof)?;
        let (pedersen, bulletproof) = generators();
        let mut transcript = self
            .statements
            .transcript(&self.sd_hash, &self.audience, &self.nonce);
        proof
            .verify_multiple(
                bulletproof,
                pedersen,
                &mut transcript,
                &self.statements.derived_commitments(),
                RANGE_BITS,
            )
            .map_err(|_| VerifyError::InvalidPredicateProof)?;
        Ok(self.statements.proven())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicates_parse_in_every_form() {
        let today = date_to_days("2026-11-22").expect("date");
        let parse = |text| Predicate::parse(text, today);
        assert_eq!(
            parse("birthdate<=2008-11-22"),
            Ok(Predicate::at_most("birthdate", 14205))
        );
        assert_eq!(parse("age>=18"), Ok(Predicate::at_most("birthdate", 14205)));
        assert_eq!(
            parse(" age >= 18 "),
            Ok(Predicate::at_most("birthdate", 14205))
        );
        assert_eq!(parse("level>=3"), Ok(Predicate::at_least("level", 3)));
        assert_eq!(parse("level >= 3"), Ok(Predicate::at_least("level", 3)));
        assert_eq!(parse("3<=level<=5"), Ok(Predicate::between("level", 3, 5)));
        assert_eq!(
            parse("3 <= level <= 5"),
            Ok(Predicate::between("level", 3, 5))
        );
        assert_eq!(parse(" limit <= -7 "), Ok(Predicate::at_most("limit", -7)));
        for bad in [
            "",
            "level",
            "level<3",
            "5<=level<=3",
            "a>=1>=2",
            "x<=2008-13-01",
            "x<=99999999999",
            "<=3",
            "age>=x",
        ] {
            assert!(parse(bad).is_err(), "{bad} must be refused");
        }
    }

    #[test]
    fn the_pedersen_base_is_the_ristretto_basepoint() {
        // derived_commitments relies on it to use the precomputed table.
        assert_eq!(
            generators().0.B,
            curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT
        );
    }

    #[test]
    fn dates_map_to_days_since_the_epoch() {
        assert_eq!(date_to_days("1970-01-01"), Some(0));
        assert_eq!(date_to_days("1969-12-31"), Some(-1));
        assert_eq!(date_to_days("2008-11-22"), Some(14205));
        assert_eq!(days_to_date(14205).as_deref(), Some("2008-11-22"));
        assert_eq!(date_to_days("2008-02-30"), None);
    }

    #[test]
    fn age_cutoffs_count_whole_years() {
        let cutoff = |years, today| {
            birthdate_cutoff(years, date_to_days(today).expect("date")).and_then(days_to_date)
        };
        assert_eq!(cutoff(18, "2026-11-22").as_deref(), Some("2008-11-22"));
        assert_eq!(cutoff(18, "2026-02-28").as_deref(), Some("2008-02-28"));
        assert_eq!(cutoff(1, "2025-02-28").as_deref(), Some("2024-02-28"));
        assert_eq!(cutoff(1, "2024-02-29").as_deref(), Some("2023-02-28"));
    }
}
