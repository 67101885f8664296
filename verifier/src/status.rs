//! Token Status List (draft-ietf-oauth-status-list): revocation checked offline.
//!
//! A referenced credential carries `status: {status_list: {idx, uri}}`. Its issuer
//! publishes a Status List Token — a JWT (`typ: statuslist+jwt`) with `sub` = the
//! list's URI and `status_list: {bits, lst}`, where `lst` is the base64url of the
//! ZLIB-compressed status array. Verifiers take these tokens as offline input:
//! [`StatusLists::add_token`] checks each one (signature by a trusted issuer,
//! validity, freshness) and decompresses it once; every lookup afterwards is an
//! index into bytes.

use std::collections::HashMap;
use std::io::Read;

use flate2::read::ZlibDecoder;
use serde_json::Value;

use crate::encoding::b64url_decode;
use crate::error::{truncate, SignatureRole, VerifyError};
use crate::jws::{numeric_date, string_claim, CompactJws};
use crate::trust::TrustStore;
use crate::verify::DEFAULT_CLOCK_SKEW_SECS;

/// The `typ` of a Status List Token.
pub const STATUS_LIST_TYP: &str = "statuslist+jwt";
/// Largest status list token read, in bytes.
pub const MAX_STATUS_TOKEN_BYTES: usize = 1024 * 1024;
/// Largest decompressed status list, in bytes (2^27 entries of one bit).
pub const MAX_STATUS_LIST_BYTES: usize = 16 * 1024 * 1024;

/// What a status value means (draft-ietf-oauth-status-list §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Status {
    /// 0x00.
    Valid,
    /// 0x01: revoked for good.
    Invalid,
    /// 0x02: temporarily suspended.
    Suspended,
    /// Any other value (application-specific); treated as not valid.
    Other(u8),
}

/// One checked, decompressed status list.
#[derive(Debug, Clone)]
pub struct StatusList {
    uri: String,
    issuer: String,
    bits: u8,
    bytes: Vec<u8>,
    issued_at: u64,
    expires_at: Option<u64>,
}

impl StatusList {
    /// The list's URI (the token's `sub`).
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The issuer that signed it.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// When the token was issued (`iat`).
    pub fn issued_at(&self) -> u64 {
        self.issued_at
    }

    /// When the token expires (`exp`), if it says.
    pub fn expires_at(&self) -> Option<u64> {
        self.expires_at
    }

    /// Why this list may not be used at `now`, or `None` while it is fresh: not
    /// expired, issued at most `max_age_secs` ago and not in the future beyond
    /// `skew_secs`. What a long-running service reports in its health check.
    pub fn staleness(&self, now: u64, max_age_secs: u64, skew_secs: u64) -> Option<String> {
        check_fresh(
            &self.uri,
            self.issued_at,
            self.expires_at,
            now,
            max_age_secs,
            skew_secs,
        )
        .err()
        .map(|error| match error {
            VerifyError::StatusUnknown(reason) => reason,
            other => other.to_string(),
        })
    }

    /// How many entries it holds.
    pub fn len(&self) -> usize {
        self.bytes.len() * 8 / usize::from(self.bits)
    }

    /// True when it holds no entry.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The status at `index`, or `None` past the end.
    pub fn status(&self, index: u64) -> Option<Status> {
        let bits = u64::from(self.bits);
        let bit = index.checked_mul(bits)?;
        let byte = *self.bytes.get(usize::try_from(bit / 8).ok()?)?;
        let shift = (bit % 8) as u32;
        let mask = ((1u16 << bits) - 1) as u8;
        Some(match (byte >> shift) & mask {
            0 => Status::Valid,
            1 => Status::Invalid,
            2 => Status::Suspended,
            other => Status::Other(other),
        })
    }
}

/// The status lists a verifier knows, by signer and URI. A list applies only to the
/// credentials of the issuer that signed it, or of an issuer whose trust entry names
/// its signer as a status provider: a second signer cannot shadow another's URI.
#[derive(Debug, Clone, Default)]
pub struct StatusLists {
    lists: HashMap<(String, String), StatusList>,
}

impl StatusLists {
    /// No lists: every status reference is unknown.
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks a Status List Token and adds its list: `typ: statuslist+jwt`, signed by
    /// an issuer in `trust` or by a did:key (whose list then applies only to what
    /// that key issued, or to issuers naming it as their status provider), `sub` naming the list, not expired at `now`, issued
    /// at most `max_age_secs` ago and not later than `now` plus the default clock
    /// skew ([`crate::Policy::clock_skew_secs`], 60 s). The list is decompressed
    /// here, once.
    ///
    /// # Errors
    /// A [`VerifyError`] naming the check that failed; the lists are unchanged.
    pub fn add_token(
        &mut self,
        token: &str,
        trust: &TrustStore,
        now: u64,
        max_age_secs: u64,
    ) -> Result<(), VerifyError> {
        let list = parse_token(token, trust, now, max_age_secs)?;
        let key = (list.issuer.clone(), list.uri.clone());
        // An older token for the same list never replaces a newer one: replaying a
        // stale token must not undo a revocation.
        let newer_known = self
            .lists
            .get(&key)
            .is_some_and(|known| known.issued_at > list.issued_at);
        if !newer_known {
            self.lists.insert(key, list);
        }
        Ok(())
    }

    /// Every list known, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &StatusList> {
        self.lists.values()
    }

    /// The list `uri` as signed by `signer`.
    pub fn get(&self, signer: &str, uri: &str) -> Option<&StatusList> {
        self.lists.get(&(signer.to_owned(), uri.to_owned()))
    }

    /// How many lists are known.
    pub fn len(&self) -> usize {
        self.lists.len()
    }

    /// True when no list is known.
    pub fn is_empty(&self) -> bool {
        self.lists.is_empty()
    }

    /// Checks the `status` claim of a credential issued by `issuer` at `now`. A
    /// credential without one passes; with one, its list must be known, signed by the
    /// issuer or one of its `providers`, still fresh (not expired, issued at most `max_age_secs` ago: a
    /// long-running verifier must not go on trusting a list it loaded days ago), and
    /// hold `Valid` at the index.
    pub(crate) fn check(
        &self,
        status: Option<&Value>,
        issuer: &str,
        providers: &[String],
        now: u64,
        max_age_secs: u64,
        skew_secs: u64,
    ) -> Result<(), VerifyError> {
        let Some(status) = status else { return Ok(()) };
        let reference = status
            .get("status_list")
            .ok_or_else(|| VerifyError::malformed("status has no status_list"))?;
        let index = reference
            .get("idx")
            .and_then(Value::as_u64)
            .ok_or_else(|| VerifyError::malformed("status_list.idx is not a whole number"))?;
        let uri = reference
            .get("uri")
            .and_then(Value::as_str)
            .ok_or_else(|| VerifyError::malformed("status_list.uri is not a string"))?;
        let list = std::iter::once(issuer)
            .chain(providers.iter().map(String::as_str))
            .find_map(|signer| self.get(signer, uri))
            .ok_or_else(|| {
                VerifyError::StatusUnknown(format!(
                    "{}: no status list from the credential's issuer",
                    truncate(uri)
                ))
            })?;
        check_fresh(
            uri,
            list.issued_at,
            list.expires_at,
            now,
            max_age_secs,
            skew_secs,
        )?;
        match list.status(index) {
            Some(Status::Valid) => Ok(()),
            Some(status) => Err(VerifyError::Revoked(format!(
                "{status:?} at index {index} of {}",
                truncate(uri)
            ))),
            None => Err(VerifyError::malformed(
                "status_list.idx is past the end of the list",
            )),
        }
    }
}

/// A list is usable while not expired, issued at most `max_age_secs` ago and not
/// issued in the future beyond `skew_secs` (such a token would never go stale and
/// would hide the revocations of every newer one); checked when a token is loaded
/// and again at every use.
fn check_fresh(
    uri: &str,
    issued_at: u64,
    expires_at: Option<u64>,
    now: u64,
    max_age_secs: u64,
    skew_secs: u64,
) -> Result<(), VerifyError> {
    if issued_at > now.saturating_add(skew_secs) {
        return Err(VerifyError::StatusUnknown(format!(
            "the list {} is issued in the future",
            truncate(uri)
        )));
    }
    if expires_at.is_some_and(|exp| exp < now) {
        return Err(VerifyError::StatusUnknown(format!(
            "the list {} has expired",
            truncate(uri)
        )));
    }
    if now.saturating_sub(issued_at) > max_age_secs {
        return Err(VerifyError::StatusUnknown(format!(
            "the list {} is older than {max_age_secs} s",
            truncate(uri)
        )));
    }
    Ok(())
}

fn parse_token(
    token: &str,
    trust: &TrustStore,
    now: u64,
    max_age_secs: u64,
) -> Result<StatusList, VerifyError> {
    let token = token.trim();
    if token.len() > MAX_STATUS_TOKEN_BYTES {
        return Err(VerifyError::LimitExceeded(
            "status list token too large".into(),
        ));
    }
    let jws = CompactJws::parse(token, 8, "status list token")?;
    if jws.typ.as_deref() != Some(STATUS_LIST_TYP) {
        return Err(VerifyError::UnexpectedType {
            found: jws.typ.clone(),
            expected: STATUS_LIST_TYP.into(),
        });
    }
    let issuer = string_claim(&jws.payload, "iss", "status list token")?
        .ok_or_else(|| VerifyError::malformed("status list token has no iss"))?;
    let trusted = trust.resolve_status_signer(issuer, jws.kid.as_deref())?;
    trusted
        .key()
        .verify(jws.alg, jws.signing_input.as_bytes(), &jws.signature)
        .map_err(|_| VerifyError::InvalidSignature(SignatureRole::StatusList))?;
    let uri = string_claim(&jws.payload, "sub", "status list token")?
        .ok_or_else(|| VerifyError::malformed("status list token has no sub"))?;
    let issued_at = numeric_date(&jws.payload, "iat", "status list token")?
        .ok_or_else(|| VerifyError::malformed("status list token has no iat"))?;
    let expires_at = numeric_date(&jws.payload, "exp", "status list token")?;
    check_fresh(
        uri,
        issued_at,
        expires_at,
        now,
        max_age_secs,
        DEFAULT_CLOCK_SKEW_SECS,
    )?;
    let list = jws
        .payload
        .get("status_list")
        .ok_or_else(|| VerifyError::malformed("status list token has no status_list"))?;
    let bits = list
        .get("bits")
        .and_then(Value::as_u64)
        .filter(|bits| matches!(bits, 1 | 2 | 4 | 8));
    let bits =
        bits.ok_or_else(|| VerifyError::malformed("status_list.bits must be 1, 2, 4 or 8"))?;
    let compressed = list
        .get("lst")
        .and_then(Value::as_str)
        .ok_or_else(|| VerifyError::malformed("status_list.lst is not a string"))?;
    let compressed = b64url_decode(compressed, "status_list.lst")?;
    let mut bytes = Vec::new();
    // Bounded: a small "zip bomb" must not expand without limit.
    ZlibDecoder::new(compressed.as_slice())
        .take(MAX_STATUS_LIST_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|_| VerifyError::malformed("status_list.lst is not ZLIB data"))?;
    if bytes.len() > MAX_STATUS_LIST_BYTES {
        return Err(VerifyError::LimitExceeded(
            "status list larger than 16 MiB".into(),
        ));
    }
    Ok(StatusList {
        uri: uri.to_owned(),
        issuer: issuer.to_owned(),
        bits: bits as u8,
        bytes,
        issued_at,
        expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draft_example_one_bit_list() {
        // draft-ietf-oauth-status-list §4.1 example: statuses 1,0,0,1,1,1,0,1 /
        // 1,1,0,0,0,1,0,1 → bytes 0xB9 0xA3 (least significant bit first).
        let list = StatusList {
            uri: "https://example.com/statuslists/1".into(),
            issuer: "x".into(),
            bits: 1,
            bytes: vec![0xb9, 0xa3],
            issued_at: 0,
            expires_at: None,
        };
        let expected = [1u8, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1];
        for (index, value) in expected.iter().enumerate() {
            let status = list.status(index as u64).expect("in range");
            assert_eq!(status == Status::Invalid, *value == 1, "index {index}");
        }
        assert_eq!(list.status(16), None);
        assert_eq!(list.len(), 16);
    }

    #[test]
    fn two_bit_entries_read_their_own_bits() {
        // draft §4.1, 2-bit example: 0xC9 0x44 0xF9 holds 1,2,0,3,0,1,0,1,1,2,3,3.
        let list = StatusList {
            uri: String::new(),
            issuer: String::new(),
            bits: 2,
            bytes: vec![0xc9, 0x44, 0xf9],
            issued_at: 0,
            expires_at: None,
        };
        let values: Vec<Status> = (0..12)
            .map(|index| list.status(index).expect("in range"))
            .collect();
        assert_eq!(values[0], Status::Invalid);
        assert_eq!(values[1], Status::Suspended);
        assert_eq!(values[2], Status::Valid);
        assert_eq!(values[3], Status::Other(3));
        assert_eq!(values[11], Status::Other(3));
    }
}
