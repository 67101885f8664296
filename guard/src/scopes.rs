//! Which scopes a request needs: per route ([`RouteScopes`]) and, for MCP, per tool
//! ([`ToolScopes`]).

use std::collections::HashMap;
use std::sync::Arc;

use http::Method;

/// What a route needs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Requirement {
    /// No token: the guard lets the request through untouched.
    Public,
    /// A valid token holding every one of these scopes (none: any valid token).
    Scopes(Vec<String>),
}

type RuleFn = dyn Fn(&Method, &str) -> Requirement + Send + Sync;

#[derive(Clone)]
enum Rules {
    Table(Vec<Rule>),
    Function(Arc<RuleFn>),
}

#[derive(Debug, Clone)]
struct Rule {
    method: Option<Method>,
    prefix: String,
    requirement: Requirement,
}

/// The scopes each route (method and path) needs.
///
/// Either a table, first match wins (a path prefix matches at a segment boundary:
/// `/orders` matches `/orders` and `/orders/7`, not `/orders-archive`), or a function.
/// A request no rule matches needs a valid token and no particular scope.
#[derive(Clone)]
pub struct RouteScopes {
    rules: Rules,
}

impl Default for RouteScopes {
    fn default() -> Self {
        RouteScopes {
            rules: Rules::Table(Vec::new()),
        }
    }
}

impl std::fmt::Debug for RouteScopes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.rules {
            Rules::Table(rules) => f.debug_list().entries(rules).finish(),
            Rules::Function(_) => f.write_str("RouteScopes(fn)"),
        }
    }
}

impl RouteScopes {
    /// An empty table: every request needs a valid token, no particular scope.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decides by a function of the method and the path.
    pub fn from_fn(rule: impl Fn(&Method, &str) -> Requirement + Send + Sync + 'static) -> Self {
        RouteScopes {
            rules: Rules::Function(Arc::new(rule)),
        }
    }

    /// Requests under `prefix` (with `method`, or any method when `None`) need every
    /// scope of `scopes`.
    pub fn route<I: IntoIterator<Item = S>, S: Into<String>>(
        self,
        method: Option<Method>,
        prefix: &str,
        scopes: I,
    ) -> Self {
        let requirement = Requirement::Scopes(scopes.into_iter().map(Into::into).collect());
        self.push(method, prefix, requirement)
    }

    /// Requests under `prefix` need no token.
    pub fn public(self, prefix: &str) -> Self {
        self.push(None, prefix, Requirement::Public)
    }

    fn push(mut self, method: Option<Method>, prefix: &str, requirement: Requirement) -> Self {
        let rule = Rule {
            method,
            prefix: prefix.trim_end_matches('/').to_owned(),
            requirement,
        };
        match &mut self.rules {
            Rules::Table(rules) => rules.push(rule),
            Rules::Function(_) => self.rules = Rules::Table(vec![rule]),
        }
        self
    }

    /// What a request with `method` to `path` needs.
    pub fn requirement(&self, method: &Method, path: &str) -> Requirement {
        match &self.rules {
            Rules::Function(rule) => rule(method, path),
            Rules::Table(rules) => rules
                .iter()
                .find(|rule| {
                    rule.method.as_ref().is_none_or(|wanted| wanted == method)
                        && under(path, &rule.prefix)
                })
                .map_or(Requirement::Scopes(Vec::new()), |rule| {
                    rule.requirement.clone()
                }),
        }
    }
}

/// True when `path` is `prefix` or lies under it at a segment boundary.
pub(crate) fn under(path: &str, prefix: &str) -> bool {
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with('/') || prefix.is_empty(),
        None => false,
    }
}

/// The scope each MCP tool needs, for `tools/call` requests.
///
/// A tool not in the table is refused (403, no scope can grant it) unless
/// [`ToolScopes::otherwise`] names the scopes it needs.
#[derive(Debug, Clone, Default)]
pub struct ToolScopes {
    tools: HashMap<String, Vec<String>>,
    otherwise: Option<Vec<String>>,
}

impl ToolScopes {
    /// An empty table: every tool call is refused.
    pub fn new() -> Self {
        Self::default()
    }

    /// The tool `name` needs `scope`.
    pub fn tool(mut self, name: impl Into<String>, scope: impl Into<String>) -> Self {
        self.tools
            .entry(name.into())
            .or_default()
            .push(scope.into());
        self
    }

    /// A tool not in the table needs every scope of `scopes`.
    pub fn otherwise<I: IntoIterator<Item = S>, S: Into<String>>(mut self, scopes: I) -> Self {
        self.otherwise = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// The scopes the tool `name` needs; `None` when no scope grants it.
    pub fn scopes_for(&self, name: &str) -> Option<&[String]> {
        self.tools
            .get(name)
            .or(self.otherwise.as_ref())
            .map(Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_matching_rule_decides_at_segment_boundaries() {
        let routes = RouteScopes::new()
            .public("/health")
            .route(Some(Method::POST), "/orders", ["orders:write"])
            .route(None, "/orders/", ["orders:read"]);
        assert_eq!(
            routes.requirement(&Method::GET, "/health"),
            Requirement::Public
        );
        assert_eq!(
            routes.requirement(&Method::POST, "/orders/7"),
            Requirement::Scopes(vec!["orders:write".into()])
        );
        assert_eq!(
            routes.requirement(&Method::GET, "/orders"),
            Requirement::Scopes(vec!["orders:read".into()])
        );
        assert_eq!(
            routes.requirement(&Method::GET, "/orders-archive"),
            Requirement::Scopes(vec![])
        );
        assert_eq!(
            routes.requirement(&Method::GET, "/healthz"),
            Requirement::Scopes(vec![])
        );
    }

    #[test]
    fn unknown_tools_are_refused_unless_a_fallback_is_set() {
        let tools = ToolScopes::new().tool("lookup_order", "tools:read");
        assert_eq!(
            tools.scopes_for("lookup_order"),
            Some(&["tools:read".to_owned()][..])
        );
        assert_eq!(tools.scopes_for("drop_tables"), None);
        let tools = tools.otherwise(["tools:admin"]);
        assert_eq!(
            tools.scopes_for("drop_tables"),
            Some(&["tools:admin".to_owned()][..])
        );
    }
}
