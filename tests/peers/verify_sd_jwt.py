#!/usr/bin/env python3
"""Peer verifier for agentid's interop tests (tests/interop_python.rs).

Two commands; the token is read from stdin, the result is printed to stdout as one
line of JSON, and any failure exits non-zero with the reason on stderr.

  sd-jwt --issuer ISS --issuer-jwk JWK --holder-alg ALG --aud AUD --nonce NONCE
      Verifies an SD-JWT presentation with key binding using the reference
      implementation `sd-jwt` (0.10.4) and prints the verified payload.
  jws --issuer-jwk JWK --alg ALG
      Verifies a compact JWS (the issuer-signed JWT of an SD-JWT) with pyjwt and with
      joserfc and prints {"pyjwt": payload, "joserfc": payload}.

Peer quirks handled here:
- sd-jwt 0.10.4 verifies the KB-JWT with a fixed algorithm, the module global
  `sd_jwt.verifier.DEFAULT_SIGNING_ALG` ("ES256"), bound at import time from
  `sd_jwt.common`: for EdDSA or ES256K holder keys it must be set in `sd_jwt.verifier`
  (setting it in `sd_jwt.common` has no effect). The algorithm comes from the command
  line, never from the token's own header.
- sd-jwt 0.10.4 does not check exp/nbf/iat of the issuer-signed JWT, nor its `typ`.
- `SDJWTVerifier(..., serialization_format="compact")`: the default in 0.10.4 (the
  other choice is "json"), passed explicitly. Only "compact" checks `sd_hash`.
- joserfc warns that the name `EdDSA` is deprecated (RFC 9864 `Ed25519`); the warning
  goes to stderr and is harmless.
"""

import argparse
import json
import sys


def verify_sd_jwt(args, token):
    from jwcrypto.jwk import JWK

    import sd_jwt.verifier

    issuer_key = JWK.from_json(args.issuer_jwk)

    def get_issuer_key(iss, header):
        if iss != args.issuer:
            raise ValueError(f"untrusted issuer {iss!r}")
        return issuer_key

    sd_jwt.verifier.DEFAULT_SIGNING_ALG = args.holder_alg
    verifier = sd_jwt.verifier.SDJWTVerifier(
        token,
        get_issuer_key,
        args.aud,
        args.nonce,
        serialization_format="compact",
    )
    return verifier.get_verified_payload()


def verify_jws(args, token):
    import jwt
    from joserfc import jws
    from joserfc.jwk import import_key

    jwk = json.loads(args.issuer_jwk)
    # pyjwt: checks the signature and, as a JWT library, exp/nbf/iat.
    pyjwt_payload = jwt.decode(
        token,
        key=jwt.PyJWK(jwk, algorithm=args.alg),
        algorithms=[args.alg],
        options={"require": ["iss", "iat", "exp"]},
    )
    # joserfc: the signature only.
    signature = jws.deserialize_compact(token, import_key(jwk), algorithms=[args.alg])
    return {"pyjwt": pyjwt_payload, "joserfc": json.loads(signature.payload)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    sd = commands.add_parser("sd-jwt", help="verify an SD-JWT presentation with KB")
    sd.add_argument("--issuer", required=True)
    sd.add_argument("--issuer-jwk", required=True)
    sd.add_argument("--holder-alg", required=True)
    sd.add_argument("--aud", required=True)
    sd.add_argument("--nonce", required=True)
    plain = commands.add_parser("jws", help="verify a compact JWS")
    plain.add_argument("--issuer-jwk", required=True)
    plain.add_argument("--alg", required=True)
    args = parser.parse_args()

    token = sys.stdin.read().strip()
    try:
        if args.command == "sd-jwt":
            result = verify_sd_jwt(args, token)
        else:
            result = verify_jws(args, token)
    except Exception as error:  # noqa: BLE001 - any failure is a rejection
        print(f"rejected: {type(error).__name__}: {error}", file=sys.stderr)
        sys.exit(1)
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
