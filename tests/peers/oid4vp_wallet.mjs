#!/usr/bin/env node
// A third-party OpenID4VP 1.0 WALLET for agentid's interop tests, built on
// `Openid4vpClient` of @openid4vc/openid4vp 0.4.6, with `dcql` 3.0.0 to match the DCQL
// query and @sd-jwt/sd-jwt-vc 0.19.0 to present SD-JWT VCs. See README-oid4vp.md.
//
//   node oid4vp_wallet.mjs --request 'openid4vp://…' --credential FILE [--credential FILE]…
//       --holder-key FILE [--trust-anchor FILE]… [--allow-http] [--jwe-apu-apv]
//       [--tamper aud|nonce|state|kid|plain|disclose-all]
//     stdout: {"status": <HTTP status of the response_uri>, "body": …, …}
//     exit: 0 posted a presentation and got 2xx; 1 posted but got non-2xx, or no credential
//           matched (an access_denied error response was posted); 2 refused the request or
//           usage error (nothing posted).
//
//   node oid4vp_wallet.mjs --make-credential --issuer-key FILE --holder-key FILE --vct VCT
//       --claims FILE [--sd a,b.c,d.0] [--iss ISS | --iss-did-key] [--ttl SECONDS] [--kid KID]
//     stdout: the SD-JWT VC (compact, ending in "~"), one line.
//
//       [--status-uri URI --status-idx N]
//
//   node oid4vp_wallet.mjs --make-status-list --issuer-key FILE --uri URI [--size N] [--revoked 3,5]
//     stdout: a status list token (typ statuslist+jwt, 1 bit per entry), one line.
//
//   node oid4vp_wallet.mjs --gen-key [--crv P-256|Ed25519|secp256k1]
//     stdout: a fresh private JWK, one line.

import {
  Exit,
  algMatchesKey,
  b64u,
  decodeJws,
  describe,
  emit,
  generateJwk,
  jwkAlg,
  jwkToDidKey,
  log,
  oid4vcHash,
  parseArgs,
  peer,
  pemCertificates,
  publicJwk,
  randomB64u,
  readJson,
  readText,
  sdHasher,
  sha256,
  signCompactJws,
  signWithJwk,
  subjectAltNames,
  certFromB64,
  validateX5cChain,
  verifyWithKey,
} from './oid4vp_common.mjs'

const SELF_ISSUED_AUD = 'https://self-issued.me/v2'

// In --request mode a refusal is also reported on stdout, as {"status": null, "error": …}.
let presenting = false

const USAGE = `usage:
  oid4vp_wallet.mjs --request URI --credential FILE... --holder-key FILE [--trust-anchor FILE]... [--allow-http] [--jwe-apu-apv] [--tamper WHAT]
  oid4vp_wallet.mjs --make-credential --issuer-key FILE --holder-key FILE --vct VCT --claims FILE [--sd a,b.c] [--iss ISS | --iss-did-key] [--ttl S] [--kid KID]
      [--status-uri URI --status-idx N]
  oid4vp_wallet.mjs --make-status-list --issuer-key FILE --uri URI [--size N] [--revoked 3,5]
  oid4vp_wallet.mjs --gen-key [--crv P-256|Ed25519|secp256k1]`

async function main() {
  const args = parseArgs(process.argv.slice(2), {
    flags: ['request', 'tamper', 'holder-key', 'issuer-key', 'vct', 'claims', 'sd', 'iss', 'ttl', 'kid', 'crv',
      'status-uri', 'status-idx', 'uri', 'size', 'revoked'],
    repeatable: ['credential', 'trust-anchor'],
    switches: ['allow-http', 'jwe-apu-apv', 'iss-did-key', 'make-credential', 'make-status-list', 'gen-key', 'help'],
  })
  if (args.help) throw new Exit(USAGE, 0)
  if (args['gen-key']) return genKey(args)
  if (args['make-credential']) return makeCredential(args)
  if (args['make-status-list']) return makeStatusList(args)
  if (args.request) {
    presenting = true
    return present(args)
  }
  throw new Exit(USAGE)
}

// ---------------------------------------------------------------------------------------
// --gen-key

function genKey(args) {
  const crv = args.crv ?? 'P-256'
  if (!['P-256', 'Ed25519', 'secp256k1'].includes(crv)) throw new Exit(`unsupported --crv ${crv}`)
  emit(generateJwk(crv))
}

// ---------------------------------------------------------------------------------------
// --make-credential: an SD-JWT VC (typ dc+sd-jwt) from a third-party issuer

/** `a,b.c,d.0` → a DisclosureFrame: each dotted path's last element selectively disclosable. */
function disclosureFrame(spec, claims) {
  const frame = {}
  for (const dotted of (spec ?? '').split(',').filter(Boolean)) {
    const segments = dotted.split('.')
    let node = frame
    let value = claims
    for (const [i, segment] of segments.entries()) {
      const key = Array.isArray(value) ? Number(segment) : segment
      if (value === null || typeof value !== 'object' || !(key in value)) {
        throw new Exit(`--sd ${dotted}: ${segments.slice(0, i + 1).join('.')} is not in the claims`)
      }
      if (i === segments.length - 1) {
        node._sd = [...(node._sd ?? []), key]
      } else {
        node[key] = node[key] ?? {}
        node = node[key]
        value = value[key]
      }
    }
  }
  return frame
}

async function makeCredential(args) {
  for (const required of ['issuer-key', 'holder-key', 'vct', 'claims']) {
    if (!args[required]) throw new Exit(`--make-credential needs --${required}\n${USAGE}`)
  }
  const { SDJwtVcInstance } = await peer('@sd-jwt/sd-jwt-vc')
  const issuerKey = readJson(args['issuer-key'], 'issuer key')
  const holderKey = readJson(args['holder-key'], 'holder key')
  if (!issuerKey.d) throw new Exit('--issuer-key must be a private JWK (with "d")')
  const claims = readJson(args.claims, 'claims')
  if (!claims || typeof claims !== 'object' || Array.isArray(claims)) throw new Exit('--claims must hold a JSON object')
  const ttl = args.ttl === undefined ? 3600 : Number(args.ttl)
  if (!Number.isInteger(ttl) || ttl <= 0) throw new Exit('--ttl must be a positive number of seconds')
  if (args.iss && args['iss-did-key']) throw new Exit('give --iss or --iss-did-key, not both')
  // --iss-did-key: iss = the issuer key's did:key, kid = its DID URL (as agentid issues).
  const did = args['iss-did-key'] ? jwkToDidKey(publicJwk(issuerKey)) : undefined
  const now = Math.floor(Date.now() / 1000)
  if ((args['status-uri'] === undefined) !== (args['status-idx'] === undefined)) {
    throw new Exit('--status-uri and --status-idx go together')
  }
  const payload = {
    iss: did ?? args.iss ?? 'https://issuer.example',
    iat: now,
    nbf: now,
    exp: now + ttl,
    vct: args.vct,
    cnf: { jwk: publicJwk(holderKey) },
    ...(args['status-uri'] !== undefined
      ? { status: { status_list: { idx: Number(args['status-idx']), uri: args['status-uri'] } } }
      : {}),
    ...claims,
  }
  const alg = jwkAlg(issuerKey)
  const instance = new SDJwtVcInstance({
    signer: (data) => signWithJwk(data, issuerKey),
    signAlg: alg,
    hasher: sdHasher,
    hashAlg: 'sha-256',
    saltGenerator: (n) => randomB64u(n),
  })
  const kid = args.kid ?? (did ? `${did}#${did.slice('did:key:'.length)}` : issuerKey.kid)
  const credential = await instance.issue(payload, disclosureFrame(args.sd, claims), {
    header: kid !== undefined ? { kid } : {},
  })
  process.stdout.write(`${credential}\n`)
}

// ---------------------------------------------------------------------------------------
// --make-status-list: a Token Status List (draft-ietf-oauth-status-list) signed by the issuer

async function makeStatusList(args) {
  for (const required of ['issuer-key', 'uri']) {
    if (!args[required]) throw new Exit(`--make-status-list needs --${required}\n${USAGE}`)
  }
  const { StatusList, createHeaderAndPayload } = await peer('@sd-jwt/jwt-status-list')
  const issuerKey = readJson(args['issuer-key'], 'issuer key')
  if (!issuerKey.d) throw new Exit('--issuer-key must be a private JWK (with "d")')
  const size = args.size === undefined ? 16 : Number(args.size)
  if (!Number.isInteger(size) || size <= 0) throw new Exit('--size must be a positive integer')
  const statuses = new Array(size).fill(0)
  for (const index of (args.revoked ?? '').split(',').filter(Boolean).map(Number)) {
    if (!Number.isInteger(index) || index < 0 || index >= size) throw new Exit(`--revoked ${index} is outside the list`)
    statuses[index] = 1
  }
  const now = Math.floor(Date.now() / 1000)
  const kid = args.kid ?? issuerKey.kid
  const { header, payload } = createHeaderAndPayload(
    new StatusList(statuses, 1),
    { sub: args.uri, iat: now, exp: now + 3600, ttl: 300 },
    { alg: jwkAlg(issuerKey), ...(kid !== undefined ? { kid } : {}) }
  )
  process.stdout.write(`${signCompactJws(header, payload, issuerKey)}\n`)
}

// ---------------------------------------------------------------------------------------
// --request: answer an OpenID4VP request

/** A DCQL claims path pointer → an @sd-jwt presentation frame, against the full claims. */
function addPathToFrame(frame, pathPointer, claims) {
  const walk = (node, value, rest) => {
    if (rest.length === 0) return
    const [head, ...tail] = rest
    const keys =
      head === null ? (Array.isArray(value) ? value.map((_, i) => i) : []) : [head]
    for (const key of keys) {
      if (value === null || typeof value !== 'object' || !(key in value)) continue
      if (tail.length === 0) {
        node[key] = true
      } else {
        if (node[key] === true) continue // already disclosed whole
        node[key] = node[key] ?? {}
        walk(node[key], value[key], tail)
      }
    }
  }
  walk(frame, claims, pathPointer)
  return frame
}

/** Marks every claim of the credential for disclosure (for --tamper disclose-all). */
function discloseAll(frame, claims) {
  for (const [key, value] of Object.entries(claims)) {
    if (value && typeof value === 'object') {
      if (frame[key] === true) continue
      frame[key] = frame[key] ?? {}
      discloseAll(frame[key], value)
      if (Object.keys(frame[key]).length === 0) frame[key] = true
    } else {
      frame[key] = true
    }
  }
  return frame
}

async function present(args) {
  if (args.credential.length === 0) throw new Exit(`--request needs --credential\n${USAGE}`)
  if (!args['holder-key']) throw new Exit(`--request needs --holder-key\n${USAGE}`)
  // Deliberate faults, for testing that a verifier refuses them.
  const tamper = args.tamper
  if (tamper !== undefined && !['aud', 'nonce', 'state', 'kid', 'plain', 'disclose-all'].includes(tamper)) {
    throw new Exit(`--tamper must be aud, nonce, state, kid, plain or disclose-all`)
  }
  const { Openid4vpClient } = await peer('@openid4vc/openid4vp')
  const { setGlobalConfig } = await peer('@openid4vc/oauth2')
  const jose = await peer('jose')
  const { SDJwtVcInstance } = await peer('@sd-jwt/sd-jwt-vc')
  const { DcqlQuery } = await peer('dcql')

  // @openid4vc refuses http:// request_uri / response_uri unless told otherwise.
  setGlobalConfig({ allowInsecureUrls: Boolean(args['allow-http']) })

  const holderKey = readJson(args['holder-key'], 'holder key')
  if (!holderKey.d) throw new Exit('--holder-key must be a private JWK (with "d")')
  const anchors = args['trust-anchor'].flatMap((file) => {
    const certs = pemCertificates(readText(file, 'trust anchor'))
    if (certs.length === 0) throw new Exit(`${file} holds no PEM certificate`)
    return certs
  })
  const credentials = args.credential.map((file) => readText(file, 'credential').trim())

  let x5cLeaf
  const callbacks = {
    hash: oid4vcHash,
    fetch,
    // The library calls this for the signed request object: it hands over the x5c header
    // and expects us to check the chain and the signature; it then checks the client id
    // against the leaf (x509_hash: hash, x509_san_dns: dNSName SAN + response_uri host).
    verifyJwt: async (signer, { header, compact }) => {
      if (signer.method !== 'x5c') {
        throw new Error(`request object signer method ${signer.method} is not supported by this wallet (x5c only)`)
      }
      const leaf = validateX5cChain(signer.x5c, anchors)
      const leafJwk = leaf.publicKey.export({ format: 'jwk' })
      if (header.alg !== 'ES256' || !algMatchesKey(header.alg, leafJwk)) {
        throw new Error(`request object alg ${header.alg} is not ES256 with a P-256 leaf key (HAIP)`)
      }
      const dot = compact.lastIndexOf('.')
      if (!verifyWithKey(compact.slice(0, dot), compact.slice(dot + 1), leaf.publicKey, 'ES256')) {
        return { verified: false }
      }
      x5cLeaf = leaf
      return { verified: true, signerJwk: leafJwk }
    },
    getX509CertificateMetadata: (certificate) => subjectAltNames(certFromB64(certificate)),
    signJwt: () => {
      throw new Error('this wallet does not sign JARM responses (OpenID4VP 1.0 encrypts only)')
    },
    encryptJwe: async (encryptor, data) => {
      // alg from the chosen JWK, kid copied into the JWE header (OpenID4VP 1.0 §8.3).
      const header = { alg: encryptor.alg, enc: encryptor.enc }
      if (encryptor.publicJwk.kid !== undefined) header.kid = encryptor.publicJwk.kid
      if (tamper === 'kid') header.kid = 'not-the-offered-kid'
      if (args['jwe-apu-apv']) {
        if (encryptor.apu) header.apu = encryptor.apu
        if (encryptor.apv) header.apv = encryptor.apv
      }
      const key = await jose.importJWK(publicJwk(encryptor.publicJwk), encryptor.alg)
      const jwe = await new jose.CompactEncrypt(new TextEncoder().encode(data)).setProtectedHeader(header).encrypt(key)
      return { jwe, encryptionJwk: encryptor.publicJwk }
    },
    decryptJwe: () => ({ decrypted: false }), // encrypted request objects are not used here
  }
  const client = new Openid4vpClient({ callbacks })

  // 1. Parse and resolve the request (fetch request_uri, verify the request object, client id).
  let resolved
  try {
    const parsed = client.parseOpenid4vpAuthorizationRequest({ authorizationRequest: args.request })
    resolved = await client.resolveOpenId4vpAuthorizationRequest({
      authorizationRequestPayload: parsed.params,
      responseMode: { type: 'direct_post' },
    })
  } catch (error) {
    throw new Exit(`refused the request: ${describe(error)}`)
  }
  const request = resolved.authorizationRequestPayload
  const prefix = resolved.client.prefix
  // Checks the library leaves to us.
  if (!['x509_hash', 'x509_san_dns', 'redirect_uri'].includes(prefix)) {
    throw new Exit(`refused the request: client id prefix ${prefix} is not supported by this wallet`)
  }
  if (resolved.jar) {
    const aud = resolved.jar.jwt.payload.aud
    if (aud !== SELF_ISSUED_AUD && !(Array.isArray(aud) && aud.includes(SELF_ISSUED_AUD))) {
      throw new Exit(`refused the request: request object aud ${JSON.stringify(aud)} is not ${SELF_ISSUED_AUD}`)
    }
    if (resolved.jar.sendBy !== 'reference') log('request object passed by value')
  }
  if (!resolved.dcql) throw new Exit('refused the request: it has no dcql_query (this wallet speaks DCQL only)')
  if (!request.response_uri) throw new Exit('refused the request: no response_uri')
  const responseMode = request.response_mode ?? 'fragment'
  if (!['direct_post', 'direct_post.jwt'].includes(responseMode)) {
    throw new Exit(`refused the request: response_mode ${responseMode}`)
  }

  let dcqlQuery
  try {
    dcqlQuery = DcqlQuery.parse(resolved.dcql.query)
    DcqlQuery.validate(dcqlQuery)
  } catch (error) {
    throw new Exit(`refused the request: invalid dcql_query: ${describe(error)}`)
  }

  // 2. Match the credentials against the query.
  const instance = new SDJwtVcInstance({
    hasher: sdHasher,
    kbSigner: (data) => signWithJwk(data, holderKey),
    kbSignAlg: jwkAlg(holderKey),
  })
  const decoded = []
  for (const [i, compact] of credentials.entries()) {
    try {
      const sdjwt = await instance.decode(compact)
      const claims = await sdjwt.getClaims(sdHasher)
      const { header } = decodeJws(compact.split('~')[0])
      decoded.push({
        compact: compact.endsWith('~') ? compact : `${compact}~`,
        claims,
        dcql: {
          credential_format: header.typ === 'vc+sd-jwt' ? 'vc+sd-jwt' : 'dc+sd-jwt',
          vct: claims.vct,
          claims,
          cryptographic_holder_binding: Boolean(claims.cnf),
        },
      })
    } catch (error) {
      throw new Exit(`credential ${args.credential[i]} is not an SD-JWT: ${describe(error)}`)
    }
  }
  const match = DcqlQuery.query(
    dcqlQuery,
    decoded.map((d) => d.dcql)
  )

  const submitError = async (error, description) => {
    const body = new URLSearchParams({ error, error_description: description, ...(request.state ? { state: request.state } : {}) })
    const response = await fetch(request.response_uri, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: body.toString(),
    })
    emit({ status: response.status, body: await bodyOf(response), sent_error: error, reason: description })
    return 1
  }

  if (!match.can_be_satisfied) {
    return submitError('access_denied', 'no credential satisfies the dcql_query')
  }

  // Which credential queries to answer: all, or per credential set the first option whose
  // queries all matched (required sets only: data minimization).
  let queryIds
  if (dcqlQuery.credential_sets) {
    queryIds = new Set()
    for (const set of dcqlQuery.credential_sets) {
      if (set.required === false) continue
      const option = set.options.find((ids) => ids.every((id) => match.credential_matches[id]?.success))
      if (!option) return submitError('access_denied', 'a required credential set cannot be met')
      for (const id of option) queryIds.add(id)
    }
  } else {
    queryIds = new Set(dcqlQuery.credentials.map((q) => q.id))
  }

  // 3. Build the presentations: disclose exactly the matched claim set's paths.
  const transactionData = resolved.transactionData ?? []
  const vpToken = {}
  const disclosedReport = {}
  const iat = Math.floor(Date.now() / 1000)
  for (const id of queryIds) {
    const query = dcqlQuery.credentials.find((q) => q.id === id)
    const result = match.credential_matches[id]
    const chosen = query.multiple ? result.valid_credentials : result.valid_credentials.slice(0, 1)
    vpToken[id] = []
    disclosedReport[id] = []
    for (const valid of chosen) {
      const credential = decoded[valid.input_credential_index]
      const claimIndexes = valid.claims?.valid_claim_sets?.[0]?.valid_claim_indexes ?? []
      const paths = query.claims ? claimIndexes.map((i) => query.claims[i].path) : []
      const frame = {}
      for (const p of paths) addPathToFrame(frame, p, credential.claims)
      if (tamper === 'disclose-all') discloseAll(frame, credential.claims)
      const kbPayload = {
        iat,
        aud: tamper === 'aud' ? `${resolved.client.effective}.tampered` : resolved.client.effective,
        nonce: tamper === 'nonce' ? `${request.nonce}.tampered` : request.nonce,
      }
      const forThis = transactionData.filter((t) => t.transactionData.credential_ids.includes(id))
      if (forThis.length > 0) {
        const algs = forThis.map((t) => t.transactionData.transaction_data_hashes_alg).filter(Boolean)
        if (algs.some((list) => !list.includes('sha-256'))) {
          throw new Exit('refused the request: transaction_data_hashes_alg without sha-256')
        }
        kbPayload.transaction_data_hashes = forThis.map((t) => b64u(sha256(t.encoded)))
        if (algs.length > 0) kbPayload.transaction_data_hashes_alg = 'sha-256'
      }
      const needsKb = query.require_cryptographic_holder_binding !== false || forThis.length > 0
      const presentation = await instance.present(credential.compact, frame, needsKb ? { kb: { payload: kbPayload } } : undefined)
      vpToken[id].push(presentation)
      disclosedReport[id].push(paths)
    }
  }

  // 4. Create the authorization response (encrypted to client_metadata.jwks for .jwt), post it.
  let response
  try {
    response = await client.createOpenid4vpAuthorizationResponse({
      // The library copies `state` from the request into the response, and refuses to make a
      // plain response to a .jwt request: the faults go through a changed copy of it.
      authorizationRequestPayload: {
        ...request,
        ...(tamper === 'state' ? { state: 'tampered-state' } : {}),
        ...(tamper === 'plain' ? { response_mode: 'direct_post' } : {}),
      },
      authorizationResponsePayload: { vp_token: vpToken },
      // --tamper plain: a direct_post.jwt request answered with a plain direct_post body.
      jarm:
        responseMode === 'direct_post.jwt' && tamper !== 'plain'
          ? {
              // `nonce` feeds the JWE apu (mdoc's old handover); '' leaves it out.
              encryption: { nonce: '' },
              serverMetadata: {
                authorization_encryption_alg_values_supported: ['ECDH-ES'],
                authorization_encryption_enc_values_supported: ['A128GCM', 'A256GCM'],
              },
            }
          : undefined,
    })
  } catch (error) {
    throw new Exit(`could not build the response: ${describe(error)}`)
  }
  const submitted = await client.submitOpenid4vpAuthorizationResponse({
    authorizationRequestPayload: request,
    authorizationResponsePayload: response.authorizationResponsePayload,
    jarm: response.jarm ? { responseJwt: response.jarm.responseJwt } : undefined,
  })
  const status = submitted.response.status
  emit({
    status,
    body: await bodyOf(submitted.response),
    client_id: resolved.client.effective,
    client_id_prefix: prefix,
    response_mode: responseMode,
    claim_paths: disclosedReport,
    ...(tamper ? { tampered: tamper } : {}),
    ...(response.jarm ? { jwe: jose.decodeProtectedHeader(response.jarm.responseJwt) } : {}),
    ...(x5cLeaf ? { verifier_certificate: x5cLeaf.subject.replace(/\n/g, ', ') } : {}),
  })
  return status >= 200 && status < 300 ? 0 : 1
}

async function bodyOf(response) {
  const text = await response.text()
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}


main()
  .then((code) => process.exit(code ?? 0))
  .catch((error) => {
    const code = error instanceof Exit ? error.code : 2
    console.error(error instanceof Exit ? error.message : (error?.stack ?? String(error)))
    if (presenting && error instanceof Exit && code !== 0) emit({ status: null, error: error.message })
    process.exit(code)
  })
