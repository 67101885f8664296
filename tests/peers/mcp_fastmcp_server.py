"""A FastMCP server (PyPI fastmcp, pinned in .ci/install-peers) guarded by FastMCP's
stock JWTVerifier, for tests/interop_mcp.rs. No agentid code: it trusts agentid's
authorization server only through the JWKS URI, issuer and audience it is given,
as any FastMCP deployment would.

    python mcp_fastmcp_server.py --port PORT --jwks-uri URL --issuer URL \
        [--audience URL] [--algorithm ES256]

Serves streamable HTTP on 127.0.0.1:PORT at /mcp; its resource URL (the audience
its tokens must carry) is http://127.0.0.1:PORT/mcp unless --audience says
otherwise. Prints one JSON line {"ready": true, "url": ..., "audience": ...} on
standard output once it accepts connections, then serves until killed.

Tools:
- `whoami` (needs scope tools:read): what FastMCP saw in the token: its client_id,
  scopes, sub, aud, iss, task_id, act, on_behalf_of.
- `append_note` (needs scope tools:write): echoes the note, so a caller holding only
  tools:read is refused by FastMCP's own scope check.

Why FastMCP refused a token goes to standard error, one line each starting "jwt: ".

Quirk (see /work/notes/mcp-peers.md or the README of these tests): JWTVerifier
accepts one algorithm and defaults to RS256, whose JWKS lookups skip EC keys, so an
ES256 issuer needs algorithm="ES256"; EdDSA tokens need algorithm="EdDSA".
"""

import argparse
import asyncio
import json
import logging
import sys

import uvicorn
from fastmcp import FastMCP
from fastmcp.server.auth import require_scopes
from fastmcp.server.auth.providers.jwt import JWTVerifier
from fastmcp.server.dependencies import get_access_token


def log_verdicts() -> None:
    """JWTVerifier says why it refused a token in its log (audience mismatch, token
    expired, key ID not found, signature invalid), some of it at debug level: one
    plain line each on standard error, `jwt: MESSAGE`, for the test to read."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("jwt: %(message)s"))
    logger = logging.getLogger("fastmcp.server.auth.providers.jwt")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    logger.propagate = False


def build(args: argparse.Namespace) -> tuple[FastMCP, str]:
    audience = args.audience or f"http://127.0.0.1:{args.port}/mcp"
    verifier = JWTVerifier(
        jwks_uri=args.jwks_uri,
        issuer=args.issuer,
        audience=audience,
        algorithm=args.algorithm,
    )
    mcp = FastMCP("agentid-interop-fastmcp", auth=verifier)

    @mcp.tool(auth=require_scopes("tools:read"))
    def whoami() -> dict:
        """What the access token says about its holder."""
        token = get_access_token()
        if token is None:  # the auth check above makes this unreachable
            raise RuntimeError("no access token")
        claims = token.claims or {}
        return {
            "client_id": token.client_id,
            "scopes": sorted(token.scopes),
            "sub": claims.get("sub"),
            "aud": claims.get("aud"),
            "iss": claims.get("iss"),
            "task_id": claims.get("task_id"),
            "act": claims.get("act"),
            "on_behalf_of": claims.get("on_behalf_of"),
        }

    @mcp.tool(auth=require_scopes("tools:write"))
    def append_note(note: str) -> dict:
        """Pretends to write: needs tools:write."""
        return {"appended": note}

    return mcp, audience


async def serve(args: argparse.Namespace) -> None:
    mcp, audience = build(args)
    app = mcp.http_app(path="/mcp", transport="http")
    config = uvicorn.Config(
        app, host="127.0.0.1", port=args.port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # raises what stopped it (e.g. port in use)
            raise SystemExit("the server stopped before it started")
        await asyncio.sleep(0.02)
    url = f"http://127.0.0.1:{args.port}/mcp"
    print(json.dumps({"ready": True, "url": url, "audience": audience}), flush=True)
    await task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--jwks-uri", required=True)
    parser.add_argument("--issuer", required=True)
    parser.add_argument("--audience")
    parser.add_argument("--algorithm", default="ES256")
    args = parser.parse_args()
    log_verdicts()
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
