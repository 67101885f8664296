#!/usr/bin/env python3
"""JWE peer for agentid's interop tests (verifier/tests/interop_jwe.rs), on jwcrypto.

Two commands; the input is one JSON object on stdin, the result one line of JSON on
stdout, and any failure exits non-zero with the reason on stderr.

  encrypt   {"jwk": public JWK, "enc": "A128GCM"|..., "plaintext": str,
             "kid"?: str, "apu"?: str, "apv"?: str}
      Encrypts with alg ECDH-ES (direct key agreement) and prints {"jwe": compact}.
      apu/apv are base64url, put in the protected header as given.
  decrypt   {"jwk": private JWK, "jwe": compact}
      Decrypts and prints {"plaintext": str, "header": protected header}.

The algorithms jwcrypto allows are narrowed to ECDH-ES and the two AES-GCM values,
so a JWE that only decrypts under another algorithm fails here.
"""

import json
import sys

from jwcrypto import jwe, jwk

ALLOWED = ["ECDH-ES", "A128GCM", "A256GCM"]


def encrypt(request):
    header = {"alg": "ECDH-ES", "enc": request["enc"]}
    for name in ("kid", "apu", "apv"):
        if name in request:
            header[name] = request[name]
    token = jwe.JWE(
        request["plaintext"].encode("utf-8"),
        protected=json.dumps(header),
        algs=ALLOWED + [request["enc"]],
    )
    token.add_recipient(jwk.JWK(**request["jwk"]))
    return {"jwe": token.serialize(compact=True)}


def decrypt(request):
    token = jwe.JWE(algs=ALLOWED)
    token.deserialize(request["jwe"], key=jwk.JWK(**request["jwk"]))
    return {
        "plaintext": token.payload.decode("utf-8"),
        "header": json.loads(token.objects["protected"]),
    }


def main():
    commands = {"encrypt": encrypt, "decrypt": decrypt}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        sys.exit("usage: jwe_jwcrypto.py encrypt|decrypt < request.json")
    try:
        result = commands[sys.argv[1]](json.load(sys.stdin))
    except Exception as error:  # the reason goes to the test's failure message
        sys.exit(f"{type(error).__name__}: {error}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
