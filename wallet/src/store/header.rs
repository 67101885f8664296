//! The wallet header: a small file beside the database holding what is needed to
//! unlock it — the Argon2id parameters and salt, and the data key sealed under the
//! passphrase key. It is read before the database is touched, so a wrong passphrase
//! changes nothing on disk.

use std::fs;
use std::io::Write;
use std::path::Path;

use agentid_verifier::b64url_encode;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::crypto::{random_bytes, SecretKey};
use super::kdf::{KdfLimits, KdfOrigin, KdfParams};
use super::StoreError;

/// The header file's name inside a wallet directory.
pub(crate) const HEADER_FILE: &str = "wallet.header";
/// The format identifier written in every header.
const FORMAT: &str = "agentid-wallet/1";
/// Headers are tiny; anything larger is not ours.
const MAX_HEADER_BYTES: u64 = 4096;

#[derive(Debug, Serialize, Deserialize)]
struct HeaderFile {
    format: String,
    kdf: KdfParams,
    salt: String,
    sealed_data_key: String,
}

/// Associated data of the sealed data key: it binds the format and KDF parameters,
/// so they cannot be swapped for weaker ones without the unlock failing.
fn header_aad(kdf: &KdfParams, salt: &str) -> Vec<u8> {
    format!(
        "{FORMAT}\0data-key\0{}\0{}\0{}\0{salt}",
        kdf.memory_kib, kdf.iterations, kdf.parallelism
    )
    .into_bytes()
}

/// Writes a header sealing `data_key` under `passphrase`, replacing any previous
/// header atomically (temporary file, fsync, rename, fsync of the directory).
pub(crate) fn write(
    dir: &Path,
    passphrase: &[u8],
    kdf: &KdfParams,
    data_key: &SecretKey,
) -> Result<(), StoreError> {
    let salt = b64url_encode(&random_bytes::<16>());
    let passphrase_key = SecretKey::derive(passphrase, salt.as_bytes(), kdf)?;
    let sealed = passphrase_key.seal(&header_aad(kdf, &salt), data_key.expose());
    let header = HeaderFile {
        format: FORMAT.into(),
        kdf: *kdf,
        salt,
        sealed_data_key: b64url_encode(&sealed),
    };
    let text = serde_json::to_vec_pretty(&header)
        .map_err(|error| StoreError::Corrupt(error.to_string()))?;
    let temporary = dir.join(format!("{HEADER_FILE}.tmp"));
    let mut file = fs::File::create(&temporary)?;
    file.write_all(&text)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&temporary, dir.join(HEADER_FILE))?;
    fs::File::open(dir)?.sync_all()?;
    Ok(())
}

/// Reads the header and unseals the data key with `passphrase`, running Argon2id
/// only if the header's parameters are within `limits`.
///
/// # Errors
/// [`StoreError::NotAWallet`] without a header, [`StoreError::WrongPassphrase`]
/// when the passphrase does not unseal the key, [`StoreError::Corrupt`] for a
/// header that is not ours, [`StoreError::InvalidKdfParams`] or
/// [`StoreError::KdfAboveCeiling`] for parameters out of range or above `limits`.
pub(crate) fn unlock(
    dir: &Path,
    passphrase: &[u8],
    limits: &KdfLimits,
) -> Result<(SecretKey, KdfParams), StoreError> {
    let path = dir.join(HEADER_FILE);
    let metadata =
        fs::metadata(&path).map_err(|_| StoreError::NotAWallet(dir.display().to_string()))?;
    if metadata.len() > MAX_HEADER_BYTES {
        return Err(StoreError::Corrupt("wallet header too large".into()));
    }
    let text = fs::read(&path)?;
    let header: HeaderFile = serde_json::from_slice(&text)
        .map_err(|_| StoreError::Corrupt("wallet header is not valid".into()))?;
    if header.format != FORMAT {
        return Err(StoreError::Corrupt(format!(
            "unknown wallet format {:?}",
            header.format
        )));
    }
    let sealed = Zeroizing::new(
        URL_SAFE_NO_PAD
            .decode(&header.sealed_data_key)
            .map_err(|_| StoreError::Corrupt("sealed key is not base64url".into()))?,
    );
    // The parameters are not authenticated until the AEAD check below, which needs
    // the Argon2id output: bound the work first.
    limits.check(&header.kdf, KdfOrigin::WalletHeader)?;
    let passphrase_key = SecretKey::derive(passphrase, header.salt.as_bytes(), &header.kdf)?;
    let data_key = passphrase_key
        .open(&header_aad(&header.kdf, &header.salt), &sealed)
        .map_err(|_| StoreError::WrongPassphrase)?;
    Ok((SecretKey::from_bytes(&data_key)?, header.kdf))
}
