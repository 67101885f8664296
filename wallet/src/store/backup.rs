//! Encrypted backup files: every record of a wallet, sealed under a key derived from
//! a passphrase, in one file that can be restored into a new wallet.

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
use super::{Kind, Store, StoreError};

const FORMAT: &str = "agentid-backup/1";
/// Largest backup file read: 1 GiB.
const MAX_BACKUP_BYTES: u64 = 1 << 30;

#[derive(Serialize, Deserialize)]
struct BackupFile {
    format: String,
    kdf: KdfParams,
    salt: String,
    sealed: String,
}

#[derive(Serialize, Deserialize)]
struct BackupRecord {
    kind: char,
    id: String,
    body: Zeroizing<String>,
}

fn aad(kdf: &KdfParams, salt: &str) -> Vec<u8> {
    format!(
        "{FORMAT}\0{}\0{}\0{}\0{salt}",
        kdf.memory_kib, kdf.iterations, kdf.parallelism
    )
    .into_bytes()
}

/// Writes every record of `store` (keys, credentials, issuance log, audit log,
/// bookkeeping) to `path`, then fsyncs it. Returns the number of records.
pub(crate) fn write(
    store: &Store,
    path: &Path,
    passphrase: &[u8],
    kdf: &KdfParams,
) -> Result<usize, StoreError> {
    let mut records = Vec::new();
    for kind in [
        Kind::Meta,
        Kind::Key,
        Kind::Credential,
        Kind::Issued,
        Kind::Audit,
    ] {
        for record in store.scan(kind) {
            let record = record?;
            records.push(BackupRecord {
                kind: char::from(kind.prefix()),
                id: b64url_encode(&record.id),
                body: Zeroizing::new(b64url_encode(&record.body)),
            });
        }
    }
    let plaintext = Zeroizing::new(
        serde_json::to_vec(&records).map_err(|error| StoreError::Corrupt(error.to_string()))?,
    );
    let salt = b64url_encode(&random_bytes::<16>());
    let key = SecretKey::derive(passphrase, salt.as_bytes(), kdf)?;
    let sealed = key.seal(&aad(kdf, &salt), &plaintext);
    let file = BackupFile {
        format: FORMAT.into(),
        kdf: *kdf,
        salt,
        sealed: b64url_encode(&sealed),
    };
    let text = serde_json::to_vec(&file).map_err(|error| StoreError::Corrupt(error.to_string()))?;
    let mut out = fs::File::create(path)?;
    out.write_all(&text)?;
    out.sync_all()?;
    Ok(records.len())
}

/// One record of a backup: its kind, id and decrypted body.
pub(crate) type BackupEntry = (Kind, Vec<u8>, Zeroizing<Vec<u8>>);

/// Reads and decrypts a backup: `(kind, id, body)` for every record. Argon2id runs
/// only if the backup's parameters are within `limits`.
pub(crate) fn read(
    path: &Path,
    passphrase: &[u8],
    limits: &KdfLimits,
) -> Result<Vec<BackupEntry>, StoreError> {
    if fs::metadata(path)?.len() > MAX_BACKUP_BYTES {
        return Err(StoreError::Corrupt("backup larger than 1 GiB".into()));
    }
    let file: BackupFile = serde_json::from_slice(&fs::read(path)?)
        .map_err(|_| StoreError::Corrupt("not an agentid backup file".into()))?;
    if file.format != FORMAT {
        return Err(StoreError::Corrupt(format!(
            "unknown backup format {:?}",
            file.format
        )));
    }
    // Unauthenticated until the AEAD check, which needs the Argon2id output: bound
    // the work first.
    limits.check(&file.kdf, KdfOrigin::Backup)?;
    let sealed = decode_b64(&file.sealed)?;
    let key = SecretKey::derive(passphrase, file.salt.as_bytes(), &file.kdf)?;
    let plaintext = key
        .open(&aad(&file.kdf, &file.salt), &sealed)
        .map_err(|_| StoreError::WrongPassphrase)?;
    let records: Vec<BackupRecord> = serde_json::from_slice(&plaintext)
        .map_err(|_| StoreError::Corrupt("backup records".into()))?;
    records
        .iter()
        .map(|record| {
            let kind = u8::try_from(record.kind)
                .ok()
                .and_then(Kind::from_prefix)
                .ok_or_else(|| StoreError::Corrupt("backup record kind".into()))?;
            Ok((
                kind,
                decode_b64(&record.id)?.to_vec(),
                decode_b64(&record.body)?,
            ))
        })
        .collect()
}

fn decode_b64(text: &str) -> Result<Zeroizing<Vec<u8>>, StoreError> {
    URL_SAFE_NO_PAD
        .decode(text)
        .map(Zeroizing::new)
        .map_err(|_| StoreError::Corrupt("backup is not base64url".into()))
}
