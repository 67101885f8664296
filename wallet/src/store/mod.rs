//! The encrypted wallet store: one directory, a header file and a `sled` database
//! in which every value is sealed with XChaCha20-Poly1305 and every key is a keyed
//! tag, so nothing on disk is readable without the passphrase.
//!
//! Layout of the directory:
//!
//! | file | content |
//! |---|---|
//! | `wallet.header` | format, Argon2id parameters and salt, the data key sealed under the passphrase key |
//! | `wallet.lock` | held (advisory lock) while a process has the wallet open |
//! | `db/` | sled: `kind byte ‖ tag` → `nonce ‖ ciphertext` |
//!
//! The data key never changes; a passphrase change re-seals it. Record keys are
//! `HMAC(tag key, kind, id)` truncated to 128 bits; associated data binds each sealed
//! value to its kind and record key, so records cannot be swapped or moved.
//! Secondary indexes (by type, issuer, expiry hour) are keyed tags of the value
//! followed by the record key, so a lookup decrypts only the records it returns.
//! Every write is one atomic sled batch, flushed to disk before it is acknowledged.
//!
//! The Argon2id parameters of a header or backup are untrusted until the AEAD check
//! that needs Argon2id's output, so they are checked against a [`KdfLimits`] before
//! Argon2id runs on them.

pub(crate) mod backup;
mod crypto;
mod header;
mod kdf;

use std::fs::{self, File, TryLockError};
use std::path::{Path, PathBuf};

use thiserror::Error;
use zeroize::Zeroizing;

use crypto::{SecretKey, TAG_LEN};
pub use kdf::{
    KdfLimits, KdfOrigin, KdfParameter, KdfParams, MAX_KDF_MEMORY_KIB, MAX_KDF_PARALLELISM,
    MAX_KDF_PASSES,
};

/// Subdirectory holding the sled database.
const DB_DIR: &str = "db";
/// The lock file's name.
const LOCK_FILE: &str = "wallet.lock";

/// Errors of the encrypted store.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The passphrase does not unlock the wallet. Nothing was changed.
    #[error("wrong passphrase")]
    WrongPassphrase,
    /// Another process has the wallet open.
    #[error("wallet in use by another process ({0})")]
    InUse(String),
    /// The directory holds no wallet.
    #[error("no wallet at {0} (create one with `agentid --wallet DIR init`)")]
    NotAWallet(String),
    /// The directory already holds a wallet (or other files).
    #[error("{0} already exists and is not empty")]
    AlreadyExists(String),
    /// A sealed value failed authentication: it was modified, moved or swapped.
    #[error("a stored record failed authentication (tampered or corrupted)")]
    Tampered,
    /// Stored data is not in the expected form.
    #[error("corrupt wallet data: {0}")]
    Corrupt(String),
    /// Argon2id parameters out of the format's range.
    #[error("invalid key-derivation parameters: {0}")]
    InvalidKdfParams(String),
    /// A file asks for more Argon2id work than the [`KdfLimits`] allow. Refused
    /// before any of it is done; nothing was changed.
    #[error("{}", kdf::ceiling_message(*.origin, *.parameter, *.requested, *.ceiling))]
    KdfAboveCeiling {
        /// The file the parameters were read from.
        origin: KdfOrigin,
        /// The parameter above its ceiling.
        parameter: KdfParameter,
        /// The value the file asks for.
        requested: u32,
        /// The ceiling it exceeds.
        ceiling: u32,
    },
    /// The database failed.
    #[error("database error: {0}")]
    Database(String),
    /// The file system failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

impl From<sled::Error> for StoreError {
    fn from(error: sled::Error) -> Self {
        StoreError::Database(error.to_string())
    }
}

/// What a record is. The kind is the first byte of its database key, and part of
/// its associated data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// Wallet bookkeeping (audit head, purge watermark, root key id).
    Meta,
    /// A signing key.
    Key,
    /// A credential the wallet holds.
    Credential,
    /// An entry of the issuer's own issuance log.
    Issued,
    /// An audit log entry; its id is the big-endian sequence number, so entries
    /// iterate in order.
    Audit,
}

impl Kind {
    fn prefix(self) -> u8 {
        match self {
            Kind::Meta => b'm',
            Kind::Key => b'k',
            Kind::Credential => b'c',
            Kind::Issued => b'i',
            Kind::Audit => b'a',
        }
    }

    fn from_prefix(prefix: u8) -> Option<Self> {
        [
            Kind::Meta,
            Kind::Key,
            Kind::Credential,
            Kind::Issued,
            Kind::Audit,
        ]
        .into_iter()
        .find(|kind| kind.prefix() == prefix)
    }
}

/// 128 random bits from the operating system (ids, test markers).
pub fn random_token() -> [u8; 16] {
    crypto::random_bytes()
}

/// Index entries live under this prefix: `x ‖ tag(index, value) ‖ record key`.
const INDEX_PREFIX: u8 = b'x';

/// A record's location in the database: its kind byte and tag (or sequence number).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordKey(Vec<u8>);

/// A decrypted record: where it lives, its id, and its body.
pub struct Record {
    /// Its location.
    pub key: RecordKey,
    /// The id it was stored under.
    pub id: Vec<u8>,
    /// The decrypted body; zeroized on drop.
    pub body: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for Record {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Record")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl Record {
    /// Splits `id length ‖ id ‖ body`.
    fn decode(key: RecordKey, plaintext: &[u8]) -> Result<Self, StoreError> {
        let corrupt = || StoreError::Corrupt("record envelope".into());
        let (length, rest) = plaintext.split_first_chunk::<4>().ok_or_else(corrupt)?;
        let length = usize::try_from(u32::from_be_bytes(*length)).map_err(|_| corrupt())?;
        if rest.len() < length {
            return Err(corrupt());
        }
        let (id, body) = rest.split_at(length);
        Ok(Record {
            key,
            id: id.to_vec(),
            body: Zeroizing::new(body.to_vec()),
        })
    }
}

/// Changes applied together, atomically, by [`Store::commit`].
#[derive(Default)]
pub struct Batch {
    batch: sled::Batch,
}

impl std::fmt::Debug for Batch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Batch(..)")
    }
}

/// An open, unlocked wallet store. Holds the directory's lock until dropped.
pub struct Store {
    dir: PathBuf,
    db: sled::Db,
    record_key: SecretKey,
    tag_key: SecretKey,
    data_key: SecretKey,
    _lock: File,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Creates a wallet store in `dir` (which must not exist, be empty, or hold
    /// what an interrupted `create` leaves: no header, only the lock file, a
    /// temporary header or a database without records — these are replaced).
    ///
    /// # Errors
    /// [`StoreError::AlreadyExists`], [`StoreError::InvalidKdfParams`] or I/O errors.
    pub fn create(dir: &Path, passphrase: &[u8], kdf: &KdfParams) -> Result<Self, StoreError> {
        kdf.check()?;
        let exists = || StoreError::AlreadyExists(dir.display().to_string());
        if dir.exists() && !only_leftovers(dir)? {
            return Err(exists());
        }
        fs::create_dir_all(dir)?;
        restrict_permissions(dir)?;
        let lock = lock(dir)?;
        // A database without a header cannot be opened by anyone; one with records
        // lost its header (kept, in case the header comes back), an empty one is
        // what an interrupted create left.
        if dir.join(DB_DIR).exists() {
            if !sled::open(dir.join(DB_DIR))?.is_empty() {
                return Err(exists());
            }
            fs::remove_dir_all(dir.join(DB_DIR))?;
        }
        let data_key = SecretKey::random();
        header::write(dir, passphrase, kdf, &data_key)?;
        Self::open_db(dir, data_key, lock)
    }

    /// Opens the wallet store in `dir` with `passphrase`, within the default
    /// [`KdfLimits`]. The passphrase is checked before the database is opened, so a
    /// wrong one changes no file.
    ///
    /// # Errors
    /// [`StoreError::NotAWallet`], [`StoreError::InUse`],
    /// [`StoreError::WrongPassphrase`], [`StoreError::KdfAboveCeiling`], or
    /// database errors.
    pub fn open(dir: &Path, passphrase: &[u8]) -> Result<Self, StoreError> {
        Self::open_with_limits(dir, passphrase, &KdfLimits::DEFAULT)
    }

    /// Opens the wallet store in `dir` with `passphrase`, running Argon2id only if
    /// the header's parameters are within `limits`.
    ///
    /// # Errors
    /// As [`open`](Self::open); [`StoreError::KdfAboveCeiling`] when the header asks
    /// for more than `limits` (nothing is changed).
    pub fn open_with_limits(
        dir: &Path,
        passphrase: &[u8],
        limits: &KdfLimits,
    ) -> Result<Self, StoreError> {
        if !dir.join(header::HEADER_FILE).exists() {
            return Err(StoreError::NotAWallet(dir.display().to_string()));
        }
        let lock = lock(dir)?;
        let (data_key, _) = header::unlock(dir, passphrase, limits)?;
        Self::open_db(dir, data_key, lock)
    }

    fn open_db(dir: &Path, data_key: SecretKey, lock: File) -> Result<Self, StoreError> {
        let db = sled::Config::new()
            .path(dir.join(DB_DIR))
            .cache_capacity(64 * 1024 * 1024)
            .open()?;
        Ok(Store {
            dir: dir.to_owned(),
            db,
            record_key: data_key.subkey("agentid/v1/records"),
            tag_key: data_key.subkey("agentid/v1/tags"),
            data_key,
            _lock: lock,
        })
    }

    /// The wallet directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Re-seals the data key under a new passphrase (and KDF parameters). Records
    /// are untouched; the header is replaced atomically.
    ///
    /// # Errors
    /// [`StoreError::InvalidKdfParams`] or I/O errors; on error the old passphrase
    /// still opens the wallet.
    pub fn change_passphrase(
        &self,
        new_passphrase: &[u8],
        kdf: &KdfParams,
    ) -> Result<(), StoreError> {
        header::write(&self.dir, new_passphrase, kdf, &self.data_key)
    }

    /// Where the record `(kind, id)` lives.
    pub fn record_key(&self, kind: Kind, id: &[u8]) -> RecordKey {
        let mut key = Vec::with_capacity(1 + TAG_LEN);
        key.push(kind.prefix());
        match kind {
            Kind::Audit => key.extend_from_slice(id),
            _ => key.extend_from_slice(&self.tag_key.tag(&[&[kind.prefix()], id])),
        }
        RecordKey(key)
    }

    fn aad(key: &RecordKey) -> Vec<u8> {
        let mut aad = b"agentid/v1/record\0".to_vec();
        aad.extend_from_slice(&key.0);
        aad
    }

    /// Reads and decrypts one record's body.
    ///
    /// # Errors
    /// [`StoreError::Tampered`] if the stored value fails authentication.
    pub fn get(&self, kind: Kind, id: &[u8]) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
        Ok(self
            .get_at(&self.record_key(kind, id))?
            .map(|record| record.body))
    }

    /// Reads and decrypts the record at `key`.
    ///
    /// # Errors
    /// [`StoreError::Tampered`] if the stored value fails authentication.
    pub fn get_at(&self, key: &RecordKey) -> Result<Option<Record>, StoreError> {
        match self.db.get(&key.0)? {
            None => Ok(None),
            Some(sealed) => Record::decode(
                key.clone(),
                &self.record_key.open(&Self::aad(key), &sealed)?,
            )
            .map(Some),
        }
    }

    /// Decrypts every record of `kind`, in database order (sequence order for the
    /// audit log).
    ///
    /// # Errors
    /// [`StoreError::Tampered`] on a record that fails authentication.
    pub fn scan(&self, kind: Kind) -> impl Iterator<Item = Result<Record, StoreError>> + '_ {
        self.db.scan_prefix([kind.prefix()]).map(move |entry| {
            let (key, sealed) = entry?;
            let key = RecordKey(key.to_vec());
            let plaintext = self.record_key.open(&Self::aad(&key), &sealed)?;
            Record::decode(key, &plaintext)
        })
    }

    /// The record keys listed under `index` = `value`.
    ///
    /// # Errors
    /// Database errors.
    pub fn lookup(&self, index: &str, value: &[u8]) -> Result<Vec<RecordKey>, StoreError> {
        let prefix = self.index_prefix(index, value);
        self.db
            .scan_prefix(&prefix)
            .keys()
            .map(|key| Ok(RecordKey(key?[prefix.len()..].to_vec())))
            .collect()
    }

    fn index_prefix(&self, index: &str, value: &[u8]) -> Vec<u8> {
        let mut prefix = Vec::with_capacity(1 + TAG_LEN);
        prefix.push(INDEX_PREFIX);
        prefix.extend_from_slice(&self.tag_key.tag(&[b"index", index.as_bytes(), value]));
        prefix
    }

    /// Adds `(kind, id)` ← `body` (sealed with its id) to `batch`.
    pub fn put(&self, batch: &mut Batch, kind: Kind, id: &[u8], body: &[u8]) -> RecordKey {
        let key = self.record_key(kind, id);
        let mut plaintext = Zeroizing::new(Vec::with_capacity(4 + id.len() + body.len()));
        plaintext.extend_from_slice(&u32::try_from(id.len()).unwrap_or(u32::MAX).to_be_bytes());
        plaintext.extend_from_slice(id);
        plaintext.extend_from_slice(body);
        batch.batch.insert(
            key.0.clone(),
            self.record_key.seal(&Self::aad(&key), &plaintext),
        );
        key
    }

    /// Adds the deletion of `key` to `batch`.
    pub fn delete(&self, batch: &mut Batch, key: &RecordKey) {
        batch.batch.remove(key.0.clone());
    }

    /// Adds an index entry `index` = `value` → `key` to `batch`.
    pub fn index(&self, batch: &mut Batch, index: &str, value: &[u8], key: &RecordKey) {
        let mut entry = self.index_prefix(index, value);
        entry.extend_from_slice(&key.0);
        batch.batch.insert(entry, Vec::new());
    }

    /// Adds the removal of an index entry to `batch`.
    pub fn unindex(&self, batch: &mut Batch, index: &str, value: &[u8], key: &RecordKey) {
        let mut entry = self.index_prefix(index, value);
        entry.extend_from_slice(&key.0);
        batch.batch.remove(entry);
    }

    /// Applies `batch` atomically and flushes it to disk before returning: once
    /// this returns `Ok`, the change survives a crash.
    ///
    /// # Errors
    /// Database errors; then none of the batch is applied.
    pub fn commit(&self, batch: Batch) -> Result<(), StoreError> {
        self.db.apply_batch(batch.batch)?;
        self.db.flush()?;
        Ok(())
    }

    /// The raw sealed value at `key`, for tests that tamper with storage.
    #[doc(hidden)]
    pub fn raw_get(&self, key: &RecordKey) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.db.get(&key.0)?.map(|value| value.to_vec()))
    }

    /// Writes a raw value at `key`, bypassing sealing: for tests that tamper with
    /// storage, as an attacker with file access would.
    #[doc(hidden)]
    pub fn raw_put(&self, key: &RecordKey, value: &[u8]) -> Result<(), StoreError> {
        self.db.insert(&key.0, value)?;
        self.db.flush()?;
        Ok(())
    }

    /// Removes the value at `key` bypassing everything: for tamper tests.
    #[doc(hidden)]
    pub fn raw_remove(&self, key: &RecordKey) -> Result<(), StoreError> {
        self.db.remove(&key.0)?;
        self.db.flush()?;
        Ok(())
    }
}

/// True when `dir` holds no header and nothing but what an interrupted
/// [`Store::create`] leaves (the lock file, a temporary header, the database
/// directory): such a directory can be created again.
fn only_leftovers(dir: &Path) -> Result<bool, StoreError> {
    if dir.join(header::HEADER_FILE).exists() {
        return Ok(false);
    }
    let temporary_header = format!("{}.tmp", header::HEADER_FILE);
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        if ![LOCK_FILE, DB_DIR, temporary_header.as_str()]
            .iter()
            .any(|allowed| name == *allowed)
        {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Takes the wallet's advisory lock, or reports that another process holds it.
fn lock(dir: &Path) -> Result<File, StoreError> {
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(LOCK_FILE))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(StoreError::InUse(dir.display().to_string())),
        Err(TryLockError::Error(error)) => Err(StoreError::Io(error)),
    }
}

/// Wallet directories are private to their owner.
fn restrict_permissions(dir: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    let _ = dir;
    Ok(())
}
