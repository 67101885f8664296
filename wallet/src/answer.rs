//! Answering a DCQL query (OpenID4VP 1.0 §6.4) from the credentials a wallet holds:
//! which credentials, which claims, which predicates — the fewest that satisfy it —
//! and then the presentations, each bound to the verifier's client identifier and
//! nonce and to the transaction data naming its credential query.
//!
//! Planning and presenting are separate steps so that a caller (an agent's policy,
//! or a person at a prompt) can see and approve exactly what will be disclosed, to
//! whom, before anything is signed.

use std::collections::BTreeMap;

use agentid_verifier::dcql::{select, Candidate, DcqlQuery, Unsatisfiable};
use agentid_verifier::predicate::Predicate;
use agentid_verifier::{ClaimPath, Limits, PresentationRequest, UnverifiedSdJwt};
use serde::Serialize;

use crate::error::WalletError;
use crate::store::Kind;
use crate::wallet::{decode_credential, root_segment, Wallet};

/// The format every credential this wallet holds has.
const SD_JWT_VC_FORMAT: &str = "dc+sd-jwt";

/// One presentation the wallet would make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PlannedPresentation {
    /// The credential query it answers.
    pub query_id: String,
    /// The wallet's id of the credential presented.
    pub credential: String,
    /// Its type.
    pub vct: String,
    /// Its issuer.
    pub issuer: String,
    /// The claims disclosed (text form of [`ClaimPath`]), parents implied.
    pub disclose: Vec<String>,
    /// The statements proven in zero knowledge (claim and bounds), never the values.
    pub prove: Vec<serde_json::Value>,
    #[serde(skip)]
    paths: Vec<ClaimPath>,
    #[serde(skip)]
    predicates: Vec<Predicate>,
}

impl PlannedPresentation {
    /// The disclosed claims as paths.
    pub fn paths(&self) -> &[ClaimPath] {
        &self.paths
    }

    /// The predicates to prove.
    pub fn predicates(&self) -> &[Predicate] {
        &self.predicates
    }
}

/// What the wallet would present for a query, before anything is signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AnswerPlan {
    /// The presentations, in credential-query order.
    pub presentations: Vec<PlannedPresentation>,
}

/// What binds the presentations of one answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerBinding {
    /// The verifier's client identifier, prefix included: every KB-JWT's `aud`.
    pub client_id: String,
    /// The request's nonce.
    pub nonce: String,
    /// The request's transaction data: each raw (base64url) string with the
    /// credential query ids it names.
    pub transaction_data: Vec<(String, Vec<String>)>,
}

impl Wallet {
    /// The wallet's unexpired credentials as DCQL candidates, with their ids.
    ///
    /// # Errors
    /// Store errors, or a stored credential that no longer parses.
    pub fn dcql_candidates(&self, now: u64) -> Result<Vec<(String, Candidate)>, WalletError> {
        let mut candidates = Vec::new();
        for record in self.store().scan(Kind::Credential) {
            let record = decode_credential(&record?.body)?;
            if record.expires_at.is_some_and(|exp| exp <= now) {
                continue;
            }
            // Delegations are presented with an action, not to a DCQL query.
            if record.sd_jwt.contains("~~") {
                continue;
            }
            let Some(vct) = record.vct.clone() else {
                continue;
            };
            let root = root_segment(&record.sd_jwt);
            let parsed = UnverifiedSdJwt::parse(&root, &Limits::default())?;
            let claims = parsed.disclosure_map()?.claims;
            let committed: Vec<String> = record
                .openings
                .iter()
                .filter_map(|opening| crate::commit::Opening::from_json(opening).ok())
                .map(|opening| opening.claim().to_owned())
                .collect();
            let candidate =
                Candidate::new(SD_JWT_VC_FORMAT, vct, serde_json::Value::Object(claims))
                    .with_holder_binding(true)
                    .with_committed(committed);
            candidates.push((record.id.clone(), candidate));
        }
        // A stable order (by wallet id), so the same wallet answers a query the same way.
        candidates.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(candidates)
    }

    /// Chooses what to present for `query`: the fewest claims from the credentials
    /// held (§6.4), without signing anything.
    ///
    /// # Errors
    /// [`WalletError::Unanswerable`] when a required credential cannot be met (the
    /// wallet then presents nothing), or store errors.
    pub fn plan_answer(&self, query: &DcqlQuery, now: u64) -> Result<AnswerPlan, WalletError> {
        let held = self.dcql_candidates(now)?;
        let candidates: Vec<Candidate> = held.iter().map(|(_, c)| c.clone()).collect();
        let selection = select(query, &candidates)
            .map_err(|e: Unsatisfiable| WalletError::Unanswerable(e.to_string()))?;
        let mut presentations = Vec::new();
        for (query_id, chosen) in &selection.credentials {
            for selected in chosen {
                let (id, candidate) = held
                    .get(selected.candidate)
                    .ok_or_else(|| WalletError::Unanswerable("selection out of range".into()))?;
                let issuer = candidate
                    .claims
                    .get("iss")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                presentations.push(PlannedPresentation {
                    query_id: query_id.clone(),
                    credential: id.clone(),
                    vct: candidate.vct.clone(),
                    issuer,
                    disclose: selected.disclose.iter().map(ToString::to_string).collect(),
                    prove: selected.predicates.iter().map(Predicate::to_json).collect(),
                    paths: selected.disclose.clone(),
                    predicates: selected.predicates.clone(),
                });
            }
        }
        Ok(AnswerPlan { presentations })
    }

    /// Makes the presentations of `plan`, each bound to `binding` (and to the
    /// transaction data naming its query), and records each in the audit log. Returns
    /// the `vp_token` object: credential query id → presentations.
    ///
    /// # Errors
    /// As [`Wallet::present_with_predicates`].
    pub fn answer(
        &mut self,
        plan: &AnswerPlan,
        binding: &AnswerBinding,
        now: u64,
    ) -> Result<BTreeMap<String, Vec<String>>, WalletError> {
        let mut vp_token: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for planned in &plan.presentations {
            let transaction_data = binding
                .transaction_data
                .iter()
                .filter(|(_, ids)| ids.contains(&planned.query_id))
                .map(|(raw, _)| raw.clone());
            let request =
                PresentationRequest::new(binding.client_id.clone(), binding.nonce.clone())
                    .with_transaction_data(transaction_data);
            let presentation = self.present_with_predicates(
                &planned.credential,
                &planned.paths,
                &planned.predicates,
                &request,
                now,
            )?;
            vp_token
                .entry(planned.query_id.clone())
                .or_default()
                .push(presentation);
        }
        Ok(vp_token)
    }
}
