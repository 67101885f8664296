#!/usr/bin/env python3
"""Verifies Delegate SD-JWT chains with the AP2 v0.2 Python SDK (tests/interop_ap2.rs).

Reads one JSON object per line on stdin:

  {"chain": "<root>~…~~<hop>~…~", "root_jwk": {public JWK of the root's signer},
   "aud": str|null, "nonce": str|null, "now": int|null}

(`"trusted_roots_pem": [PEM, …]` instead of `root_jwk`: the root key then comes from
the root's `x5c` header, checked against those roots, as the SDK's
`X5cOrKidPublicKeyProvider` does it), and writes one JSON line per input line:

  {"ok": true, "payloads": [...]}   what MandateClient().verify(...) returned: one
                                    effective payload per hop, the root's first
  {"ok": false, "error": "<exception class>: <message>"}

The call is `MandateClient().verify(token=chain, key_or_provider=<callable returning
the root JWK>, expected_aud=aud, expected_nonce=nonce, current_time=now)`.

  ap2_verify.py --check   prints {"ok": true, "sdk": "<path of ap2/>"} when the SDK
                          imports, else exits 3 with the reason on stderr.

SDK behaviour to know when reading its verdicts (AP2 commit e1ea56d, sd-jwt 0.10.4):
- Chains only: a token without "~~" goes to the SDK's single-mandate path, which
  wants a JWK and a payload type; this harness always passes a callable, so a lone
  root is refused with a TypeError.
- A segment without any "~" (a root with no disclosure, joined as `JWT~~hop`) is
  refused: "Malformed SD-JWT: missing disclosure separator".
- Signatures: jwcrypto checks them with the header's `alg`, EdDSA and ES256 alike,
  so an Ed25519 root issuer is fine. But the key of every hop is the previous
  segment's `cnf.jwk`, read through the SDK's generated `JsonWebKey` model (kty
  "EC", crv "P-256", alg "ES256" if present, no other members): a hop signed by an
  Ed25519 (or secp256k1) holder is refused before its signature is looked at, with a
  pydantic ValidationError on `kty`/`crv`.
- `aud`/`nonce` are compared on the terminal hop (`typ` kb+sd-jwt) only; on an
  intermediate hop they are not checked at all, and a chain that ends with an
  intermediate hop is accepted with no aud/nonce check.
- `exp`/`iat` (300 s skew) are checked on each hop's payload and on its disclosed
  delegate objects; there is no `nbf` check and no maximum age.
"""

import json
import sys

# Before any import from here: no __pycache__ here or in the SDK's (shared) tree.
sys.dont_write_bytecode = True

import ap2_sdk  # noqa: E402


def key_provider(item):
    from jwcrypto.jwk import JWK

    if item.get("root_jwk") is not None:
        root_key = JWK(**item["root_jwk"])
        return lambda _token: root_key
    pems = item.get("trusted_roots_pem")
    if pems:
        from ap2.sdk.sdjwt.chain import X5cOrKidPublicKeyProvider
        from cryptography import x509

        roots = [x509.load_pem_x509_certificate(pem.encode()) for pem in pems]

        def no_kid(kid):
            raise ValueError(f"no key for kid {kid!r}: only x5c roots are trusted")

        return X5cOrKidPublicKeyProvider(no_kid, roots)
    raise ValueError("the input names neither root_jwk nor trusted_roots_pem")


def verify(mandate, item):
    try:
        payloads = mandate.MandateClient().verify(
            token=item["chain"],
            key_or_provider=key_provider(item),
            expected_aud=item.get("aud"),
            expected_nonce=item.get("nonce"),
            current_time=item.get("now"),
        )
    except Exception as error:  # noqa: BLE001 - any failure is a rejection
        return {"ok": False, "error": f"{type(error).__name__}: {error}"}
    if not isinstance(payloads, list):
        return {"ok": False, "error": f"HarnessError: not a chain result: {payloads!r}"}
    return {"ok": True, "payloads": payloads}


def main():
    try:
        mandate = ap2_sdk.load()
    except ap2_sdk.SdkUnavailable as error:
        print(f"the AP2 SDK does not import: {error}", file=sys.stderr)
        sys.exit(3)
    if sys.argv[1:] == ["--check"]:
        import ap2

        print(json.dumps({"ok": True, "sdk": list(ap2.__path__)[0]}))
        return
    if sys.argv[1:]:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    for number, line in enumerate(sys.stdin, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as error:
            print(f"input line {number} is not JSON: {error}", file=sys.stderr)
            sys.exit(2)
        print(json.dumps(verify(mandate, item), sort_keys=True), flush=True)


if __name__ == "__main__":
    main()
