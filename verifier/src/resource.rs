//! Resources are URLs: a granted prefix and a requested resource are parsed with a
//! WHATWG URL parser (the `url` crate, the URL Standard browsers and most HTTP
//! stacks follow) and compared by component, never as raw text.
//!
//! A resource is refused outright (it lies within no prefix, and no prefix made of it
//! grants anything) when a server might resolve it to a place its text does not
//! spell, or when the parser would change it in a way the prefix rule cannot follow:
//!
//! - control characters, spaces or DEL anywhere (WHATWG parsers silently drop tab,
//!   CR and LF, so `/orders/.<TAB>./admin` is `/admin` to them), also
//!   percent-encoded (`%00`–`%1F`, `%7F`);
//! - a backslash (WHATWG reads it as `/` in `http(s)` URLs), also encoded (`%5C`);
//! - an encoded slash (`%2F`), a segment boundary only some servers see;
//! - a dot segment (`.`, `..`, also as `%2e`), or a `..;` segment (`..` to servers
//!   that take `;` as a path-parameter separator);
//! - credentials in the URL (`https://user:pass@host/`).
//!
//! What remains is compared by parsed component: scheme, host (lower-cased and
//! IDNA-normalized by the parser), port (the scheme's default when absent), and path
//! segments, the granted ones a prefix of the requested ones. A granted prefix with
//! a query or fragment grants exactly that URL; a requested query or fragment under
//! a prefix without one is within it (`…/orders?page=2` is under `…/orders`). URLs
//! without a hierarchical path (`urn:…`) are within a prefix when equal to it or
//! when the rest begins at a `:` or `/` boundary.

use url::Url;

/// A resource URL that passed every refusal above, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceUrl {
    url: Url,
}

/// Why a resource or granted prefix is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("resource is not usable: {0}")]
pub struct InvalidResource(&'static str);

impl ResourceUrl {
    /// Parses a resource or granted prefix, refusing what a server might resolve
    /// elsewhere (see the module docs).
    ///
    /// # Errors
    /// [`InvalidResource`] naming the first rule broken.
    pub fn parse(text: &str) -> Result<Self, InvalidResource> {
        if text
            .chars()
            .any(|c| c.is_control() || c == ' ' || c == '\u{7f}')
        {
            return Err(InvalidResource("it holds a control character or space"));
        }
        if text.contains('\\') {
            return Err(InvalidResource("it holds a backslash"));
        }
        let lower = text.to_ascii_lowercase();
        if has_encoded_separator_or_control(&lower) {
            return Err(InvalidResource(
                "it holds an encoded slash, backslash or control character",
            ));
        }
        let url = Url::parse(text).map_err(|_| InvalidResource("it is not a URL"))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(InvalidResource("it carries credentials"));
        }
        if !url.cannot_be_a_base() && has_dot_segment(raw_path(text)) {
            return Err(InvalidResource("its path holds a dot segment"));
        }
        Ok(ResourceUrl { url })
    }

    /// True when this resource lies under `granted`.
    pub fn is_within(&self, granted: &ResourceUrl) -> bool {
        let (wanted, granted) = (&self.url, &granted.url);
        if wanted.scheme() != granted.scheme() {
            return false;
        }
        if wanted.cannot_be_a_base() || granted.cannot_be_a_base() {
            if wanted.cannot_be_a_base() != granted.cannot_be_a_base() {
                return false;
            }
            let (wanted, granted) = (wanted.as_str(), granted.as_str());
            return match wanted.strip_prefix(granted) {
                None => false,
                Some(rest) => {
                    rest.is_empty() || granted.ends_with([':', '/']) || rest.starts_with([':', '/'])
                }
            };
        }
        if wanted.host() != granted.host()
            || wanted.port_or_known_default() != granted.port_or_known_default()
        {
            return false;
        }
        if granted.query().is_some() || granted.fragment().is_some() {
            return wanted.path() == granted.path()
                && wanted.query() == granted.query()
                && wanted.fragment() == granted.fragment();
        }
        let granted_segments = segments(granted);
        let wanted_segments = segments(wanted);
        wanted_segments.len() >= granted_segments.len()
            && wanted_segments
                .iter()
                .zip(&granted_segments)
                .all(|(wanted, granted)| wanted == granted)
    }
}

/// True when the URI `wanted` lies under the granted prefix `granted`: both parse as
/// [`ResourceUrl`]s and the first is within the second. The one rule the verifier's
/// authorization and every delegation's narrowing (wallet and verifier) apply.
pub fn resource_within(wanted: &str, granted: &str) -> bool {
    match (ResourceUrl::parse(wanted), ResourceUrl::parse(granted)) {
        (Ok(wanted), Ok(granted)) => wanted.is_within(&granted),
        _ => false,
    }
}

/// The path segments without the empty one a trailing `/` leaves (so `…/orders/`
/// and `…/orders` grant the same).
fn segments(url: &Url) -> Vec<&str> {
    let mut segments: Vec<&str> = url
        .path_segments()
        .map(Iterator::collect)
        .unwrap_or_default();
    if segments.last() == Some(&"") {
        segments.pop();
    }
    segments
}

/// The path as written: after `scheme://authority`, before `?` or `#`.
fn raw_path(text: &str) -> &str {
    let before_query = text.split(['?', '#']).next().unwrap_or_default();
    match before_query.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("", |start| &rest[start..]),
        None => before_query
            .split_once(':')
            .map_or(before_query, |(_, rest)| rest),
    }
}

fn has_dot_segment(path: &str) -> bool {
    path.to_ascii_lowercase().split('/').any(|segment| {
        let name = segment.split(';').next().unwrap_or_default();
        let decoded = name.replace("%2e", ".");
        decoded == "." || decoded == ".."
    })
}

/// `%2f`, `%5c`, `%00`–`%1f` and `%7f` in lower-cased text.
fn has_encoded_separator_or_control(lower: &str) -> bool {
    let bytes = lower.as_bytes();
    bytes.windows(3).any(|window| {
        if window[0] != b'%' {
            return false;
        }
        let pair = &window[1..];
        pair == b"2f"
            || pair == b"5c"
            || pair == b"7f"
            || matches!(pair[0], b'0' | b'1') && pair[1].is_ascii_hexdigit()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORDERS: &str = "https://shop.example/orders";

    #[test]
    fn resources_match_at_a_segment_boundary() {
        for inside in [
            ORDERS,
            "https://shop.example/orders/7",
            "https://shop.example/orders/",
            "https://shop.example/orders?page=2",
            "https://SHOP.example:443/orders/7",
            "HTTPS://shop.example/orders#top",
        ] {
            assert!(resource_within(inside, ORDERS), "{inside}");
        }
        assert!(resource_within(
            "https://shop.example/orders/7",
            "https://shop.example/orders/"
        ));
        assert!(resource_within(
            "https://shop.example/x",
            "https://shop.example"
        ));
        for outside in [
            "https://shop.example/orders-archive",
            "https://shop.example/order",
            "https://shop.example:8443/orders/7",
            "http://shop.example/orders/7",
            "https://shop.example.evil/orders",
            "https://shop.example/",
        ] {
            assert!(!resource_within(outside, ORDERS), "{outside}");
        }
    }

    #[test]
    fn resources_a_server_may_resolve_elsewhere_are_within_nothing() {
        for outside in [
            "https://shop.example/orders/../admin",
            "https://shop.example/orders/%2e%2E/admin",
            "https://shop.example/orders/./7",
            "https://shop.example/orders/..",
            "https://shop.example/orders/%2e%2e%2fadmin",
            "https://shop.example/orders/..;/admin",
            "https://shop.example/orders/7%5c..%5cadmin",
            "https://shop.example/orders\\..\\admin",
            "https://shop.example/orders/1234/.\t./.\t./admin",
            "https://shop.example/orders/1234/.\r./.\n./admin",
            "https://shop.example/orders/7\u{0}",
            "https://shop.example/orders/%00",
            "https://shop.example/orders/%0a",
            "https://shop.example/orders/7 ",
            " https://shop.example/orders/7",
            "https://user:pass@shop.example/orders/7",
            "https://user@shop.example/orders/7",
            "not a url",
        ] {
            assert!(!resource_within(outside, ORDERS), "{outside:?}");
        }
        // The same refusals apply to the granted prefix: such a prefix grants nothing.
        assert!(!resource_within(
            "https://shop.example/admin",
            "https://shop.example/orders/\t../"
        ));
    }

    #[test]
    fn a_prefix_with_a_query_grants_exactly_that_url() {
        let granted = "https://shop.example/orders?id=7";
        assert!(resource_within(granted, granted));
        assert!(!resource_within(
            "https://shop.example/orders?id=8",
            granted
        ));
        assert!(!resource_within(
            "https://shop.example/orders/7?id=7",
            granted
        ));
    }

    #[test]
    fn urns_match_at_a_colon_or_slash_boundary() {
        assert!(resource_within(
            "urn:agentid:orders:7",
            "urn:agentid:orders"
        ));
        assert!(resource_within("urn:agentid:orders", "urn:agentid:orders"));
        assert!(!resource_within(
            "urn:agentid:ordersx",
            "urn:agentid:orders"
        ));
        assert!(!resource_within("https://a.example/x", "urn:agentid"));
    }
}
