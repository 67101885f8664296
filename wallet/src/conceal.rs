//! Making claims selectively disclosable (RFC 9901 §4.2): the issuer's side.

use agentid_verifier::{b64url_encode, sha256_b64, ClaimPath, PathSegment};
use rand_core::RngCore;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::error::WalletError;
use crate::jws::compact_json;

/// How many decoy digests to add to each `_sd` array (RFC 9901 §4.2.5), so a
/// verifier cannot count the claims it was not shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoys {
    /// Each `_sd` array gets a uniformly random number of decoys in `min..=max`.
    pub min: u8,
    /// See `min`.
    pub max: u8,
}

impl Default for Decoys {
    fn default() -> Self {
        Decoys { min: 1, max: 3 }
    }
}

impl Decoys {
    /// No decoys.
    pub const NONE: Decoys = Decoys { min: 0, max: 0 };

    fn count(self, randomness: &mut Randomness) -> usize {
        let span = u32::from(self.max.saturating_sub(self.min)) + 1;
        let draw = u32::from_le_bytes(randomness.take());
        usize::from(self.min) + (draw % span) as usize
    }
}

/// Bytes drawn from the generator at a time.
const POOL_BYTES: usize = 256;

/// The random bytes of one issuance (`jti`, salts, decoy counts), drawn
/// [`POOL_BYTES`] at a time from `rand`'s `ThreadRng`: a ChaCha CSPRNG per thread,
/// seeded from the operating system and reseeded from it every 64 KiB and after a
/// fork (once the block it had buffered is spent). A `getrandom` call per
/// credential (`OsRng`) cost several times the thread generator's draw of the same
/// 256 bytes, on a path that runs at tens of thousands of credentials per second.
/// Keys and commitment blindings still come from `OsRng`. Every byte is handed out
/// once; what is left is zeroized on drop (decoy salts are never revealed).
pub(crate) struct Randomness {
    pool: Zeroizing<[u8; POOL_BYTES]>,
    used: usize,
}

impl Randomness {
    pub(crate) fn new() -> Self {
        Randomness {
            pool: Zeroizing::new([0; POOL_BYTES]),
            used: POOL_BYTES,
        }
    }

    /// The next `N` bytes.
    pub(crate) fn take<const N: usize>(&mut self) -> [u8; N] {
        if POOL_BYTES - self.used < N {
            rand::thread_rng().fill_bytes(self.pool.as_mut_slice());
            self.used = 0;
        }
        let mut bytes = [0u8; N];
        bytes.copy_from_slice(&self.pool[self.used..self.used + N]);
        self.used += N;
        bytes
    }

    /// 128-bit random salt, base64url (RFC 9901 §4.2.1 recommends at least 128 bits).
    fn salt(&mut self) -> String {
        b64url_encode(&self.take::<16>())
    }
}

/// The concealed claims and the disclosures that reveal them, in creation order.
pub(crate) struct Concealed {
    pub(crate) claims: Map<String, Value>,
    pub(crate) disclosures: Vec<String>,
}

/// A disclosure: the base64url of the JSON array of `parts` (a tuple serializes
/// as an array, without building a `Value::Array` first).
fn disclosure(parts: &impl serde::Serialize) -> String {
    b64url_encode(&compact_json(parts))
}

/// Replaces every claim named by `paths` with a digest, innermost first, so a
/// concealed object can itself hold concealed claims (recursive disclosure).
///
/// # Errors
/// [`WalletError::NoSuchClaim`] when a path names nothing;
/// [`WalletError::InvalidRequest`] when the claims use the reserved names `_sd`
/// or `...`.
pub(crate) fn conceal(
    claims: Map<String, Value>,
    paths: &[ClaimPath],
    decoys: Decoys,
    randomness: &mut Randomness,
) -> Result<Concealed, WalletError> {
    let mut concealer = Concealer {
        paths,
        matched: vec![false; paths.len()],
        disclosures: Vec::new(),
        decoys,
        randomness,
    };
    let claims = concealer.object(claims, &ClaimPath::root())?;
    if let Some(unmatched) = concealer.matched.iter().position(|matched| !matched) {
        return Err(WalletError::NoSuchClaim(paths[unmatched].to_string()));
    }
    Ok(Concealed {
        claims,
        disclosures: concealer.disclosures,
    })
}

struct Concealer<'p, 'r> {
    paths: &'p [ClaimPath],
    matched: Vec<bool>,
    disclosures: Vec<String>,
    decoys: Decoys,
    randomness: &'r mut Randomness,
}

impl Concealer<'_, '_> {
    /// True when some path names `here`; marks those paths as used.
    fn selected(&mut self, here: &ClaimPath) -> bool {
        let mut selected = false;
        for (index, path) in self.paths.iter().enumerate() {
            if path.matches(here) {
                self.matched[index] = true;
                selected = true;
            }
        }
        selected
    }

    fn value(&mut self, value: Value, here: &ClaimPath) -> Result<Value, WalletError> {
        match value {
            Value::Object(map) => self.object(map, here).map(Value::Object),
            Value::Array(items) => self.array(items, here).map(Value::Array),
            scalar => Ok(scalar),
        }
    }

    fn object(
        &mut self,
        map: Map<String, Value>,
        here: &ClaimPath,
    ) -> Result<Map<String, Value>, WalletError> {
        let mut out = Map::new();
        let mut digests = Vec::new();
        for (name, value) in map {
            if name == "_sd" || name == "..." {
                return Err(WalletError::request(format!(
                    "claim name {name:?} is reserved by SD-JWT (at {here})"
                )));
            }
            let path = here.child(PathSegment::Key(name.clone()));
            let value = self.value(value, &path)?;
            if self.selected(&path) {
                let encoded = disclosure(&(self.randomness.salt(), &name, &value));
                digests.push(sha256_b64(&encoded));
                self.disclosures.push(encoded);
            } else {
                out.insert(name, value);
            }
        }
        if !digests.is_empty() {
            for _ in 0..self.decoys.count(self.randomness) {
                digests.push(sha256_b64(&self.randomness.salt()));
            }
            // Sorted, so the order does not reveal which claim is which.
            digests.sort_unstable();
            out.insert(
                "_sd".into(),
                digests.into_iter().map(Value::String).collect(),
            );
        }
        Ok(out)
    }

    fn array(&mut self, items: Vec<Value>, here: &ClaimPath) -> Result<Vec<Value>, WalletError> {
        let mut out = Vec::with_capacity(items.len());
        for (index, item) in items.into_iter().enumerate() {
            let path = here.child(PathSegment::Index(index));
            let item = self.value(item, &path)?;
            if self.selected(&path) {
                let encoded = disclosure(&(self.randomness.salt(), &item));
                let mut placeholder = Map::new();
                placeholder.insert("...".into(), sha256_b64(&encoded).into());
                self.disclosures.push(encoded);
                out.push(Value::Object(placeholder));
            } else {
                out.push(item);
            }
        }
        Ok(out)
    }
}
