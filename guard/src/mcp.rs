//! Per-tool scopes for MCP: which tools a JSON-RPC body calls.
//!
//! The body (single message or batch, JSON-RPC 2.0 §6) has been read within the
//! configured bound; `serde_json` limits its nesting to 128. Each message whose
//! `method` is `tools/call` must name its tool in `params.name` (MCP
//! `CallToolRequest`). Other methods (`initialize`, `tools/list`, notifications, …)
//! need only the route's scopes.

use serde_json::Value;

use crate::error::{Refusal, Scheme};
use crate::scopes::ToolScopes;

/// The scopes the tool calls in `body` need, in order, without repeats.
///
/// # Errors
/// [`Refusal::InvalidRequest`] for a body that is not JSON-RPC messages or a
/// `tools/call` without a string `params.name`; [`Refusal::InsufficientScope`] with
/// no scope for a tool that no scope grants.
pub(crate) fn tool_scopes(
    body: &[u8],
    tools: &ToolScopes,
    scheme: Scheme,
) -> Result<Vec<String>, Refusal> {
    let message: Value = serde_json::from_slice(body)
        .map_err(|_| Refusal::InvalidRequest("the body is not JSON"))?;
    let messages = match &message {
        Value::Array(batch) => batch.iter().collect::<Vec<_>>(),
        single => vec![single],
    };
    let mut needed: Vec<String> = Vec::new();
    for message in messages {
        let Some(object) = message.as_object() else {
            return Err(Refusal::InvalidRequest(
                "a JSON-RPC message is not an object",
            ));
        };
        if object.get("method").and_then(Value::as_str) != Some("tools/call") {
            continue;
        }
        let name = object
            .get("params")
            .and_then(|params| params.get("name"))
            .and_then(Value::as_str)
            .ok_or(Refusal::InvalidRequest("a tools/call has no params.name"))?;
        let scopes = tools.scopes_for(name).ok_or(Refusal::InsufficientScope {
            scheme,
            scope: Vec::new(),
            description: "no scope grants this tool",
        })?;
        for scope in scopes {
            if !needed.contains(scope) {
                needed.push(scope.clone());
            }
        }
    }
    Ok(needed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tools() -> ToolScopes {
        ToolScopes::new()
            .tool("lookup_order", "tools:read")
            .tool("refund_order", "tools:write")
    }

    fn call(name: &str) -> String {
        format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{name}","arguments":{{}}}}}}"#
        )
    }

    #[test]
    fn single_and_batch_tool_calls_need_their_tools_scopes() {
        let scopes = |body: &str| tool_scopes(body.as_bytes(), &tools(), Scheme::Bearer);
        assert_eq!(scopes(&call("lookup_order")), Ok(vec!["tools:read".into()]));
        assert_eq!(
            scopes(&format!(
                "[{},{},{}]",
                call("refund_order"),
                call("lookup_order"),
                call("refund_order")
            )),
            Ok(vec!["tools:write".into(), "tools:read".into()])
        );
        assert_eq!(
            scopes(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#),
            Ok(vec![])
        );
        assert!(matches!(
            scopes(&call("drop_tables")),
            Err(Refusal::InsufficientScope { .. })
        ));
        for bad in [
            "not json",
            "[1]",
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":7}}"#,
        ] {
            assert!(
                matches!(scopes(bad), Err(Refusal::InvalidRequest(_))),
                "{bad}"
            );
        }
    }
}
