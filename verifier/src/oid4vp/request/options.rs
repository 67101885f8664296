//! What the Wallet accepts besides the specification's rules, and input limits.

use super::SELF_ISSUED_AUDIENCE;

/// Bounds on a request, checked before parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestLimits {
    /// Longest request object (or request URI), in bytes. Default 64 KiB.
    pub max_request_bytes: usize,
    /// Deepest JSON nesting (header, payload, decoded parameters). Default 16: a
    /// DCQL query with claim paths and value lists nests about 6 deep.
    pub max_json_depth: usize,
}

impl Default for RequestLimits {
    fn default() -> Self {
        RequestLimits {
            max_request_bytes: 64 * 1024,
            max_json_depth: 16,
        }
    }
}

impl RequestLimits {
    /// Returns the limits with `max_request_bytes` set.
    pub fn with_max_request_bytes(mut self, bytes: usize) -> Self {
        self.max_request_bytes = bytes;
        self
    }

    /// Returns the limits with `max_json_depth` set.
    pub fn with_max_json_depth(mut self, depth: usize) -> Self {
        self.max_json_depth = depth;
        self
    }
}

/// What the Wallet accepts besides the specification's rules. Build with
/// [`RequestOptions::default`] and the `with_*` methods.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestOptions {
    /// Accept an `http` `response_uri` (local tests). Default false: https only.
    pub allow_http_response_uri: bool,
    /// Tolerated clock difference for `exp`, `iat` and `nbf`, in seconds. Default 60.
    pub clock_skew_secs: u64,
    /// Refuse signed request objects without `exp`. Default true.
    pub require_expiry: bool,
    /// Accepted `aud` values of request objects (when present). Default
    /// `["https://self-issued.me/v2"]` (§5.8, static discovery).
    pub accepted_audiences: Vec<String>,
    /// Transaction data types this Wallet understands. Default none: a request
    /// carrying `transaction_data` is refused (§5.1).
    pub transaction_data_types: Vec<String>,
    /// The `wallet_nonce` the Wallet sent with `request_uri_method=post` (§5.10);
    /// the request object must carry it.
    pub expected_wallet_nonce: Option<String>,
    /// Also apply HAIP 1.0 §5 and §7: signed requests only, `x509_hash` only, ES256
    /// only, `direct_post.jwt` only, both `A128GCM` and `A256GCM` listed, no trust
    /// anchor inside `x5c`, no self-signed request certificate. Default false.
    pub haip: bool,
    /// Input limits.
    pub limits: RequestLimits,
}

impl Default for RequestOptions {
    fn default() -> Self {
        RequestOptions {
            allow_http_response_uri: false,
            clock_skew_secs: 60,
            require_expiry: true,
            accepted_audiences: vec![SELF_ISSUED_AUDIENCE.to_owned()],
            transaction_data_types: Vec::new(),
            expected_wallet_nonce: None,
            haip: false,
            limits: RequestLimits::default(),
        }
    }
}

impl RequestOptions {
    /// The HAIP 1.0 profile on top of the defaults.
    pub fn haip() -> Self {
        RequestOptions {
            haip: true,
            ..Self::default()
        }
    }

    /// Returns the options accepting (or not) an `http` `response_uri`.
    pub fn with_http_response_uri_allowed(mut self, allowed: bool) -> Self {
        self.allow_http_response_uri = allowed;
        self
    }

    /// Returns the options with another clock skew, in seconds.
    pub fn with_clock_skew(mut self, secs: u64) -> Self {
        self.clock_skew_secs = secs;
        self
    }

    /// Returns the options with `exp` required or optional.
    pub fn with_require_expiry(mut self, required: bool) -> Self {
        self.require_expiry = required;
        self
    }

    /// Returns the options accepting these request object audiences.
    pub fn with_accepted_audiences<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        audiences: I,
    ) -> Self {
        self.accepted_audiences = audiences.into_iter().map(Into::into).collect();
        self
    }

    /// Returns the options understanding these transaction data types.
    pub fn with_transaction_data_types<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        types: I,
    ) -> Self {
        self.transaction_data_types = types.into_iter().map(Into::into).collect();
        self
    }

    /// Returns the options expecting this `wallet_nonce`.
    pub fn with_expected_wallet_nonce(mut self, nonce: impl Into<String>) -> Self {
        self.expected_wallet_nonce = Some(nonce.into());
        self
    }

    /// Returns the options with other limits.
    pub fn with_limits(mut self, limits: RequestLimits) -> Self {
        self.limits = limits;
        self
    }
}
