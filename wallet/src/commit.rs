//! Committed claims: the issuer's Pedersen commitments and the openings it hands to
//! the holder, and the holder's aggregated range proofs over them.

use agentid_verifier::predicate::{
    generators, signed_scalar, ClaimCommitment, Predicate, Statements, ValueEncoding,
    MAX_AGGREGATED, RANGE_BITS,
};
use agentid_verifier::{b64url_encode, sha256_b64};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use bulletproofs::RangeProof;
use curve25519_dalek::scalar::Scalar;
use rand_core::OsRng;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::WalletError;

/// The secret opening `(value, blinding)` of a commitment to one claim. Only the
/// holder ever sees it; it never appears in a presentation. Zeroized on drop;
/// `Debug` shows the claim only.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Opening {
    #[zeroize(skip)]
    claim: String,
    value: i64,
    blinding: Scalar,
}

impl std::fmt::Debug for Opening {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Opening({}, ..)", self.claim)
    }
}

/// The serialized form of an opening (issuance envelope and wallet record).
#[derive(Serialize, Deserialize)]
pub(crate) struct OpeningJson {
    pub(crate) claim: String,
    pub(crate) value: i64,
    pub(crate) blinding: Zeroizing<String>,
}

impl Opening {
    /// Commits to `value` with a fresh random blinding.
    pub(crate) fn commit(
        claim: &str,
        value: i64,
        encoding: ValueEncoding,
    ) -> (ClaimCommitment, Opening) {
        let opening = Opening {
            claim: claim.to_owned(),
            value,
            blinding: Scalar::random(&mut OsRng),
        };
        (
            ClaimCommitment::from_point(opening.point(), encoding),
            opening,
        )
    }

    fn point(&self) -> curve25519_dalek::ristretto::RistrettoPoint {
        generators()
            .0
            .commit(signed_scalar(self.value), self.blinding)
    }

    /// The claim this opens.
    pub fn claim(&self) -> &str {
        &self.claim
    }

    /// True when this opening opens `commitment` (checked before a wallet stores it).
    pub fn opens(&self, commitment: &ClaimCommitment) -> bool {
        self.point().compress().as_bytes() == commitment.compressed()
    }

    /// Declassifying for storage or hand-over to the holder: the opening as JSON.
    pub(crate) fn to_json(&self) -> OpeningJson {
        OpeningJson {
            claim: self.claim.clone(),
            value: self.value,
            blinding: Zeroizing::new(b64url_encode(self.blinding.as_bytes())),
        }
    }

    pub(crate) fn from_json(json: &OpeningJson) -> Result<Self, WalletError> {
        let invalid = || WalletError::request(format!("invalid opening for {}", json.claim));
        let bytes: Zeroizing<Vec<u8>> = Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(json.blinding.as_bytes())
                .map_err(|_| invalid())?,
        );
        let array: [u8; 32] = bytes.as_slice().try_into().map_err(|_| invalid())?;
        let blinding =
            Option::<Scalar>::from(Scalar::from_canonical_bytes(array)).ok_or_else(invalid)?;
        Ok(Opening {
            claim: json.claim.clone(),
            value: json.value,
            blinding,
        })
    }
}

/// Proves `statements` with the holder's openings, bound to the presentation
/// (`presented` is everything before the KB-JWT), its audience and nonce.
///
/// # Errors
/// [`WalletError::FalseStatement`] when a predicate does not hold for the committed
/// value (the prover refuses; a forced proof would not verify anyway),
/// [`WalletError::NoSuchClaim`] without an opening for a claim.
pub(crate) fn prove(
    statements: &Statements,
    openings: &[Opening],
    presented: &str,
    audience: &str,
    nonce: &str,
) -> Result<Vec<u8>, WalletError> {
    // Sized once, so no reallocation leaves copies of the secrets behind; both are
    // zeroized on every exit.
    let mut values: Zeroizing<Vec<u64>> = Zeroizing::new(Vec::with_capacity(MAX_AGGREGATED));
    let mut blindings: Zeroizing<Vec<Scalar>> = Zeroizing::new(Vec::with_capacity(MAX_AGGREGATED));
    for (predicate, commitment) in statements.entries() {
        let opening = openings
            .iter()
            .find(|opening| opening.claim == predicate.claim)
            .ok_or_else(|| {
                WalletError::NoSuchClaim(format!("{} (no opening held)", predicate.claim))
            })?;
        if !opening.opens(commitment) {
            return Err(WalletError::request(format!(
                "the opening of {} does not match its commitment",
                predicate.claim
            )));
        }
        let false_statement =
            || WalletError::FalseStatement(describe(predicate, commitment.encoding));
        if let Some(min) = predicate.min {
            values.push(difference(opening.value, min).ok_or_else(false_statement)?);
            blindings.push(opening.blinding);
        }
        if let Some(max) = predicate.max {
            values.push(difference(max, opening.value).ok_or_else(false_statement)?);
            blindings.push(-opening.blinding);
        }
    }
    let padded = values.len().next_power_of_two();
    values.resize(padded, 0);
    blindings.resize(padded, Scalar::ZERO);
    let (pedersen, bulletproof) = generators();
    let mut transcript = statements.transcript(&sha256_b64(presented), audience, nonce);
    let (proof, commitments) = RangeProof::prove_multiple(
        bulletproof,
        pedersen,
        &mut transcript,
        &values,
        &blindings,
        RANGE_BITS,
    )
    .map_err(|error| WalletError::request(format!("range proof failed: {error}")))?;
    if commitments != statements.derived_commitments() {
        return Err(WalletError::request(
            "range proof commitments differ from the verifier's",
        ));
    }
    Ok(proof.to_bytes())
}

/// `high − low` when it is a valid range-proof value (`0 ≤ · < 2^32`).
fn difference(high: i64, low: i64) -> Option<u64> {
    let difference = high.checked_sub(low)?;
    u64::try_from(difference)
        .ok()
        .filter(|value| *value < 1 << RANGE_BITS)
}

fn describe(predicate: &Predicate, encoding: ValueEncoding) -> String {
    match (predicate.min, predicate.max) {
        (Some(min), Some(max)) => format!(
            "{} <= {} <= {}",
            encoding.display(min),
            predicate.claim,
            encoding.display(max)
        ),
        (Some(min), None) => format!("{} >= {}", predicate.claim, encoding.display(min)),
        (None, Some(max)) => format!("{} <= {}", predicate.claim, encoding.display(max)),
        (None, None) => predicate.claim.clone(),
    }
}

/// What `agentid issue` hands to the holder: the SD-JWT and, when claims are
/// committed, their openings. Without openings it is the plain SD-JWT.
#[derive(Serialize, Deserialize)]
struct IssuanceEnvelope {
    credential: Zeroizing<String>,
    openings: Vec<OpeningJson>,
}

/// The text of an issuance for its holder: the SD-JWT alone, or, when claims are
/// committed, a JSON envelope `{"credential": …, "openings": [{claim, value, blinding}]}`.
/// It holds secrets (every disclosure, the openings): give it to the holder only.
pub fn issuance_text(sd_jwt: &str, openings: &[Opening]) -> String {
    if openings.is_empty() {
        return sd_jwt.to_owned();
    }
    let envelope = IssuanceEnvelope {
        credential: Zeroizing::new(sd_jwt.to_owned()),
        openings: openings.iter().map(Opening::to_json).collect(),
    };
    serde_json::to_string_pretty(&envelope).unwrap_or_default()
}

/// Reads what [`issuance_text`] wrote: the SD-JWT and the openings.
///
/// # Errors
/// [`WalletError::InvalidRequest`] for an envelope that is not valid.
pub(crate) fn parse_issuance(text: &str) -> Result<(Zeroizing<String>, Vec<Opening>), WalletError> {
    let text = text.trim();
    if !text.starts_with('{') {
        return Ok((Zeroizing::new(text.to_owned()), Vec::new()));
    }
    let envelope: IssuanceEnvelope = serde_json::from_str(text).map_err(|_| {
        WalletError::request("not an SD-JWT nor an issuance envelope {credential, openings}")
    })?;
    let openings = envelope
        .openings
        .iter()
        .map(Opening::from_json)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((envelope.credential, openings))
}
