"""The MCP Python SDK's client (PyPI mcp, pinned in .ci/install-peers) as an agent that
holds an agentid credential, for tests/interop_mcp.rs. Two commands, each printing
one JSON object per line on standard output (the access token itself is never
printed):

  call --url URL
      Reads a JSON list of cases on standard input, [{"label", "token", "tool",
      "arguments"}], and for each opens a session with `Authorization: Bearer
      TOKEN` over streamable HTTP, lists the tools and calls the tool (one process
      for many cases: the interpreter takes seconds to start). Prints
      {"ok": true, "cases": {LABEL: {"ok": true, "tools": [...], "result": {...}}
      or {"ok": false, "error": ..., "http": [{"method", "status",
      "www_authenticate"}, ...]}}}.

  discover --url URL [--tool NAME] [--arguments JSON]
      Given only the MCP server's URL, does what an MCP client does with the SDK's
      own discovery code (mcp.client.auth.utils, mcp.shared.auth): an unauthenticated
      request, the `resource_metadata` of its 401 challenge, RFC 9728 protected
      resource metadata (ProtectedResourceMetadata, its resource checked against the
      URL), the first authorization server's RFC 8414 metadata (OAuthMetadata, its
      issuer checked), the scope the SDK would ask for. Then the one step the SDK
      has no code for: an RFC 8693 token exchange at the discovered token endpoint,
      with an agentid presentation bound to that authorization server. It asks for
      the presentation on standard output:
          {"need_presentation": {"aud": ISSUER, "nonce": NONCE}}
      (the nonce from the authorization server's nonce_endpoint) and reads it as one
      line on standard input. Then it calls the tool as `call` does, and prints
      {"ok": true, "discovery": {...}, "token": {...}, "tools": [...], "result": {...}}
      (exit 0) or {"ok": false, "stage": ..., "error": ...} (exit 1).

The SDK's OAuthClientProvider cannot be used whole: it only knows dynamic client
registration plus the authorization code grant.
"""

import argparse
import json
import sys
from typing import Any

import anyio
import httpx2
from mcp.client.auth.utils import (
    build_oauth_authorization_server_metadata_discovery_urls,
    build_protected_resource_metadata_discovery_urls,
    create_oauth_metadata_request,
    extract_resource_metadata_from_www_auth,
    extract_scope_from_www_auth,
    get_client_metadata_scopes,
    handle_auth_metadata_response,
    handle_protected_resource_response,
    validate_metadata_issuer,
)
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.auth import OAuthMetadata, OAuthToken, ProtectedResourceMetadata
from mcp.shared.auth_utils import check_resource_allowed, resource_url_from_server_url
from pydantic import ValidationError

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
PRESENTATION_TYPE = "urn:agentid:params:oauth:token-type:sd-jwt-presentation"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"


class Failure(Exception):
    def __init__(self, stage: str, message: str, **extra: Any):
        super().__init__(message)
        self.stage = stage
        self.extra = extra


def emit(value: dict) -> None:
    print(json.dumps(value), flush=True)


def content_json(result: Any) -> Any:
    """A CallToolResult as JSON: its structured content, else its text parts."""
    if getattr(result, "structured_content", None) is not None:
        return result.structured_content
    texts = [part.text for part in result.content if getattr(part, "type", "") == "text"]
    return {"text": texts}


async def call_tool(url: str, token: str, tool: str, arguments: dict) -> dict:
    """One session: initialize, list the tools, call `tool`. Records every HTTP
    response's status, so a refusal says which one and why."""
    seen: list[dict] = []

    async def record(response: httpx2.Response) -> None:
        seen.append(
            {
                "method": response.request.method,
                "status": response.status_code,
                "www_authenticate": response.headers.get("www-authenticate"),
            }
        )

    client = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
    client.event_hooks["response"].append(record)
    try:
        async with client:
            async with streamable_http_client(url, http_client=client) as (read, write):
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    tools = await session.list_tools()
                    result = await session.call_tool(tool, arguments)
    except Exception as error:  # the SDK turns HTTP refusals into MCP errors
        raise Failure("call", describe(error), http=seen) from None
    if result.is_error:
        raise Failure("call", "the tool reported an error", result=content_json(result), http=seen)
    return {
        "tools": sorted(t.name for t in tools.tools),
        "result": content_json(result),
        "http": seen,
    }


def describe(error: BaseException) -> str:
    if isinstance(error, BaseExceptionGroup):
        return "; ".join(describe(inner) for inner in error.exceptions)
    return f"{type(error).__name__}: {error}"


async def discover(url: str) -> dict:
    """RFC 9728 then RFC 8414 discovery, with the SDK's helpers and models."""
    async with httpx2.AsyncClient(timeout=10.0) as http:
        # An unauthenticated MCP request, as the SDK's auth flow starts: the guard's
        # 401 names the protected resource metadata.
        first = await http.post(
            url,
            json={
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-06-18",
                    "capabilities": {},
                    "clientInfo": {"name": "agentid-interop", "version": "0"},
                },
            },
            headers={"Accept": "application/json, text/event-stream"},
        )
        if first.status_code != 401:
            raise Failure("challenge", f"expected 401 without a token, got {first.status_code}")
        metadata_url = extract_resource_metadata_from_www_auth(first)
        challenged_scope = extract_scope_from_www_auth(first)

        prm: ProtectedResourceMetadata | None = None
        tried = []
        for candidate in build_protected_resource_metadata_discovery_urls(metadata_url, url):
            response = await http.send(create_oauth_metadata_request(candidate))
            tried.append({"url": candidate, "status": response.status_code})
            prm = await handle_protected_resource_response(response)
            if prm is not None:
                prm_url = candidate
                break
        if prm is None:
            raise Failure("protected_resource_metadata", "none found", tried=tried)
        resource = str(prm.resource)
        if not check_resource_allowed(
            requested_resource=resource_url_from_server_url(url), configured_resource=resource
        ):
            raise Failure("protected_resource_metadata", f"resource {resource} does not cover {url}")

        issuer = str(prm.authorization_servers[0])
        asm: OAuthMetadata | None = None
        raw: dict = {}
        tried = []
        for candidate in build_oauth_authorization_server_metadata_discovery_urls(issuer, url):
            response = await http.send(create_oauth_metadata_request(candidate))
            tried.append({"url": candidate, "status": response.status_code})
            ok, asm = await handle_auth_metadata_response(response)
            if response.status_code == 200 and asm is None:
                # The SDK drops a document its model refuses without a word: say why.
                try:
                    OAuthMetadata.model_validate_json(response.content)
                except ValidationError as error:
                    tried[-1]["refused_by_OAuthMetadata"] = [
                        f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()
                    ]
            if asm is not None:
                # OAuthMetadata drops the members it does not model (nonce_endpoint).
                raw = response.json()
                asm_url = candidate
                break
            if not ok:
                break
        if asm is None:
            raise Failure(
                "authorization_server_metadata",
                "no metadata the SDK's OAuthMetadata accepts",
                tried=tried,
            )
        try:
            validate_metadata_issuer(asm, issuer)
        except Exception as error:
            raise Failure("authorization_server_metadata", describe(error)) from None
        scope = get_client_metadata_scopes(challenged_scope, prm, asm)
        if not scope:
            raise Failure("scope", "neither the challenge nor the metadata names a scope")
        return {
            "resource_metadata_url": metadata_url,
            "protected_resource_metadata_url": prm_url,
            "resource": resource,
            "scopes_supported": prm.scopes_supported,
            "authorization_servers": [str(server) for server in prm.authorization_servers],
            "authorization_server_metadata_url": asm_url,
            "issuer": str(asm.issuer),
            "token_endpoint": str(asm.token_endpoint),
            "grant_types_supported": asm.grant_types_supported,
            "nonce_endpoint": raw.get("nonce_endpoint"),
            "challenged_scope": challenged_scope,
            "scope": scope,
        }


async def exchange(found: dict) -> tuple[OAuthToken, dict]:
    """Nonce, presentation (from standard input), RFC 8693 token exchange."""
    async with httpx2.AsyncClient(timeout=10.0) as http:
        if not found["nonce_endpoint"]:
            raise Failure("nonce", "the authorization server advertises no nonce_endpoint")
        response = await http.post(found["nonce_endpoint"])
        if response.status_code != 200:
            raise Failure("nonce", f"nonce endpoint answered {response.status_code}")
        nonce = response.json()["nonce"]
        emit({"need_presentation": {"aud": found["issuer"], "nonce": nonce}})
        presentation = (await anyio.to_thread.run_sync(sys.stdin.readline)).strip()
        if not presentation:
            raise Failure("presentation", "no presentation on standard input")
        response = await http.post(
            found["token_endpoint"],
            data={
                "grant_type": TOKEN_EXCHANGE,
                "subject_token": presentation,
                "subject_token_type": PRESENTATION_TYPE,
                "requested_token_type": ACCESS_TOKEN_TYPE,
                "resource": found["resource"],
                "scope": found["scope"],
            },
        )
        if response.status_code != 200:
            raise Failure(
                "token",
                f"token endpoint answered {response.status_code}",
                body=response.json() if response.content else None,
            )
        body = response.json()
        token = OAuthToken.model_validate(body)
        return token, {
            "token_type": token.token_type,
            "expires_in": token.expires_in,
            "scope": token.scope,
            "issued_token_type": body.get("issued_token_type"),
        }


async def run(args: argparse.Namespace) -> dict:
    if args.command == "call":
        cases = json.loads(sys.stdin.read())
        results = {}
        for case in cases:
            try:
                results[case["label"]] = {
                    "ok": True,
                    **await call_tool(
                        args.url, case["token"], case.get("tool", "whoami"), case.get("arguments", {})
                    ),
                }
            except Failure as failure:
                results[case["label"]] = {"ok": False, "error": str(failure), **failure.extra}
        return {"cases": results}
    arguments = json.loads(args.arguments)
    found = await discover(args.url)
    token, shown = await exchange(found)
    called = await call_tool(args.url, token.access_token, args.tool, arguments)
    return {"discovery": found, "token": shown, **called}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["call", "discover"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--tool", default="whoami")
    parser.add_argument("--arguments", default="{}")
    args = parser.parse_args()
    try:
        output = anyio.run(run, args)
    except Failure as failure:
        emit({"ok": False, "stage": failure.stage, "error": str(failure), **failure.extra})
        sys.exit(1)
    emit({"ok": True, **output})


if __name__ == "__main__":
    main()
