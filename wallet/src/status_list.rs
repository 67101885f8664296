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
        let mut bits = vec![0u8; (STATUS_LIST_ENTRIES / 8) as usize];
        for &index in &self.revoked {
            // One bit per entry, least significant bit first (§4.1); 1 = INVALID.
            bits[(index / 8) as usize] |= 1 << (index % 8);
        }
        let mut encoder = ZlibEncoder::new(Vec::new(), Compression::best());
        encoder
            .write_all(&bits)
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
        header.insert("kid".into(), kid.into());
        let payload = json!({
            "iss": issuer,
            "sub": self.uri,
            "iat": now,
            "exp": now.saturating_add(ttl_secs),
            "ttl": ttl_secs,
            "status_list": {"bits": 1, "lst": b64url_encode(&compressed)},
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
