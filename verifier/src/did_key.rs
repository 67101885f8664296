//! did:key decoding and encoding, offline: multibase base58btc + multicodec.
//!
//! Supported codecs: `ed25519-pub` (0xed), `secp256k1-pub` (0xe7, compressed) and
//! `p256-pub` (0x1200, compressed). Anything else is refused.

use crate::error::KeyError;
use crate::key::PublicKey;

const PREFIX: &str = "did:key:";
const CODEC_ED25519: u64 = 0xed;
const CODEC_SECP256K1: u64 = 0xe7;
const CODEC_P256: u64 = 0x1200;
/// No supported did:key is longer than this; longer input is refused unread.
pub const MAX_DID_LEN: usize = 128;

/// Decodes a did:key (`did:key:z…`) into its public key.
///
/// # Errors
/// [`KeyError::InvalidDid`] for a malformed identifier, [`KeyError::UnsupportedCodec`]
/// for a key type other than Ed25519, secp256k1 and P-256, [`KeyError::InvalidKey`]
/// for bytes that are not a valid point.
pub fn decode(did: &str) -> Result<PublicKey, KeyError> {
    if did.len() > MAX_DID_LEN {
        return Err(KeyError::InvalidDid("too long".into()));
    }
    let multibase = did
        .strip_prefix(PREFIX)
        .ok_or_else(|| KeyError::InvalidDid("does not start with did:key:".into()))?;
    let encoded = multibase
        .strip_prefix('z')
        .ok_or_else(|| KeyError::InvalidDid("multibase prefix is not z (base58btc)".into()))?;
    let bytes = bs58::decode(encoded)
        .into_vec()
        .map_err(|_| KeyError::InvalidDid("not base58btc".into()))?;
    let (codec, key_bytes) = read_varint(&bytes)?;
    match codec {
        CODEC_ED25519 => PublicKey::ed25519_from_bytes(key_bytes),
        CODEC_SECP256K1 | CODEC_P256 => {
            // Only the SEC1 compressed form (0x02/0x03): `sec1` would also parse the
            // "compact" 0x05 form, which would give one key two DIDs.
            if key_bytes.len() != 33 || !matches!(key_bytes[0], 0x02 | 0x03) {
                return Err(KeyError::InvalidKey(
                    "did:key ECDSA keys are 33-byte compressed points".into(),
                ));
            }
            if codec == CODEC_P256 {
                PublicKey::p256_from_sec1(key_bytes)
            } else {
                PublicKey::secp256k1_from_sec1(key_bytes)
            }
        }
        other => Err(KeyError::UnsupportedCodec(other)),
    }
}

/// Encodes a public key as a did:key.
pub fn encode(key: &PublicKey) -> String {
    let codec = match key {
        PublicKey::Ed25519(_) => CODEC_ED25519,
        PublicKey::Secp256k1(_) => CODEC_SECP256K1,
        PublicKey::P256(_) => CODEC_P256,
    };
    let mut bytes = write_varint(codec);
    bytes.extend_from_slice(&key.to_compressed_bytes());
    format!("{PREFIX}z{}", bs58::encode(bytes).into_string())
}

/// Splits a did:key DID URL (`did:key:z…#z…`) into the DID and checks that the
/// fragment, if any, names the key itself (the only verification method a did:key has).
///
/// # Errors
/// [`KeyError::InvalidDid`] when the fragment names another key.
pub fn did_from_key_id(key_id: &str) -> Result<&str, KeyError> {
    match key_id.split_once('#') {
        None => Ok(key_id),
        Some((did, fragment)) => {
            let id = did
                .strip_prefix(PREFIX)
                .ok_or_else(|| KeyError::InvalidDid("does not start with did:key:".into()))?;
            if fragment == id {
                Ok(did)
            } else {
                Err(KeyError::InvalidDid(
                    "fragment does not name the key".into(),
                ))
            }
        }
    }
}

/// Reads an unsigned LEB128 varint (multiformats unsigned-varint: at most 9 bytes,
/// minimal encoding) and returns it with the remaining bytes.
fn read_varint(bytes: &[u8]) -> Result<(u64, &[u8]), KeyError> {
    let mut value = 0u64;
    for (index, &byte) in bytes.iter().enumerate().take(9) {
        value |= u64::from(byte & 0x7f) << (7 * index);
        if byte & 0x80 == 0 {
            if byte == 0 && index > 0 {
                return Err(KeyError::InvalidDid("non-minimal multicodec varint".into()));
            }
            return Ok((value, &bytes[index + 1..]));
        }
    }
    Err(KeyError::InvalidDid("truncated multicodec varint".into()))
}

fn write_varint(mut value: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(3);
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multicodec_prefixes_match_the_table() {
        assert_eq!(write_varint(CODEC_ED25519), [0xed, 0x01]);
        assert_eq!(write_varint(CODEC_SECP256K1), [0xe7, 0x01]);
        assert_eq!(write_varint(CODEC_P256), [0x80, 0x24]);
        assert_eq!(read_varint(&[0x80, 0x24, 7]), Ok((CODEC_P256, &[7u8][..])));
    }

    #[test]
    fn known_did_keys_decode_and_re_encode() {
        for did in [
            "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
            "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme",
            "did:key:zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169",
        ] {
            let key = decode(did).expect(did);
            assert_eq!(encode(&key), did);
        }
    }

    #[test]
    fn unknown_codec_and_bad_encodings_are_refused() {
        // x25519-pub (0xec) is a did:key codec, but not a signing key.
        let x25519 = "did:key:z6LShs9GGnqk85isEBzzshkuVWrVKsRp24GnDuHk8QWkARMW";
        assert!(matches!(
            decode(x25519),
            Err(KeyError::UnsupportedCodec(0xec))
        ));
        assert!(matches!(
            decode("did:web:example.com"),
            Err(KeyError::InvalidDid(_))
        ));
        assert!(matches!(
            decode("did:key:m6Mk"),
            Err(KeyError::InvalidDid(_))
        ));
        assert!(matches!(
            decode("did:key:z0OIl"),
            Err(KeyError::InvalidDid(_))
        ));
        assert!(decode("did:key:z").is_err());
    }

    #[test]
    fn key_id_fragment_must_name_the_key() {
        let did = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp";
        assert_eq!(did_from_key_id(&format!("{did}#{}", &did[8..])), Ok(did));
        assert!(did_from_key_id(&format!("{did}#key-1")).is_err());
    }
}
