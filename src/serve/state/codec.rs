//! The sled tree's keys and record encoding (format 1).
//!
//! One tree, three kinds of key, told apart by their first byte:
//!
//! | key | value |
//! |---|---|
//! | `m` ‖ `schema_version` | the format version, `u32` big-endian |
//! | `r` ‖ id | the record below |
//! | `x` ‖ `expires_at` (`u64` BE) ‖ id | empty: the expiry index `sweep` walks in order |
//!
//! A record is `1` (format) ‖ phase (1 byte) ‖ `created_at` (`u64` BE) ‖
//! `expires_at` (`u64` BE) ‖ state digest (32) ‖ request length (`u32` BE) ‖ request
//! ‖ verdict flag (0 or 1) ‖ [verdict length (`u32` BE) ‖ verdict]. Decoding is
//! strict: any other length, flag, phase or format is [`StateError::Corrupt`].

use super::{OpenRequest, Phase, StateDigest, StateError};

/// The format this build writes and reads.
pub(super) const FORMAT: u32 = 1;
/// The key of the format version.
pub(super) const VERSION_KEY: &[u8] = b"mschema_version";
/// The first byte of record keys.
const RECORD: u8 = b'r';
/// The first byte of expiry-index keys.
pub(super) const EXPIRY: u8 = b'x';
/// Bytes before the request: format, phase, two times, the digest, the length.
const HEADER_LEN: usize = 1 + 1 + 8 + 8 + 32 + 4;

/// A stored request: the request as created, its phase and its verdict.
#[derive(Clone)]
pub(super) struct Record {
    pub(super) request: OpenRequest,
    pub(super) phase: Phase,
    pub(super) verdict: Option<Vec<u8>>,
}

/// The key of the record of `id`.
pub(super) fn record_key(id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + id.len());
    key.push(RECORD);
    key.extend_from_slice(id.as_bytes());
    key
}

/// The expiry-index key of the request `id` expiring at `expires_at`.
pub(super) fn expiry_key(expires_at: u64, id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(9 + id.len());
    key.push(EXPIRY);
    key.extend_from_slice(&expires_at.to_be_bytes());
    key.extend_from_slice(id.as_bytes());
    key
}

/// The expiry and id an expiry-index key holds.
pub(super) fn parse_expiry_key(key: &[u8]) -> Result<(u64, &str), StateError> {
    let corrupt = || StateError::Corrupt("malformed expiry index key".into());
    let (head, id) = key.split_at_checked(9).ok_or_else(corrupt)?;
    let (&kind, time) = head.split_first().ok_or_else(corrupt)?;
    let time: [u8; 8] = time.try_into().map_err(|_| corrupt())?;
    let id = std::str::from_utf8(id).map_err(|_| corrupt())?;
    if kind != EXPIRY {
        return Err(corrupt());
    }
    Ok((u64::from_be_bytes(time), id))
}

fn phase_code(phase: Phase) -> u8 {
    match phase {
        Phase::Created => 0,
        Phase::RequestServed => 1,
        Phase::Responding => 2,
        Phase::Answered => 3,
    }
}

fn phase_from_code(code: u8) -> Option<Phase> {
    [
        Phase::Created,
        Phase::RequestServed,
        Phase::Responding,
        Phase::Answered,
    ]
    .into_iter()
    .find(|&phase| phase_code(phase) == code)
}

/// A blob's length as stored; the limits keep blobs far below 4 GiB.
fn blob_len(blob: &[u8]) -> Result<[u8; 4], StateError> {
    u32::try_from(blob.len())
        .map(u32::to_be_bytes)
        .map_err(|_| StateError::InvalidRequest("blob longer than 4 GiB"))
}

impl Record {
    /// The record's bytes.
    pub(super) fn encode(&self) -> Result<Vec<u8>, StateError> {
        let request = &self.request;
        let verdict_len = self.verdict.as_ref().map_or(0, |v| 4 + v.len());
        let mut out = Vec::with_capacity(HEADER_LEN + request.request.len() + 1 + verdict_len);
        out.push(1);
        out.push(phase_code(self.phase));
        out.extend_from_slice(&request.created_at.to_be_bytes());
        out.extend_from_slice(&request.expires_at.to_be_bytes());
        out.extend_from_slice(request.state_digest.as_bytes());
        out.extend_from_slice(&blob_len(&request.request)?);
        out.extend_from_slice(&request.request);
        match &self.verdict {
            None => out.push(0),
            Some(verdict) => {
                out.push(1);
                out.extend_from_slice(&blob_len(verdict)?);
                out.extend_from_slice(verdict);
            }
        }
        Ok(out)
    }

    /// The record of `id` stored as `bytes`.
    pub(super) fn decode(id: &str, bytes: &[u8]) -> Result<Record, StateError> {
        let mut reader = Reader(bytes);
        if reader.take::<1>()? != [1] {
            return Err(StateError::Corrupt("unknown record format".into()));
        }
        let [code] = reader.take::<1>()?;
        let phase =
            phase_from_code(code).ok_or_else(|| StateError::Corrupt("unknown phase".into()))?;
        let created_at = u64::from_be_bytes(reader.take()?);
        let expires_at = u64::from_be_bytes(reader.take()?);
        let state_digest = StateDigest::from_bytes(reader.take()?);
        let request = reader.blob()?;
        let verdict = match reader.take::<1>()? {
            [0] => None,
            [1] => Some(reader.blob()?),
            _ => return Err(StateError::Corrupt("bad verdict flag".into())),
        };
        if !reader.0.is_empty() {
            return Err(StateError::Corrupt("trailing bytes in a record".into()));
        }
        if verdict.is_some() != (phase == Phase::Answered) {
            return Err(StateError::Corrupt("verdict and phase disagree".into()));
        }
        Ok(Record {
            request: OpenRequest {
                id: id.to_owned(),
                state_digest,
                created_at,
                expires_at,
                request,
            },
            phase,
            verdict,
        })
    }
}

/// Reads a record front to back; running out is [`StateError::Corrupt`].
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], StateError> {
        let (head, rest) = self
            .0
            .split_first_chunk::<N>()
            .ok_or_else(|| StateError::Corrupt("truncated record".into()))?;
        self.0 = rest;
        Ok(*head)
    }

    fn blob(&mut self) -> Result<Vec<u8>, StateError> {
        let len = usize::try_from(u32::from_be_bytes(self.take()?))
            .map_err(|_| StateError::Corrupt("blob length out of range".into()))?;
        let (blob, rest) = self
            .0
            .split_at_checked(len)
            .ok_or_else(|| StateError::Corrupt("truncated record".into()))?;
        self.0 = rest;
        Ok(blob.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(verdict: Option<Vec<u8>>, phase: Phase) -> Record {
        Record {
            request: OpenRequest {
                id: "abc".into(),
                state_digest: StateDigest::of_state("s"),
                created_at: 5,
                expires_at: 9,
                request: b"sealed".to_vec(),
            },
            phase,
            verdict,
        }
    }

    #[test]
    fn round_trip_and_every_truncation_is_corrupt() {
        for original in [
            record(None, Phase::Created),
            record(Some(b"v".to_vec()), Phase::Answered),
        ] {
            let bytes = original.encode().ok().unwrap_or_default();
            let decoded = Record::decode("abc", &bytes).ok();
            let decoded = decoded.as_ref();
            assert_eq!(decoded.map(|r| r.phase), Some(original.phase));
            assert_eq!(decoded.and_then(|r| r.verdict.clone()), original.verdict);
            assert_eq!(
                decoded.map(|r| r.request.request.clone()),
                Some(b"sealed".to_vec())
            );
            assert!(decoded
                .is_some_and(|r| r.request.state_digest.matches(&StateDigest::of_state("s"))));
            for cut in 0..bytes.len() {
                assert!(matches!(
                    Record::decode("abc", &bytes[..cut]),
                    Err(StateError::Corrupt(_))
                ));
            }
            let mut longer = bytes.clone();
            longer.push(0);
            assert!(matches!(
                Record::decode("abc", &longer),
                Err(StateError::Corrupt(_))
            ));
        }
    }

    #[test]
    fn expiry_keys_sort_by_time() {
        let early = expiry_key(255, "zzz");
        let late = expiry_key(256, "aaa");
        assert!(early < late);
        assert_eq!(parse_expiry_key(&late).ok(), Some((256, "aaa")));
        assert!(parse_expiry_key(b"x123").is_err());
    }
}
