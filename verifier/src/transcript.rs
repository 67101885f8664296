//! Every merlin transcript label agentid uses, in one place, versioned.
//!
//! A predicate proof is bound to the presentation (`sd_hash`), the verifier
//! (`aud`), the request (`nonce`) and every statement (claim, bounds, and the
//! issuer-signed commitment it is about), so it cannot be replayed elsewhere.

use merlin::Transcript;

/// The protocol label: change it (v2, …) whenever anything below changes.
pub(crate) const PREDICATE_PROTOCOL: &[u8] = b"agentid/predicate/v1";

/// Appends agentid's context to a transcript, label by label.
pub(crate) trait PredicateTranscript {
    /// The presentation binding: `sd_hash`, `aud`, `nonce`, and the number of statements.
    fn bind_presentation(&mut self, sd_hash: &str, audience: &str, nonce: &str, statements: usize);
    /// One statement: the claim path, its optional lower and upper bounds, and the
    /// (already validated) compressed commitment the issuer signed.
    fn bind_statement(
        &mut self,
        claim: &str,
        min: Option<i64>,
        max: Option<i64>,
        commitment: &[u8; 32],
    );
}

impl PredicateTranscript for Transcript {
    fn bind_presentation(&mut self, sd_hash: &str, audience: &str, nonce: &str, statements: usize) {
        self.append_message(b"sd_hash", sd_hash.as_bytes());
        self.append_message(b"aud", audience.as_bytes());
        self.append_message(b"nonce", nonce.as_bytes());
        self.append_u64(b"statements", statements as u64);
    }

    fn bind_statement(
        &mut self,
        claim: &str,
        min: Option<i64>,
        max: Option<i64>,
        commitment: &[u8; 32],
    ) {
        self.append_message(b"claim", claim.as_bytes());
        for (label, bound) in [(&b"min"[..], min), (&b"max"[..], max)] {
            match bound {
                None => self.append_message(label, b"none"),
                Some(value) => self.append_message(label, &value.to_be_bytes()),
            }
        }
        self.append_message(b"commitment", commitment);
    }
}

/// A fresh transcript for agentid predicate proofs.
pub(crate) fn predicate_transcript() -> Transcript {
    Transcript::new(PREDICATE_PROTOCOL)
}
