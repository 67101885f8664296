//! The issuer's own Token Status List (draft-ietf-oauth-status-list): an index
//! allocated for every credential it issues, revocation by `jti`, and the signed
//! status list token that verifiers take as offline input.

use std::io::Write;

use agentid_verifier::{b64url_encode, STATUS_LIST_TYP};
use flate2::write::ZlibEncoder;
use flate2::Compression;
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::error::WalletError;
use crate::jws::sign_compact;
use crate::keys::SigningKey;

/// Entries in a list: 2^20, so an index says little about issuance order and a
/// list holds a million credentials.
pub const STATUS_LIST_ENTRIES: u32 = 1 << 20;

/// The list's bookkeeping, stored encrypted in the issuer's wallet.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StatusListState {
    pub(crate) uri: String,
    /// Revoked indices, sorted.
    pub(crate) revoked: Vec<u32>,
}

impl StatusListState {
    pub(crate) fn new(uri: String) -> Self {
        StatusListState {
            uri,
            revoked: Vec::new(),
        }
    }

    /// Marks `index` revoked; false if it already was.
    pub(crate) fn revoke(&mut self, index: u32) -> bool {
        match self.revoked.binary_search(&index) {
            Ok(_) => false,
            Err(position) => {
                self.revoked.insert(position, index);
                true
            }
        }
    }

    /// The signed status list token, valid for `ttl_secs` from `now`.
    pub(crate) fn token(
        &self,
        issuer: &str,
        kid: &str,
        key: &SigningKey,
        now: u64,
        ttl_secs: u64,
    ) -> Result<String, WalletError> {
        let entries: Vec<(u32, u8)> = self.revoked.iter().map(|&index| (index, 1)).collect();
        let token = ListToken {
            uri: &self.uri,
            bits: 1,
            entries: &entries,
            now,
            lifetime_secs: ttl_secs,
            ttl_secs,
        };
        token.sign(issuer, Some(kid), key)
    }
}

/// One status list token to sign: the list's URI, its entry width and every entry
/// that is not VALID (0).
pub(crate) struct ListToken<'a> {
    pub(crate) uri: &'a str,
    /// Bits per entry: 1, 2, 4 or 8.
    pub(crate) bits: u8,
    /// `(index, value)`; indexes below [`STATUS_LIST_ENTRIES`], values below `2^bits`.
    pub(crate) entries: &'a [(u32, u8)],
    pub(crate) now: u64,
    /// `exp − iat`.
    pub(crate) lifetime_secs: u64,
    /// The `ttl` claim: how long a consumer may cache the token before fetching
    /// it again.
    pub(crate) ttl_secs: u64,
}

impl ListToken<'_> {
    /// The signed token (`typ: statuslist+jwt`), `exp` = `now + lifetime_secs`.
    pub(crate) fn sign(
        &self,
        issuer: &str,
        kid: Option<&str>,
        key: &SigningKey,
    ) -> Result<String, WalletError> {
        if !matches!(self.bits, 1 | 2 | 4 | 8) {
            return Err(WalletError::request(
                "status list entries are 1, 2, 4 or 8 bits",
            ));
        }
        let bits = usize::from(self.bits);
        let mut array = vec![0u8; STATUS_LIST_ENTRIES as usize * bits / 8];
        for &(index, value) in self.entries {
            if index >= STATUS_LIST_ENTRIES || u16::from(value) >= 1 << bits {
                return Err(WalletError::request("status list entry out of range"));
            }
            // Entries fill each byte from its least significant bit (§4.1).
            let bit = index as usize * bits;
            array[bit / 8] |= value << (bit % 8);
        }
        let mut encoder = ZlibEncoder::new(Vec::new(), Compression::best());
        encoder
            .write_all(&array)
            .and_then(|()| encoder.flush())
            .map_err(|error| {
                WalletError::request(format!("compressing the status list: {error}"))
            })?;
        let compressed = encoder.finish().map_err(|error| {
            WalletError::request(format!("compressing the status list: {error}"))
        })?;
        let mut header = Map::new();
        header.insert("alg".into(), key.algorithm().as_str().into());
        header.insert("typ".into(), STATUS_LIST_TYP.into());
        if let Some(kid) = kid {
            header.insert("kid".into(), kid.into());
        }
        let payload = json!({
            "iss": issuer,
            "sub": self.uri,
            "iat": self.now,
            "exp": self.now.saturating_add(self.lifetime_secs),
            "ttl": self.ttl_secs,
            "status_list": {"bits": self.bits, "lst": b64url_encode(&compressed)},
        });
        let Value::Object(payload) = payload else {
            return Err(WalletError::request("status list payload"));
        };
        Ok(sign_compact(&header, &payload, key))
    }
}

/// A random index in the list.
pub(crate) fn random_index() -> u32 {
    OsRng.next_u32() % STATUS_LIST_ENTRIES
}
