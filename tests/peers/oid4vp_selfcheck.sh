#!/usr/bin/env bash
# Self-check of the npm OpenID4VP harness: the npm wallet (oid4vp_wallet.mjs) answers the
# npm verifier (oid4vp_verifier.mjs), both on @openid4vc/openid4vp 0.4.6, before agentid is
# plugged in. Runs x509_hash + direct_post.jwt, x509_san_dns + direct_post and
# redirect_uri + direct_post (and the other three pairings), transaction data, and faults
# each side must refuse. Needs AGENTID_NPM_PEERS (else it runs .ci/install-npm-peers).
# Prints one line per case and "N passed, N failed"; exits non-zero if any case failed.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ -z "${AGENTID_NPM_PEERS:-}" ]; then
  AGENTID_NPM_PEERS="$("$here/../../.ci/install-npm-peers" | tail -n 1)" || exit 2
fi
export AGENTID_NPM_PEERS
verifier="$here/oid4vp_verifier.mjs"
wallet="$here/oid4vp_wallet.mjs"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"

passed=0
failed=0
field() { node -e 'const o=JSON.parse(process.argv[1]); const v=process.argv[2].split(".").reduce((a,k)=>a?.[k], o); process.stdout.write(typeof v==="string"?v:JSON.stringify(v ?? null))' "$1" "$2"; }

# Keys, a credential (typ dc+sd-jwt, ES256) with task.id, task.purpose, secret concealable.
node "$wallet" --gen-key >issuer.jwk
node "$wallet" --gen-key >holder.jwk
node -e 'const k=JSON.parse(require("fs").readFileSync("issuer.jwk","utf8")); delete k.d; console.log(JSON.stringify(k))' >issuer.pub.jwk
node "$wallet" --gen-key >other-issuer.jwk
node -e 'const k=JSON.parse(require("fs").readFileSync("other-issuer.jwk","utf8")); delete k.d; console.log(JSON.stringify(k))' >other-issuer.pub.jwk
cat >claims.json <<'JSON'
{"task": {"id": "T-42", "purpose": "refund order 1234"}, "scope": ["refunds:write"],
 "audience": ["https://bank.example"], "secret": "not asked for"}
JSON
node "$wallet" --make-credential --issuer-key issuer.jwk --holder-key holder.jwk \
  --vct urn:agentid:vct:task:1 --claims claims.json --sd task.id,task.purpose,secret >cred.txt
# The same from a did:key issuer (iss and kid from the key), verified with no pinned key.
node "$wallet" --make-credential --issuer-key issuer.jwk --holder-key holder.jwk --iss-did-key \
  --vct urn:agentid:vct:task:1 --claims claims.json --sd task.id,task.purpose,secret >cred-didkey.txt
# EdDSA and ES256K: an Ed25519 did:key issuer with an Ed25519 holder, and secp256k1 both.
for crv in Ed25519 secp256k1; do
  node "$wallet" --gen-key --crv "$crv" >"issuer-$crv.jwk"
  node "$wallet" --gen-key --crv "$crv" >"holder-$crv.jwk"
  node "$wallet" --make-credential --issuer-key "issuer-$crv.jwk" --holder-key "holder-$crv.jwk" --iss-did-key \
    --vct urn:agentid:vct:task:1 --claims claims.json --sd task.id,task.purpose,secret >"cred-$crv.txt"
done
# With a status list entry: index 3 valid, index 5 revoked.
node "$wallet" --make-status-list --issuer-key issuer.jwk --uri https://issuer.example/status/1 --revoked 5 >status.jwt
for idx in 3 5; do
  node "$wallet" --make-credential --issuer-key issuer.jwk --holder-key holder.jwk --status-uri https://issuer.example/status/1 \
    --status-idx "$idx" --vct urn:agentid:vct:task:1 --claims claims.json --sd task.id,task.purpose,secret >"cred-status-$idx.txt"
done
cat >dcql.json <<'JSON'
{"credentials": [{"id": "task", "format": "dc+sd-jwt",
  "meta": {"vct_values": ["urn:agentid:vct:task:1"]},
  "claims": [{"path": ["task", "purpose"]}, {"path": ["scope"]}]}]}
JSON
cat >dcql-nomatch.json <<'JSON'
{"credentials": [{"id": "pid", "format": "dc+sd-jwt", "meta": {"vct_values": ["urn:other"]}}]}
JSON
cat >td.json <<'JSON'
[{"type": "urn:agentid:td:refund", "credential_ids": ["task"], "amount": "12.00", "currency": "EUR"}]
JSON

# [HOLDER=jwk] case NAME PREFIX MODE WANT_VERDICT WANT_WALLET_RC [verifier args…] -- [wallet args…]
#   WANT_VERDICT: accepted | refused | timeout
case_() {
  local name="$1" prefix="$2" mode="$3" want_verdict="$4" want_wallet="$5"
  shift 5
  local vargs=() wargs=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do vargs+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  wargs=("$@")
  local dir="$work/$name"
  mkdir -p "$dir"
  node "$verifier" --client-id-prefix "$prefix" --response-mode "$mode" --out-dir "$work/verifier" \
    --timeout 10 "${vargs[@]}" >"$dir/verifier.out" 2>"$dir/verifier.err" &
  local vpid=$!
  for _ in $(seq 300); do [ -s "$dir/verifier.out" ] && break; sleep 0.1; done
  local ready uri
  ready="$(head -n 1 "$dir/verifier.out")"
  uri="$(field "$ready" uri)"
  if [ -z "$uri" ] || [ "$uri" = null ]; then
    echo "FAIL $name: the verifier did not start: $(cat "$dir/verifier.err")"
    failed=$((failed + 1)); kill "$vpid" 2>/dev/null; wait "$vpid" 2>/dev/null; return
  fi
  node "$wallet" --request "$uri" --holder-key "${HOLDER:-holder.jwk}" --allow-http "${wargs[@]}" \
    >"$dir/wallet.out" 2>"$dir/wallet.err"
  local wallet_rc=$?
  if [ "$want_verdict" = timeout ]; then
    # Nothing reached the verifier: stop it rather than wait for its timeout.
    kill "$vpid" 2>/dev/null
  fi
  wait "$vpid"
  local verifier_rc=$?
  local verdict_line verdict="" reason=""
  verdict_line="$(sed -n 2p "$dir/verifier.out")"
  if [ -n "$verdict_line" ]; then
    verdict="$(field "$verdict_line" verdict)"
    reason="$(field "$verdict_line" reason)"
    [ "$reason" = null ] && reason=""
  fi
  local ok=1 why=""
  case "$want_verdict" in
    accepted) [ "$verdict" = accepted ] && [ "$verifier_rc" = 0 ] || { ok=0; why="verifier: $verdict rc=$verifier_rc ($reason)"; } ;;
    refused) [ "$verdict" = refused ] && [ "$verifier_rc" = 1 ] || { ok=0; why="verifier: $verdict rc=$verifier_rc ($reason)"; } ;;
    timeout) [ -z "$verdict_line" ] || { ok=0; why="verifier got a response: $verdict_line"; } ;;
  esac
  if [ "$wallet_rc" != "$want_wallet" ]; then
    ok=0; why="$why wallet rc=$wallet_rc, wanted $want_wallet: $(cat "$dir/wallet.out" "$dir/wallet.err" | head -c 600)"
  fi
  if [ "$ok" = 1 ]; then
    passed=$((passed + 1))
    echo "ok   $name: verifier ${verdict:-none}${reason:+ ($reason)}, wallet rc=$wallet_rc"
  else
    failed=$((failed + 1))
    echo "FAIL $name: $why"
    sed 's/^/     verifier stderr: /' "$dir/verifier.err" | head -n 5
  fi
  if [ -n "${SELFCHECK_VERBOSE:-}" ]; then
    echo "     wallet:   $(cat "$dir/wallet.out")"
    echo "     verdict:  $verdict_line"
  fi
}

V=(--dcql dcql.json --trust-issuer-jwk issuer.pub.jwk)
W=(--credential cred.txt --trust-anchor "$work/verifier/verifier-ca.pem")

# The three pairings the harness is built for, then the other three.
case_ x509_hash.direct_post.jwt x509_hash direct_post.jwt accepted 0 "${V[@]}" -- "${W[@]}"
case_ x509_san_dns.direct_post x509_san_dns direct_post accepted 0 "${V[@]}" -- "${W[@]}"
case_ redirect_uri.direct_post redirect_uri direct_post accepted 0 "${V[@]}" -- --credential cred.txt
case_ x509_hash.direct_post x509_hash direct_post accepted 0 "${V[@]}" -- "${W[@]}"
case_ x509_san_dns.direct_post.jwt x509_san_dns direct_post.jwt accepted 0 "${V[@]}" -- "${W[@]}"
case_ redirect_uri.direct_post.jwt redirect_uri direct_post.jwt accepted 0 "${V[@]}" -- --credential cred.txt
case_ x509_hash.direct_post.jwt.A256GCM x509_hash direct_post.jwt accepted 0 "${V[@]}" --enc-values A256GCM -- "${W[@]}"
case_ x509_hash.direct_post.jwt.apu-apv x509_hash direct_post.jwt accepted 0 "${V[@]}" -- "${W[@]}" --jwe-apu-apv
case_ transaction-data x509_hash direct_post.jwt accepted 0 "${V[@]}" --transaction-data td.json -- "${W[@]}"
case_ did-key-issuer x509_hash direct_post accepted 0 --dcql dcql.json -- --credential cred-didkey.txt --trust-anchor "$work/verifier/verifier-ca.pem"
HOLDER=holder-Ed25519.jwk case_ eddsa-did-key x509_hash direct_post.jwt accepted 0 --dcql dcql.json -- --credential cred-Ed25519.txt --trust-anchor "$work/verifier/verifier-ca.pem"
HOLDER=holder-secp256k1.jwk case_ es256k-did-key x509_san_dns direct_post accepted 0 --dcql dcql.json -- --credential cred-secp256k1.txt --trust-anchor "$work/verifier/verifier-ca.pem"
case_ status-valid x509_hash direct_post accepted 0 "${V[@]}" --status-list status.jwt -- --credential cred-status-3.txt --trust-anchor "$work/verifier/verifier-ca.pem"
case_ status-revoked x509_hash direct_post refused 1 "${V[@]}" --status-list status.jwt -- --credential cred-status-5.txt --trust-anchor "$work/verifier/verifier-ca.pem"
case_ status-list-missing x509_hash direct_post refused 1 "${V[@]}" -- --credential cred-status-3.txt --trust-anchor "$work/verifier/verifier-ca.pem"
case_ no-issuer-key x509_hash direct_post refused 1 --dcql dcql.json -- "${W[@]}"

# Faults the npm verifier must refuse (the wallet then gets 400 and exits 1).
case_ wrong-issuer-key x509_hash direct_post refused 1 --dcql dcql.json --trust-issuer-jwk other-issuer.pub.jwk -- "${W[@]}"
case_ tamper-aud x509_hash direct_post.jwt refused 1 "${V[@]}" -- "${W[@]}" --tamper aud
case_ tamper-nonce x509_san_dns direct_post refused 1 "${V[@]}" -- "${W[@]}" --tamper nonce
case_ tamper-state redirect_uri direct_post refused 1 "${V[@]}" -- --credential cred.txt --tamper state
case_ tamper-plain-for-jwt x509_hash direct_post.jwt refused 1 "${V[@]}" -- "${W[@]}" --tamper plain
case_ tamper-jwe-kid x509_hash direct_post.jwt refused 1 "${V[@]}" -- "${W[@]}" --tamper kid
case_ over-disclosure x509_hash direct_post refused 1 "${V[@]}" --refuse-extra-disclosures -- "${W[@]}" --tamper disclose-all
case_ over-disclosure-reported x509_hash direct_post accepted 0 "${V[@]}" -- "${W[@]}" --tamper disclose-all
# No credential matches: the wallet posts access_denied, the verifier refuses.
case_ no-match x509_hash direct_post refused 1 --dcql dcql-nomatch.json --trust-issuer-jwk issuer.pub.jwk -- "${W[@]}"

# Faults the npm wallet must refuse (nothing posted, exit 2).
node "$verifier" --dcql dcql.json --client-id-prefix x509_hash --response-mode direct_post \
  --out-dir "$work/other-ca" --timeout 1 >/dev/null 2>&1
case_ untrusted-verifier-ca x509_hash direct_post timeout 2 "${V[@]}" -- --credential cred.txt --trust-anchor "$work/other-ca/verifier-ca.pem"
case_ no-trust-anchor x509_san_dns direct_post timeout 2 "${V[@]}" -- --credential cred.txt

# The extra_disclosures report of the over-disclosure-reported case names the secret.
extra="$(sed -n 2p "$work/over-disclosure-reported/verifier.out")"
if [ "$(field "$extra" extra_disclosures)" = '[{"query":"task","index":0,"path":["secret"]},{"query":"task","index":0,"path":["task","id"]}]' ]; then
  passed=$((passed + 1)); echo "ok   extra_disclosures lists task.id and secret"
else
  failed=$((failed + 1)); echo "FAIL extra_disclosures: $(field "$extra" extra_disclosures)"
fi
# The transaction-data case carried transaction_data_hashes in the KB-JWT.
td="$(sed -n 2p "$work/transaction-data/verifier.out")"
if [ "$(field "$td" presentations.task.0.kb.transaction_data_hashes.length)" = 1 ]; then
  passed=$((passed + 1)); echo "ok   transaction_data_hashes present in the KB-JWT"
else
  failed=$((failed + 1)); echo "FAIL transaction_data_hashes: $td"
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
