//! The issuer role of the wallet: credentials issued with its root key, approvals of
//! actions, and the wallet's own status list to revoke them.
//!
//! Apart from the holder role because it shares nothing with it but the store and the
//! root key: what it records are `IssuedRecord`s (never credentials, which only their
//! holder keeps), indexed by status list entry so that no entry, even a revoked one,
//! is handed out twice.

use agentid_verifier::authorize::Action;
use agentid_verifier::did_key;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{decode, encode, Wallet};
use crate::audit::{self, AuditAction};
use crate::error::WalletError;
use crate::issuer::{CredentialRequest, IssuedCredential, Issuer};
use crate::status_list::{random_index, StatusListState};
use crate::store::{Batch, Kind};

/// The meta record of the wallet's status list.
const STATUS_LIST_ID: &[u8] = b"status-list";
/// Index of issued credentials by status list entry (to allocate unused entries).
const BY_STATUS_INDEX: &str = "status-index";

#[derive(Serialize, Deserialize)]
pub(super) struct IssuedRecord {
    jti: String,
    vct: String,
    subject: String,
    issued_at: u64,
    expires_at: u64,
    /// The credential's entry in this wallet's status list.
    #[serde(default)]
    status_index: Option<u32>,
}

impl Wallet {
    /// An issuer backed by this wallet's root key (its DID is the issuer id).
    ///
    /// # Errors
    /// Store errors.
    pub fn issuer(&self) -> Result<Issuer, WalletError> {
        Issuer::from_did_key(self.signing_key(&self.root_did)?)
    }

    /// Issues a credential with the root key, records it in the issuance log and
    /// the audit log.
    ///
    /// # Errors
    /// As [`Issuer::issue`], and store errors.
    pub fn issue(
        &mut self,
        request: &CredentialRequest,
        now: u64,
    ) -> Result<IssuedCredential, WalletError> {
        let state = self.status_list()?;
        let index = self.free_status_index()?;
        let issued =
            self.issuer()?
                .issue_with_status(request, Some((u64::from(index), &state.uri)), now)?;
        let record = IssuedRecord {
            jti: issued.credential_id.clone(),
            vct: request.vct.clone(),
            subject: request.subject.clone(),
            issued_at: now,
            expires_at: issued.expires_at,
            status_index: Some(index),
        };
        let mut batch = Batch::default();
        let key = self.store.put(
            &mut batch,
            Kind::Issued,
            record.jti.as_bytes(),
            &encode(&record)?,
        );
        for (index_name, value) in issued_index_entries(&record) {
            self.store.index(&mut batch, index_name, &value, &key);
        }
        self.store
            .put(&mut batch, Kind::Meta, STATUS_LIST_ID, &encode(&state)?);
        let details = json!({"jti": record.jti, "vct": record.vct, "subject": record.subject, "expires_at": record.expires_at});
        audit::append(&self.store, &mut batch, now, AuditAction::Issue, details)?;
        self.store.commit(batch)?;
        Ok(issued)
    }

    /// Issues, as the principal this wallet belongs to, an approval of exactly
    /// `action` to the agent key `holder` (a did:key), valid for `lifetime_secs`: a
    /// credential of type [`crate::APPROVAL_VCT`] showing the action and its RFC 8785
    /// digest, on this wallet's status list so it can be revoked like any other.
    ///
    /// # Errors
    /// [`WalletError::InvalidRequest`] for a malformed action or a holder that is not
    /// a did:key; as [`Wallet::issue`] otherwise (the approval schema caps the
    /// lifetime at an hour).
    pub fn approve(
        &mut self,
        holder: &str,
        action: &Action,
        lifetime_secs: u64,
        now: u64,
    ) -> Result<IssuedCredential, WalletError> {
        action
            .check()
            .map_err(|error| WalletError::request(error.to_string()))?;
        let holder_key = did_key::decode(holder).map_err(|error| {
            WalletError::request(format!("the approved agent must be a did:key: {error}"))
        })?;
        let claims = json!({"action": action.to_json(), "action_digest": action.digest()});
        let request = CredentialRequest {
            vct: crate::APPROVAL_VCT.into(),
            subject: holder.to_owned(),
            holder_key,
            claims: claims.as_object().cloned().unwrap_or_default(),
            disclosable: Vec::new(),
            lifetime_secs,
            committed: Vec::new(),
        };
        self.issue(&request, now)
    }

    /// This wallet's status list (created on first use; its URI names the wallet's DID).
    fn status_list(&self) -> Result<StatusListState, WalletError> {
        match self.store.get(Kind::Meta, STATUS_LIST_ID)? {
            Some(body) => decode(&body),
            None => {
                let id = self
                    .root_did
                    .strip_prefix("did:key:")
                    .unwrap_or(&self.root_did);
                Ok(StatusListState::new(format!(
                    "urn:agentid:status-list:{id}"
                )))
            }
        }
    }

    /// The URI of this wallet's status list (the `sub` of its status list token).
    ///
    /// # Errors
    /// Store errors.
    pub fn status_list_uri(&self) -> Result<String, WalletError> {
        Ok(self.status_list()?.uri)
    }

    /// A random status list entry no issued credential uses yet.
    fn free_status_index(&self) -> Result<u32, WalletError> {
        for _ in 0..64 {
            let index = random_index();
            if self
                .store
                .lookup(BY_STATUS_INDEX, &index.to_be_bytes())?
                .is_empty()
            {
                return Ok(index);
            }
        }
        Err(WalletError::request("the status list is (nearly) full"))
    }

    /// Revokes a credential this wallet issued, by its `jti`: its status list entry
    /// becomes INVALID in every token published from now on.
    ///
    /// # Errors
    /// [`WalletError::NotFound`] for a `jti` this wallet did not issue.
    pub fn revoke(&mut self, jti: &str, now: u64) -> Result<(), WalletError> {
        let body = self
            .store
            .get(Kind::Issued, jti.as_bytes())?
            .ok_or_else(|| WalletError::NotFound(format!("issued credential {jti}")))?;
        let record: IssuedRecord = decode(&body)?;
        let index = record.status_index.ok_or_else(|| {
            WalletError::request(format!("{jti} was issued without a status entry"))
        })?;
        let mut state = self.status_list()?;
        state.revoke(index);
        let mut batch = Batch::default();
        self.store
            .put(&mut batch, Kind::Meta, STATUS_LIST_ID, &encode(&state)?);
        audit::append(
            &self.store,
            &mut batch,
            now,
            AuditAction::Revoke,
            json!({"jti": jti}),
        )?;
        self.store.commit(batch)?;
        Ok(())
    }

    /// The signed status list token of this wallet's list, valid for `ttl_secs`.
    ///
    /// # Errors
    /// Store errors.
    pub fn publish_status(&mut self, now: u64, ttl_secs: u64) -> Result<String, WalletError> {
        let state = self.status_list()?;
        let key = self.signing_key(&self.root_did)?;
        let kid = crate::did::did_key_url(key.public_key())?;
        let token = state.token(&self.root_did, &kid, &key, now, ttl_secs)?;
        let details = json!({"uri": state.uri, "revoked": state.revoked.len(), "ttl": ttl_secs});
        self.log(now, AuditAction::StatusPublish, details)?;
        Ok(token)
    }
}

/// The index entries of a record of a credential this wallet issued.
pub(super) fn issued_index_entries(record: &IssuedRecord) -> Vec<(&'static str, Vec<u8>)> {
    record
        .status_index
        .map(|index| (BY_STATUS_INDEX, index.to_be_bytes().to_vec()))
        .into_iter()
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use agentid_verifier::Algorithm;

    use super::*;
    use crate::keys::SigningKey;
    use crate::schema::TASK_VCT;
    use crate::store::KdfParams;
    use crate::wallet::Passphrase;

    const NOW: u64 = 1_800_000_000;

    #[test]
    fn import_restores_the_status_indexes_of_issued_credentials() {
        let dir = tempfile::tempdir().unwrap();
        let passphrase = Passphrase::new("correct horse battery staple");
        let kdf = KdfParams::MINIMUM;
        let mut issuer = Wallet::create(
            &dir.path().join("issuer"),
            &passphrase,
            &kdf,
            Algorithm::EdDSA,
            NOW,
        )
        .unwrap();
        let holder = SigningKey::generate(Algorithm::EdDSA);
        let claims = json!({
            "task": {"id": "T-1", "purpose": "p"},
            "scope": ["refunds:write"],
            "on_behalf_of": "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
        });
        let issued = issuer
            .issue(
                &CredentialRequest {
                    vct: TASK_VCT.into(),
                    subject: holder.did().unwrap(),
                    holder_key: holder.public_key().clone(),
                    claims: claims.as_object().cloned().unwrap(),
                    disclosable: vec![],
                    lifetime_secs: 600,
                    committed: vec![],
                },
                NOW,
            )
            .unwrap();
        let backup = dir.path().join("backup");
        issuer.export(&backup, &passphrase, &kdf, NOW).unwrap();
        drop(issuer);
        let restored = Wallet::import(
            &dir.path().join("restored"),
            &backup,
            &passphrase,
            &passphrase,
            &kdf,
            NOW,
        )
        .unwrap();
        let record: IssuedRecord = decode(
            &restored
                .store
                .get(Kind::Issued, issued.credential_id.as_bytes())
                .unwrap()
                .unwrap(),
        )
        .unwrap();
        let index = record.status_index.unwrap();
        assert_eq!(
            restored
                .store
                .lookup(BY_STATUS_INDEX, &index.to_be_bytes())
                .unwrap()
                .len(),
            1,
            "the used entry is known after the restore, so it is never handed out again"
        );
    }
}
