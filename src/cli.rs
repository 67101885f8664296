//! Command-line definitions (clap). The contract is in docs/architecture.md.
//!
//! Exit status, the same for every command:
//!
//! - **0**: done (for `verify` and `verify-batch`: valid).
//! - **1**: the material under test was checked and is invalid (`invalid: …`: a
//!   presentation, credential or delegation, a denied action), or the operation was
//!   refused or failed on its merits (`error: …`: wrong passphrase, wallet in use,
//!   no such credential or jti, a false predicate, an I/O failure while writing).
//! - **2**: usage: the command could not start as asked. Clap's own errors (unknown
//!   flag, missing or malformed argument); a flag value it cannot use (`--ttl`,
//!   `--at`, `--action`, `--prove`, claim paths, a subject that is not a did:key);
//!   a file or directory the command reads that is missing, unreadable or malformed
//!   (trust file, claims file, status token, the presentation or credential to read,
//!   a backup to import, the verify-batch directory); no `--wallet`, or no wallet
//!   there; a wallet where `init` or `import` would create one; an existing file
//!   `export` would overwrite without `--force`; no passphrase; a request the wallet
//!   refuses as asked (unknown credential type, claims outside its schema, a lifetime
//!   past the type's maximum).
//!
//! Whether a file is "the command's input" (2 when unusable) or "the material under
//! test" (1 when invalid) is decided by what it holds: a missing or unreadable file
//! is always 2; a readable one whose content fails verification is 1.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Decentralized identities and verifiable credentials for AI agents.
#[derive(Debug, Parser)]
#[command(name = "agentid", version, about, long_about = None)]
pub(crate) struct Cli {
    /// The wallet directory (for the wallet commands).
    #[arg(long, global = true, value_name = "DIR", env = "AGENTID_WALLET")]
    pub(crate) wallet: Option<PathBuf>,
    /// Accept wallet headers and backups asking for more Argon2id work than the
    /// default ceiling (1 GiB memory, 16 passes, 8 lanes), up to the format's maximum
    /// (4 GiB, 64 passes, 16 lanes), and let init, passphrase change and export write
    /// them. Only for files you trust: a crafted one costs that work before the
    /// passphrase check can fail.
    #[arg(long, global = true)]
    pub(crate) allow_expensive_kdf: bool,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the end-to-end scenario: an issuer grants an agent a task credential, the
    /// agent presents it to another organization, which verifies it offline.
    Demo(DemoArgs),
    /// Verify a presentation (or, without --audience/--nonce, an issued credential).
    /// Exit status: 0 valid, 1 invalid, 2 usage error.
    Verify(VerifyArgs),
    /// Verify every presentation in a directory for one audience and nonce.
    /// Exit status: 0 all valid, 1 any invalid, 2 usage error.
    VerifyBatch(VerifyBatchArgs),
    /// Run a service.
    #[command(subcommand)]
    Serve(ServeCommand),
    /// OpenID4VP requests made and checked offline.
    #[command(subcommand)]
    Request(RequestCommand),
    /// For callers of `serve issuer`: the public JWK of a caller key (for the
    /// callers file), and signed client assertions (RFC 7523) to authenticate with.
    #[command(subcommand)]
    Caller(CallerCommand),
    /// Create an encrypted wallet with a root identity key.
    Init(InitArgs),
    /// Print the wallet's root DID.
    Did,
    /// Manage keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Issue a credential with the wallet's root key; print it on standard output
    /// and its jti on standard error (`jti: …`), or both as JSON with --json.
    Issue(IssueArgs),
    /// Verify a credential, then store it; print its wallet id.
    Receive(ReceiveArgs),
    /// List the credentials held (no claim values).
    List(ListArgs),
    /// Show one credential: its claims and what can be disclosed.
    Show(ShowArgs),
    /// Present a credential to a verifier; print the presentation.
    Present(PresentArgs),
    /// Remove expired credentials and destroy their per-task keys.
    Purge,
    /// Change the wallet passphrase.
    #[command(subcommand)]
    Passphrase(PassphraseCommand),
    /// Write an encrypted backup of the whole wallet (never over an existing file
    /// unless --force).
    Export(ExportArgs),
    /// Restore a backup into a new wallet at --wallet DIR.
    Import(ImportArgs),
    /// Check or export the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Delegate a narrower part of a held credential to a sub-agent's key; print the
    /// delegation for the sub-agent to `receive`.
    Delegate(DelegateArgs),
    /// Sign AP2 v0.2 mandates (always ES256: AP2 verifiers take P-256 keys only):
    /// an open mandate for an agent, a delegation of it, the closed mandate.
    #[command(subcommand)]
    Mandate(MandateCommand),
    /// As a principal, approve one exact action by one agent key; print the approval
    /// credential for the agent to send with that action (`verify --approval`).
    Approve(ApproveArgs),
    /// Revoke a credential this wallet issued, by its jti.
    Revoke {
        /// The credential's `jti`.
        jti: String,
    },
    /// This wallet's status list.
    #[command(subcommand)]
    Status(StatusCommand),
}

/// AP2 mandate signing. Every signature is ES256 with a P-256 key of this wallet
/// (`key new --task … --alg es256`), whatever the wallet's default key type.
#[derive(Debug, Subcommand)]
pub(crate) enum MandateCommand {
    /// Sign an open mandate (`mandate.checkout.open.1` / `mandate.payment.open.1`,
    /// JSON without `cnf`) handing it to the agent key --to; print the chain root.
    Open {
        /// The wallet's P-256 key that signs (a did:key it holds).
        #[arg(long)]
        key: String,
        /// The agent's P-256 did:key that will hold the mandate.
        #[arg(long)]
        to: String,
        /// The open mandate, a JSON file.
        #[arg(long, value_name = "FILE")]
        mandate: PathBuf,
    },
    /// Hand a held open mandate on to --to with a (narrower) open mandate; print the
    /// extended chain.
    Delegate {
        /// The chain so far (a file).
        #[arg(long, value_name = "FILE")]
        chain: PathBuf,
        /// The wallet's P-256 key that holds the mandate.
        #[arg(long)]
        key: String,
        /// The next holder's P-256 did:key.
        #[arg(long)]
        to: String,
        /// The open mandate handed on, a JSON file.
        #[arg(long, value_name = "FILE")]
        mandate: PathBuf,
        /// The audience of this hop (usually the next holder).
        #[arg(long)]
        audience: String,
        /// A nonce of the next holder.
        #[arg(long, allow_hyphen_values = true)]
        nonce: String,
        /// Bind to the previous token by sd_hash (default) or issuer_jwt_hash.
        #[arg(long, value_enum, default_value = "sd-hash")]
        binding: BindingArg,
    },
    /// Close the chain with a closed mandate (`mandate.checkout.1` /
    /// `mandate.payment.1`) for one verifier; print the presentation.
    Close {
        /// The chain so far (a file).
        #[arg(long, value_name = "FILE")]
        chain: PathBuf,
        /// The wallet's P-256 key that holds the mandate.
        #[arg(long)]
        key: String,
        /// The closed mandate, a JSON file.
        #[arg(long, value_name = "FILE")]
        mandate: PathBuf,
        /// The verifier's identifier.
        #[arg(long)]
        audience: String,
        /// The verifier's nonce.
        #[arg(long, allow_hyphen_values = true)]
        nonce: String,
        /// Bind to the previous token by sd_hash (default) or issuer_jwt_hash.
        #[arg(long, value_enum, default_value = "sd-hash")]
        binding: BindingArg,
    },
}

/// How a hop binds to the token before it.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum BindingArg {
    /// `sd_hash` over the previous token with its disclosures.
    SdHash,
    /// `issuer_jwt_hash` over the previous token's issuer-signed JWT.
    IssuerJwtHash,
}

#[derive(Debug, Args)]
pub(crate) struct ApproveArgs {
    /// The agent key the approval is for (the did:key its presentations are bound to).
    #[arg(long)]
    pub(crate) to: String,
    /// The action approved: 'SCOPE RESOURCE [AMOUNT [CURRENCY]]' or a JSON object
    /// {"scope", "resource", "amount", "currency"}. Verifiers accept the approval for
    /// exactly this action (RFC 8785 canonical form: 50 and 50.0 are the same).
    #[arg(long, allow_hyphen_values = true)]
    pub(crate) action: String,
    /// How long the approval is valid (at most 1h).
    #[arg(long, default_value = "10m")]
    pub(crate) ttl: String,
}

#[derive(Debug, Args)]
pub(crate) struct DelegateArgs {
    /// The held credential (or delegation) to delegate from.
    #[arg(long, allow_hyphen_values = true)]
    pub(crate) credential: String,
    /// The sub-agent's did:key.
    #[arg(long)]
    pub(crate) to: String,
    /// Comma-separated scopes, within yours (default: the same).
    #[arg(long, value_delimiter = ',')]
    pub(crate) scope: Vec<String>,
    /// A URI prefix within yours (repeatable; default: the same).
    #[arg(long, value_name = "URI")]
    pub(crate) resource: Vec<String>,
    /// An amount limit at most yours.
    #[arg(long, value_name = "N")]
    pub(crate) max_amount: Option<f64>,
    /// Further delegations the sub-agent may make (default: one less than yours).
    #[arg(long, value_name = "N")]
    pub(crate) depth: Option<u64>,
    /// Lifetime, within yours.
    #[arg(long, default_value = "10m")]
    pub(crate) ttl: String,
}

#[derive(Debug, Subcommand)]
pub(crate) enum StatusCommand {
    /// Write the signed status list token (statuslist+jwt) verifiers take with --status.
    Publish {
        /// Where to write it (- for standard output, which then holds only the token).
        #[arg(long, value_name = "FILE|-")]
        out: PathBuf,
        /// How long verifiers may use it, e.g. 1h.
        #[arg(long, default_value = "1h")]
        ttl: String,
    },
}

/// Argon2id parameters for commands that seal something under a passphrase.
#[derive(Debug, Args, Clone, Copy)]
pub(crate) struct KdfArgs {
    /// Argon2id memory in KiB (default 65536; at least 8192; above 1048576 needs
    /// --allow-expensive-kdf).
    #[arg(long, value_name = "KIB")]
    pub(crate) kdf_memory_kib: Option<u32>,
    /// Argon2id passes (default 3; above 16 needs --allow-expensive-kdf).
    #[arg(long, value_name = "N")]
    pub(crate) kdf_iterations: Option<u32>,
}

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// Algorithm of the root identity key.
    #[arg(long, value_enum, default_value = "eddsa")]
    pub(crate) alg: AlgArg,
    #[command(flatten)]
    pub(crate) kdf: KdfArgs,
}

/// A signing algorithm on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum AlgArg {
    /// Ed25519.
    Eddsa,
    /// ECDSA P-256.
    Es256,
    /// ECDSA secp256k1.
    Es256k,
}

#[derive(Debug, Subcommand)]
pub(crate) enum KeyCommand {
    /// Generate a fresh per-task key; print its DID.
    New {
        /// The task this key is for.
        #[arg(long)]
        task: String,
        /// Its algorithm.
        #[arg(long, value_enum, default_value = "eddsa")]
        alg: AlgArg,
    },
    /// List the wallet's keys: DID, algorithm, root or task, creation time (never
    /// secret material).
    List {
        /// Print JSON: [{"did", "alg", "root", "task", "created_at"}].
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub(crate) struct IssueArgs {
    /// The holder's DID; the credential is bound to its key.
    #[arg(long)]
    pub(crate) subject: String,
    /// The credential type (a schema for it must exist).
    #[arg(long)]
    pub(crate) vct: String,
    /// JSON file with the claims (- for standard input).
    #[arg(long, value_name = "FILE")]
    pub(crate) claims: String,
    /// Comma-separated claim paths to make selectively disclosable (a.b, list[0], list[*]).
    #[arg(long, value_name = "PATHS", value_delimiter = ',')]
    pub(crate) sd: Vec<String>,
    /// Lifetime, e.g. 15m, 1h.
    #[arg(long, default_value = "15m")]
    pub(crate) ttl: String,
    /// Comma-separated integer or date claims to commit to, so the holder can prove
    /// predicates about them (the output then carries the secret openings).
    #[arg(long, value_name = "PATHS", value_delimiter = ',')]
    pub(crate) commit: Vec<String>,
    /// Print {"credential", "jti", "expires_at"} as JSON on standard output instead
    /// (credential: exactly what the plain form prints, for `receive`).
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ReceiveArgs {
    /// The issued credential: a file, or - for standard input.
    #[arg(
        value_name = "FILE|-",
        required_unless_present = "offer",
        conflicts_with = "offer"
    )]
    pub(crate) input: Option<String>,
    /// Receive by OpenID4VCI 1.0 instead: a credential offer URI
    /// (openid-credential-offer://?credential_offer=… or …?credential_offer_uri=…)
    /// with a pre-authorized code. A fresh task key is made and proven; the
    /// credential is verified and stored bound to it.
    #[arg(long, value_name = "URI")]
    pub(crate) offer: Option<String>,
    /// With --offer: the task the new key is for (default: the offer's credential
    /// configuration).
    #[arg(long, requires = "offer")]
    pub(crate) task: Option<String>,
    /// With --offer: the new key's algorithm.
    #[arg(long, value_enum, default_value = "eddsa", requires = "offer")]
    pub(crate) alg: AlgArg,
    /// With --offer: allow plain-http issuer URLs (local tests only).
    #[arg(long, requires = "offer")]
    pub(crate) allow_http: bool,
    /// With --offer: extra TLS root certificates (PEM) for reaching the issuer.
    #[arg(long, value_name = "FILE", requires = "offer")]
    pub(crate) tls_ca: Vec<PathBuf>,
    /// Accept only issuers in this trust file (default: any did:key issuer, whose
    /// signature is checked against its DID).
    #[arg(long, value_name = "FILE")]
    pub(crate) trust: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// The credential's wallet id.
    #[arg(allow_hyphen_values = true)]
    pub(crate) id: String,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct PresentArgs {
    /// The credential's wallet id (ids may begin with '-').
    #[arg(long, allow_hyphen_values = true, required_unless_present = "request")]
    pub(crate) credential: Option<String>,
    /// The verifier's identifier (the KB-JWT's aud).
    #[arg(long, required_unless_present = "request", conflicts_with = "request")]
    pub(crate) audience: Option<String>,
    /// The verifier's nonce.
    #[arg(
        long,
        allow_hyphen_values = true,
        required_unless_present = "request",
        conflicts_with = "request"
    )]
    pub(crate) nonce: Option<String>,
    /// Comma-separated claim paths to disclose.
    #[arg(
        long,
        value_name = "PATHS",
        value_delimiter = ',',
        conflicts_with = "request"
    )]
    pub(crate) disclose: Vec<String>,
    /// For a delegation: the action requested of the verifier, as a JSON object
    /// (the terminal hop's delegate object).
    #[arg(long, value_name = "JSON", conflicts_with = "request")]
    pub(crate) action: Option<String>,
    /// Prove a predicate on a committed claim without disclosing it (repeatable):
    /// 'birthdate<=2008-11-22', 'level>=3', '3<=level<=5', or 'age>=18' (spaces
    /// around the operators are allowed: 'age >= 18').
    #[arg(long, value_name = "PREDICATE", conflicts_with = "request")]
    pub(crate) prove: Vec<String>,
    #[command(flatten)]
    pub(crate) oid4vp: AnswerArgs,
}

/// `present --request`: answering an OpenID4VP request.
#[derive(Debug, Args)]
pub(crate) struct AnswerArgs {
    /// Answer an OpenID4VP 1.0 request: an `openid4vp://` (or `haip-vp://`, `https://`)
    /// authorization request URI, or a file holding one or a request object. The
    /// wallet checks the request, picks the credentials and the fewest claims that
    /// answer its DCQL query, binds them to the verifier and its nonce, and posts them.
    #[arg(long, value_name = "URI|FILE", conflicts_with = "credential")]
    pub(crate) request: Option<String>,
    /// A trust anchor (PEM certificate) for verifiers identified by X.509
    /// (`x509_san_dns:`, `x509_hash:`); repeatable. Without one, such verifiers are
    /// refused.
    #[arg(long, value_name = "FILE", requires = "request")]
    pub(crate) verifier_anchor: Vec<PathBuf>,
    /// Allow plain-http request and response URIs (local tests only).
    #[arg(long, requires = "request")]
    pub(crate) allow_http: bool,
    /// Extra TLS root certificates (PEM) for reaching the verifier; repeatable.
    #[arg(long, value_name = "FILE", requires = "request")]
    pub(crate) tls_ca: Vec<PathBuf>,
    /// A disclosure policy (JSON): what this agent may disclose to which verifier,
    /// unattended. A request needing more is refused.
    #[arg(long, value_name = "FILE", requires = "request")]
    pub(crate) policy: Option<PathBuf>,
    /// Without --policy: disclose what the request asks without asking first.
    #[arg(long, requires = "request")]
    pub(crate) yes: bool,
    /// Print what would be disclosed, to whom, and stop.
    #[arg(long, requires = "request")]
    pub(crate) dry_run: bool,
    /// Print JSON.
    #[arg(long, requires = "request")]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum PassphraseCommand {
    /// Re-seal the wallet under a new passphrase (AGENTID_NEW_PASSPHRASE or a prompt).
    Change {
        #[command(flatten)]
        kdf: KdfArgs,
    },
}

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// The backup file to write.
    pub(crate) file: PathBuf,
    /// Replace FILE if it exists (atomically: the backup is written beside it, then
    /// renamed over it). Without it an existing FILE is a usage error (exit 2).
    #[arg(long)]
    pub(crate) force: bool,
    #[command(flatten)]
    pub(crate) kdf: KdfArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// The backup file to restore.
    pub(crate) file: PathBuf,
    #[command(flatten)]
    pub(crate) kdf: KdfArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Check the hash chain of the audit log.
    Verify,
    /// Print the audit log.
    Export {
        /// One JSON object per line.
        #[arg(long)]
        jsonl: bool,
    },
}

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Also write credential.sd-jwt, presentation.sd-jwt, trust.json and request.json here.
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The presentation or credential: a file, or - for standard input.
    #[arg(value_name = "FILE|-")]
    pub(crate) input: String,
    /// The audience the key binding must name (this verifier's identifier).
    #[arg(long, requires = "nonce")]
    pub(crate) audience: Option<String>,
    /// The nonce this verifier sent with its request.
    #[arg(long, allow_hyphen_values = true, requires = "audience")]
    pub(crate) nonce: Option<String>,
    /// Trust file: {"issuers": [{"id": "did:key:…"}, {"id": "https://…", "jwk": {…}}]}.
    #[arg(long, value_name = "FILE")]
    pub(crate) trust: PathBuf,
    /// A status list token (statuslist+jwt) from a trusted issuer, for revocation
    /// checks (repeatable, one per list). Credentials that reference a list not
    /// given here are refused: status unknown.
    #[arg(long, value_name = "FILE")]
    pub(crate) status: Vec<PathBuf>,
    /// Verify as of this time (RFC 3339, or seconds since the Unix epoch) instead of now.
    #[arg(long, value_name = "TIME")]
    pub(crate) at: Option<String>,
    /// Accept this issuer-JWT typ instead of dc+sd-jwt (repeatable).
    #[arg(long, value_name = "TYP")]
    pub(crate) typ: Vec<String>,
    /// Also decide whether the verified presenter may do this: 'SCOPE RESOURCE [AMOUNT]'
    /// (exit 1 when denied).
    #[arg(long, value_name = "'SCOPE RESOURCE AMOUNT'")]
    pub(crate) action: Option<String>,
    /// The principal's approval credential for that action (needed above the task's
    /// approval_above threshold).
    #[arg(long, value_name = "FILE", requires = "action")]
    pub(crate) approval: Option<PathBuf>,
    /// Print the verdict as JSON on standard output.
    #[arg(long)]
    pub(crate) json: bool,
    /// What the input is: an agentid credential, presentation or delegation chain
    /// (the default), or an AP2 v0.2 mandate chain (root ~~ hops ~~ closed mandate,
    /// as the AP2 SDK builds them; needs --audience and --nonce; the trust file
    /// names the root's key, e.g. `{"jwk": {…}}`).
    #[arg(long, value_enum, default_value = "agentid")]
    pub(crate) profile: Profile,
}

/// How `verify` reads its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Profile {
    /// agentid's SD-JWT VCs, presentations and delegation chains.
    Agentid,
    /// AP2 v0.2 mandate chains.
    Ap2,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyBatchArgs {
    /// The directory of presentations, one per file (hidden files are skipped).
    #[arg(value_name = "DIR")]
    pub(crate) dir: PathBuf,
    /// The audience every key binding must name (this verifier's identifier).
    #[arg(long)]
    pub(crate) audience: String,
    /// The nonce every presentation must answer.
    #[arg(long, allow_hyphen_values = true)]
    pub(crate) nonce: String,
    /// Trust file, as for `verify`.
    #[arg(long, value_name = "FILE")]
    pub(crate) trust: PathBuf,
    /// A status list token (statuslist+jwt) from a trusted issuer, for revocation
    /// checks (repeatable, one per list). Credentials that reference a list not
    /// given here are refused: status unknown.
    #[arg(long, value_name = "FILE")]
    pub(crate) status: Vec<PathBuf>,
    /// How to verify; both modes give the same verdicts.
    #[arg(long, value_enum, default_value = "batch")]
    pub(crate) mode: BatchMode,
    /// Verify as of this time (RFC 3339, or seconds since the Unix epoch) instead of now.
    #[arg(long, value_name = "TIME")]
    pub(crate) at: Option<String>,
    /// Print one JSON object per file on standard output (the summary goes to
    /// standard error).
    #[arg(long)]
    pub(crate) json: bool,
}

/// How `verify-batch` verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum BatchMode {
    /// Many presentations at once, their Ed25519 signatures checked together (faster).
    Batch,
    /// One presentation at a time.
    Single,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ServeCommand {
    /// The verifier as an HTTP service: POST /v1/presentations/verify and
    /// /v1/presentations/verify-batch, GET /healthz and GET /openapi.json (its
    /// OpenAPI 3.1 description). Logs go to standard error
    /// (RUST_LOG, default info); stops on SIGTERM or Ctrl-C.
    Verifier(Box<ServeVerifierArgs>),
    /// The issuer as an HTTP service, signing with the --wallet's root key
    /// (unlocked once): POST /v1/credentials for configured callers, revocation and
    /// suspension, the status lists (GET /v1/status-lists/N), and OpenID4VCI 1.0
    /// (pre-authorized code) for wallets. State in a directory or PostgreSQL
    /// (several nodes). Stops on SIGTERM or Ctrl-C.
    Issuer(Box<ServeIssuerArgs>),
}

#[derive(Debug, Clone, Args)]
pub(crate) struct ServeIssuerArgs {
    /// The address to listen on, e.g. 127.0.0.1:8443 (port 0: any free port; the
    /// address bound is printed as "listening on ADDR").
    #[arg(long, value_name = "ADDR")]
    pub(crate) listen: String,
    /// The URL callers and wallets reach this service at, without a path, e.g.
    /// https://issuer.example: caller assertions are for it (aud), it is the
    /// OpenID4VCI credential issuer, and status lists are served under it.
    #[arg(long, value_name = "URL")]
    pub(crate) public_url: String,
    /// Who may ask for credentials: a JSON file {"callers": [{"id", "jwk"}, …]}
    /// (docs/issuer.md); read at start.
    #[arg(long, value_name = "FILE")]
    pub(crate) callers: PathBuf,
    /// Where the issuer's state lives: a directory (embedded, one node) or a
    /// PostgreSQL URL (postgres://…, shared by every node).
    #[arg(long, value_name = "DIR|URL", default_value = "agentid-issuer-state")]
    pub(crate) store: String,
    /// The 32-byte secret sealing offers and keying nonces; every node sharing a
    /// PostgreSQL store needs the same file. Default, embedded store only: `secret`
    /// inside the store directory, created on first start.
    #[arg(long, value_name = "FILE")]
    pub(crate) state_secret: Option<PathBuf>,
    /// The longest a caller's assertion may live (exp - iat), e.g. 5m.
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    pub(crate) assertion_max_lifetime: String,
    /// How long a status list token is valid (exp - iat), e.g. 24h; tokens are
    /// signed again after half of it, or at once after a change.
    #[arg(long, value_name = "DURATION", default_value = "12h")]
    pub(crate) status_lifetime: String,
    /// How long verifiers and caches may keep a status list token before fetching
    /// it again (its `ttl`, Cache-Control max-age), e.g. 1m: the most a
    /// revocation takes to reach a verifier that follows it.
    #[arg(long, value_name = "DURATION", default_value = "1m")]
    pub(crate) status_ttl: String,
    /// How long a credential offer's pre-authorized code stays redeemable, e.g. 10m.
    #[arg(long, value_name = "DURATION", default_value = "10m")]
    pub(crate) offer_ttl: String,
    /// How long an OpenID4VCI access token works, e.g. 5m.
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    pub(crate) token_ttl: String,
    /// How long a c_nonce stays usable, e.g. 5m.
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    pub(crate) nonce_ttl: String,
    #[command(flatten)]
    pub(crate) http: HttpLimitArgs,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct ServeVerifierArgs {
    /// The address to listen on, e.g. 127.0.0.1:8080 (port 0: any free port; the
    /// address bound is printed as "listening on ADDR").
    #[arg(long, value_name = "ADDR")]
    pub(crate) listen: String,
    /// Trust file, as for `verify`.
    #[arg(long, value_name = "FILE")]
    pub(crate) trust: PathBuf,
    /// A status list token (statuslist+jwt) from a trusted issuer, for revocation
    /// checks (repeatable, one per list). Credentials that reference a list not
    /// given here are refused: status unknown.
    #[arg(long, value_name = "FILE")]
    pub(crate) status: Vec<PathBuf>,
    /// Most verification requests worked on at once (default: two per core); the
    /// others wait up to --queue-wait-ms, then get 503 with Retry-After.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) max_concurrent: Option<u32>,
    /// This service's own audience: a request naming another is refused (422), so a
    /// caller cannot have presentations made for someone else accepted here
    /// (repeatable, for a service answering under several names).
    #[arg(long = "audience", value_name = "URI")]
    pub(crate) audiences: Vec<String>,
    /// How long a request waits for a free slot before 503, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 2000)]
    pub(crate) queue_wait_ms: u64,
    #[command(flatten)]
    pub(crate) http: HttpLimitArgs,
    #[command(flatten)]
    pub(crate) oid4vp: VerifierOid4vpArgs,
    #[command(flatten)]
    pub(crate) authz: VerifierAuthzArgs,
}

/// The limits of an HTTP service: sizes and times of one connection and request,
/// and of all of them together (`src/serve/limits.rs`).
#[derive(Debug, Clone, Args)]
pub(crate) struct HttpLimitArgs {
    /// Largest request body accepted, in bytes (larger: 413).
    #[arg(long, value_name = "N", default_value_t = 1024 * 1024)]
    pub(crate) max_body_bytes: usize,
    /// How long a connection may take to send a request's headers, in milliseconds;
    /// also how long an idle keep-alive connection stays open. Then it is closed.
    #[arg(long, value_name = "MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) header_timeout_ms: u64,
    /// How long a request's body may take to arrive once its headers have, in
    /// milliseconds (longer: 408).
    #[arg(long, value_name = "MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) body_timeout_ms: u64,
    /// How long the service works on one request, from its headers to the answer, in
    /// milliseconds (longer: 503 with Retry-After).
    #[arg(long, value_name = "MS", default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) request_timeout_ms: u64,
    /// Most connections open at once; further ones wait in the listen backlog, not
    /// accepted, until one closes.
    #[arg(long, value_name = "N", default_value_t = 512, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) max_connections: u32,
    /// Most request-body bytes buffered at once across all requests (at least
    /// --max-body-bytes). A request is charged its Content-Length, or
    /// --max-body-bytes without one, before its body is read; over the budget: 503
    /// with Retry-After.
    #[arg(long, value_name = "N", default_value_t = 64 * 1024 * 1024)]
    pub(crate) max_buffered_bytes: usize,
}

/// The verifier service's authorization-server role (RFC 8693 token exchange).
#[derive(Debug, Clone, Args)]
pub(crate) struct VerifierAuthzArgs {
    /// The access-token signing key, PKCS#8 PEM: P-256 signs ES256 (what MCP SDKs
    /// accept), Ed25519 signs EdDSA. Turns the authorization server on
    /// (/.well-known/oauth-authorization-server, /v1/oauth/…).
    #[arg(long, value_name = "FILE")]
    pub(crate) token_key: Option<PathBuf>,
    /// A previous signing key, still published in the JWKS so tokens it signed
    /// verify until they expire (repeatable; for key rotation).
    #[arg(long, value_name = "FILE")]
    pub(crate) token_key_previous: Vec<PathBuf>,
    /// The authorization server's issuer identifier (RFC 8414), an http(s) URL
    /// without path, query or fragment, e.g. https://auth.example; presentations
    /// are bound to it (KB-JWT aud). Default: --public-url.
    #[arg(long, value_name = "URL")]
    pub(crate) token_issuer: Option<String>,
    /// The longest an access token lives, e.g. 5m; never past the credential.
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    pub(crate) token_max_ttl: String,
    /// How long a nonce from the nonce endpoint stays usable, e.g. 2m.
    #[arg(long, value_name = "DURATION", default_value = "2m")]
    pub(crate) token_nonce_ttl: String,
    /// Refuse token requests without a DPoP proof (RFC 9449): every token issued is
    /// sender-constrained.
    #[arg(long)]
    pub(crate) token_require_dpop: bool,
}

/// The verifier service's OpenID4VP role.
#[derive(Debug, Clone, Args)]
pub(crate) struct VerifierOid4vpArgs {
    /// The URL wallets reach this service at, e.g. https://verifier.example: request
    /// and response URIs are built under it. Without it the OpenID4VP endpoints
    /// (/v1/oid4vp/…) are off.
    #[arg(long, value_name = "URL")]
    pub(crate) public_url: Option<String>,
    #[command(flatten)]
    pub(crate) identity: RequestIdentityArgs,
    /// Where open requests live: a directory (embedded store, one node) or a
    /// PostgreSQL URL (postgres://…, shared by every node behind a load balancer).
    #[arg(long, value_name = "DIR|URL", default_value = "agentid-verifier-state")]
    pub(crate) state: String,
    /// The 32-byte secret sealing stored state and deriving each request's
    /// response-encryption key; every node sharing a PostgreSQL state needs the same
    /// file. Default, for embedded state only: `secret` inside the state directory,
    /// created on first start.
    #[arg(long, value_name = "FILE")]
    pub(crate) state_secret: Option<PathBuf>,
    /// How long a request stays answerable, e.g. 5m.
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    pub(crate) request_ttl: String,
    /// How long a finished request's verdict stays readable after the request
    /// expired, e.g. 10m; then it is deleted.
    #[arg(long, value_name = "DURATION", default_value = "10m")]
    pub(crate) result_retention: String,
}

/// Who signs a verifier's OpenID4VP requests.
#[derive(Debug, Clone, Args)]
pub(crate) struct RequestIdentityArgs {
    /// The client identifier prefix: x509_hash (HAIP), x509_san_dns (both need
    /// --request-key and --request-chain), decentralized_identifier (the --wallet's
    /// did:key signs), redirect_uri (unsigned requests).
    #[arg(long, value_name = "PREFIX", default_value = "x509_hash")]
    pub(crate) client_id_prefix: crate::oid4vp::identity::ClientIdPrefix,
    /// The request-signing key: P-256, PKCS#8 or SEC1 PEM.
    #[arg(long, value_name = "FILE")]
    pub(crate) request_key: Option<PathBuf>,
    /// Its certificate chain, PEM, leaf first, without the trust anchor.
    #[arg(long, value_name = "FILE")]
    pub(crate) request_chain: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum CallerCommand {
    /// Print the public JWK of a caller key (P-256 or Ed25519, PKCS#8 PEM).
    Jwk {
        /// The caller's private key.
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
    },
    /// Print a fresh single-use client assertion: iss = sub = --id, aud =
    /// --audience (the issuer's public URL), iat, exp, a random jti.
    Assertion {
        /// The caller's private key.
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// The caller id, as in the callers file.
        #[arg(long)]
        id: String,
        /// The issuer service's public URL.
        #[arg(long, value_name = "URL")]
        audience: String,
        /// How long it stays usable, e.g. 2m (the issuer accepts at most 5m by default).
        #[arg(long, value_name = "DURATION", default_value = "2m")]
        lifetime: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum RequestCommand {
    /// Make an OpenID4VP request offline: write the request object and the
    /// request's private state (a 0600 file holding its nonce and response key);
    /// print the authorization request URI.
    Create(RequestCreateArgs),
    /// Check a response to a request made with `request create`. Exit status: 0
    /// accepted, 1 refused, 2 usage error.
    Verify(RequestVerifyArgs),
}

#[derive(Debug, Args)]
pub(crate) struct RequestCreateArgs {
    /// The DCQL query (JSON file).
    #[arg(long, value_name = "FILE")]
    pub(crate) dcql: PathBuf,
    /// Transaction data the wallet must sign over (a JSON file holding one object or
    /// an array of objects, each with `type` and `credential_ids`).
    #[arg(long, value_name = "FILE")]
    pub(crate) transaction_data: Option<PathBuf>,
    /// Where the wallet posts its response.
    #[arg(long, value_name = "URL")]
    pub(crate) response_uri: String,
    /// Where the wallet fetches the request object from (you publish the file written
    /// to --out there); without it the URI carries the request object by value.
    #[arg(long, value_name = "URL")]
    pub(crate) request_uri: Option<String>,
    /// direct_post.jwt (encrypted, default) or direct_post.
    #[arg(long, value_name = "MODE", default_value = "direct_post.jwt")]
    pub(crate) response_mode: String,
    #[command(flatten)]
    pub(crate) identity: RequestIdentityArgs,
    /// How long the request stays answerable, e.g. 5m.
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    pub(crate) ttl: String,
    /// Write the request object here.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: PathBuf,
    /// Write the request's private state here (created 0600; never over a file).
    #[arg(long, value_name = "FILE")]
    pub(crate) state: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct RequestVerifyArgs {
    /// The state file `request create` wrote.
    #[arg(long, value_name = "FILE")]
    pub(crate) state: PathBuf,
    /// The response: the form body the wallet posted (vp_token=…&state=… or
    /// response=…), or `-` for standard input.
    #[arg(long, value_name = "FILE")]
    pub(crate) response: String,
    /// Trust file, as for `verify`.
    #[arg(long, value_name = "FILE")]
    pub(crate) trust: PathBuf,
    /// Status list tokens, as for `verify`.
    #[arg(long, value_name = "FILE")]
    pub(crate) status: Vec<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}
