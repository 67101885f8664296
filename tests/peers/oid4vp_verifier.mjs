#!/usr/bin/env node
// A third-party OpenID4VP 1.0 VERIFIER for agentid's interop tests, built on
// `Openid4vpVerifier` of @openid4vc/openid4vp 0.4.6, with `dcql` 3.0.0 for the DCQL query
// and @sd-jwt/sd-jwt-vc 0.19.0 for the SD-JWT VC presentations. See README-oid4vp.md.
//
//   node oid4vp_verifier.mjs --dcql FILE --client-id-prefix x509_hash|x509_san_dns|redirect_uri
//       --response-mode direct_post|direct_post.jwt --out-dir DIR
//       [--trust-issuer-jwk FILE]... [--transaction-data FILE] [--timeout SECONDS]
//       [--enc-values A128GCM,A256GCM] [--refuse-extra-disclosures] [--status-list FILE]...
//
// stdout: one JSON line when ready ({"uri", "client_id", "nonce", ...}), then one JSON line
// with the verdict ({"verdict": "accepted"|"refused", "reason", "claims", ...}).
// Exit: 0 accepted, 1 refused, 2 usage or set-up error (no ready line), 3 timeout.

import crypto from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import {
  Exit,
  algMatchesKey,
  b64u,
  decodeJws,
  describe,
  didKeyToJwk,
  disclosedPaths,
  emit,
  jwkAlg,
  jwkThumbprint,
  log,
  makeCertificates,
  oid4vcHash,
  parseArgs,
  pathsOnOneBranch,
  peer,
  publicJwk,
  randomB64u,
  readJson,
  readText,
  sdHasher,
  sha256,
  signCompactJws,
  verifyCompactJws,
  verifyWithKey,
} from './oid4vp_common.mjs'

const SELF_ISSUED_AUD = 'https://self-issued.me/v2'
const KB_MAX_AGE_SECONDS = 300
const SKEW_SECONDS = 60
const MAX_BODY = 1 << 20

const USAGE =
  'usage: oid4vp_verifier.mjs --dcql FILE --client-id-prefix x509_hash|x509_san_dns|redirect_uri ' +
  '--response-mode direct_post|direct_post.jwt --out-dir DIR [--trust-issuer-jwk FILE]... ' +
  '[--transaction-data FILE] [--timeout SECONDS] [--enc-values A128GCM,A256GCM] [--refuse-extra-disclosures] ' +
  '[--status-list FILE]...'

function parseCommandLine(argv) {
  const args = parseArgs(argv, {
    flags: ['dcql', 'client-id-prefix', 'response-mode', 'out-dir', 'transaction-data', 'timeout', 'enc-values'],
    repeatable: ['trust-issuer-jwk', 'status-list'],
    switches: ['refuse-extra-disclosures', 'help'],
  })
  if (args.help) throw new Exit(USAGE, 0)
  for (const required of ['dcql', 'client-id-prefix', 'response-mode', 'out-dir']) {
    if (!args[required]) throw new Exit(`--${required} is required\n${USAGE}`)
  }
  if (!['x509_hash', 'x509_san_dns', 'redirect_uri'].includes(args['client-id-prefix'])) {
    throw new Exit(`--client-id-prefix must be x509_hash, x509_san_dns or redirect_uri`)
  }
  if (!['direct_post', 'direct_post.jwt'].includes(args['response-mode'])) {
    throw new Exit(`--response-mode must be direct_post or direct_post.jwt`)
  }
  args.timeoutSeconds = args.timeout === undefined ? 60 : Number(args.timeout)
  if (!(args.timeoutSeconds > 0)) throw new Exit('--timeout must be a positive number of seconds')
  args.encValues = (args['enc-values'] ?? 'A128GCM,A256GCM').split(',').filter(Boolean)
  for (const enc of args.encValues) {
    if (!['A128GCM', 'A192GCM', 'A256GCM'].includes(enc)) throw new Exit(`unsupported enc value ${enc}`)
  }
  return args
}

/** Trusted issuer keys: each file holds a JWK, a JWK Set, or an array of JWKs. */
function loadIssuerKeys(files) {
  const keys = []
  for (const file of files) {
    const json = readJson(file, 'issuer JWK')
    const list = Array.isArray(json) ? json : Array.isArray(json.keys) ? json.keys : [json]
    for (const jwk of list) {
      if (jwk.d) throw new Exit(`${file}: an issuer key to trust must be public (it has "d")`)
      jwkAlg(jwk) // throws on unsupported key types
      keys.push(jwk)
    }
  }
  return keys
}

/** The CA and leaf certificate of this verifier: reused from DIR if there, else made. */
async function loadOrMakeMaterial(dir) {
  const file = path.join(dir, 'verifier-material.json')
  let material
  if (fs.existsSync(file)) {
    material = JSON.parse(fs.readFileSync(file, 'utf8'))
  } else {
    material = await makeCertificates({
      caName: 'agentid npm interop verifier CA',
      leafName: 'agentid npm interop verifier',
      dnsNames: ['localhost'],
    })
    // Written whole then renamed, so that a verifier started at the same time reads all or nothing.
    const temporary = `${file}.${process.pid}.tmp`
    fs.writeFileSync(temporary, `${JSON.stringify(material, null, 2)}\n`, { mode: 0o600 })
    fs.renameSync(temporary, file)
  }
  fs.writeFileSync(path.join(dir, 'verifier-ca.pem'), material.caPem)
  fs.writeFileSync(path.join(dir, 'verifier-leaf.pem'), material.leafPem)
  const leaf = new crypto.X509Certificate(material.leafPem)
  return { ...material, leafDerB64: leaf.raw.toString('base64'), leafDer: leaf.raw }
}

function listen(server, host, port) {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve(server.address().port)
    })
  })
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = []
    let size = 0
    req.on('data', (chunk) => {
      size += chunk.length
      if (size > MAX_BODY) {
        reject(new Error('request body too large'))
        req.destroy()
      } else chunks.push(chunk)
    })
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

async function main() {
  const args = parseCommandLine(process.argv.slice(2))
  const prefix = args['client-id-prefix']
  const responseMode = args['response-mode']

  const { Openid4vpVerifier } = await peer('@openid4vc/openid4vp')
  const { setGlobalConfig } = await peer('@openid4vc/oauth2')
  const jose = await peer('jose')
  const { SDJwtVcInstance } = await peer('@sd-jwt/sd-jwt-vc')
  const { DcqlQuery, DcqlPresentationResult } = await peer('dcql')

  // Everything here is on loopback http://; @openid4vc refuses http:// URLs unless told.
  setGlobalConfig({ allowInsecureUrls: true })

  const dcqlInput = readJson(args.dcql, 'DCQL query')
  let dcqlQuery
  try {
    dcqlQuery = DcqlQuery.parse(dcqlInput)
    DcqlQuery.validate(dcqlQuery)
  } catch (error) {
    throw new Exit(`invalid DCQL query ${args.dcql}: ${error.message}`)
  }
  let transactionData
  if (args['transaction-data']) {
    const list = readJson(args['transaction-data'], 'transaction data')
    if (!Array.isArray(list) || list.length === 0) throw new Exit('--transaction-data must hold a non-empty JSON array')
    transactionData = list.map((entry) => (typeof entry === 'string' ? entry : b64u(JSON.stringify(entry))))
  }
  const issuerKeys = loadIssuerKeys(args['trust-issuer-jwk'])
  // Status list tokens (JWTs, `sub` = the list's URI) for credentials with status.status_list;
  // @sd-jwt would otherwise fetch the URI itself.
  const statusLists = new Map()
  for (const file of args['status-list']) {
    const token = readText(file, 'status list token').trim()
    let sub
    try {
      sub = decodeJws(token).payload.sub
    } catch (error) {
      throw new Exit(`${file} is not a status list token: ${error.message}`)
    }
    if (typeof sub !== 'string') throw new Exit(`${file}: the status list token has no sub`)
    statusLists.set(sub, token)
  }

  fs.mkdirSync(args['out-dir'], { recursive: true })
  const material = await loadOrMakeMaterial(args['out-dir'])

  // Loopback HTTP server. x509_san_dns needs a DNS name in the URLs (the FQDN of the
  // response_uri must be the client id): `localhost`, which the certificate's SAN holds;
  // the other prefixes use 127.0.0.1. [::1] is served too where it exists.
  const host = prefix === 'x509_san_dns' ? 'localhost' : '127.0.0.1'
  const server = http.createServer()
  const port = await listen(server, '127.0.0.1', 0)
  let server6
  if (host === 'localhost') {
    server6 = http.createServer()
    await listen(server6, '::1', port).catch(() => {
      server6 = undefined
    })
  }
  const base = `http://${host}:${port}`
  const requestId = randomB64u(16)
  const requestUri = `${base}/request/${requestId}`
  const responseUri = `${base}/response`

  const clientId =
    prefix === 'x509_hash'
      ? `x509_hash:${b64u(sha256(material.leafDer))}`
      : prefix === 'x509_san_dns'
        ? 'x509_san_dns:localhost'
        : `redirect_uri:${responseUri}`
  const nonce = randomB64u(32)
  const state = randomB64u(32)

  // An ephemeral ECDH-ES P-256 key for direct_post.jwt, announced with kid, use, alg.
  let encryption
  if (responseMode === 'direct_post.jwt') {
    const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
    const kid = randomB64u(12)
    const jwk = privateKey.export({ format: 'jwk' })
    encryption = { privateKey, kid, publicJwk: { ...publicJwk(jwk), kid, use: 'enc', alg: 'ECDH-ES' } }
  }
  const signingAlgs = ['ES256', 'ES256K', 'EdDSA']
  const clientMetadata = {
    vp_formats_supported: { 'dc+sd-jwt': { 'sd-jwt_alg_values': signingAlgs, 'kb-jwt_alg_values': signingAlgs } },
    ...(encryption
      ? { jwks: { keys: [encryption.publicJwk] }, encrypted_response_enc_values_supported: args.encValues }
      : {}),
  }

  let jweHeader
  const callbacks = {
    hash: oid4vcHash,
    fetch,
    signJwt: async (signer, { header, payload }) => {
      if (signer.method !== 'x5c') throw new Error(`this verifier signs with x5c only, not ${signer.method}`)
      return { jwt: signCompactJws(header, payload, material.leafKey), signerJwk: publicJwk(material.leafKey) }
    },
    verifyJwt: async () => ({ verified: false }), // signed responses are not part of OpenID4VP 1.0
    encryptJwe: () => {
      throw new Error('this verifier does not encrypt requests')
    },
    decryptJwe: async (jwe) => {
      // The library picks nothing by itself: the key, and the checks of alg/enc/kid, are ours.
      if (!encryption) return { decrypted: false }
      jweHeader = jose.decodeProtectedHeader(jwe)
      if (jweHeader.alg !== 'ECDH-ES') throw new Error(`JWE alg ${jweHeader.alg} is not ECDH-ES`)
      if (!args.encValues.includes(jweHeader.enc)) throw new Error(`JWE enc ${jweHeader.enc} was not offered`)
      if (jweHeader.kid !== encryption.kid) {
        throw new Error(`JWE kid ${JSON.stringify(jweHeader.kid)} is not the kid of the offered key (OpenID4VP 1.0 §8.3)`)
      }
      const { plaintext } = await jose.compactDecrypt(jwe, encryption.privateKey, {
        keyManagementAlgorithms: ['ECDH-ES'],
        contentEncryptionAlgorithms: args.encValues,
      })
      return {
        decrypted: true,
        decryptionJwk: encryption.publicJwk,
        payload: new TextDecoder().decode(plaintext),
      }
    },
  }
  const verifier = new Openid4vpVerifier({ callbacks })

  const authorizationRequestPayload = {
    response_type: 'vp_token',
    client_id: clientId,
    response_mode: responseMode,
    response_uri: responseUri,
    nonce,
    state,
    dcql_query: dcqlInput,
    client_metadata: clientMetadata,
    ...(transactionData ? { transaction_data: transactionData } : {}),
  }
  // redirect_uri requests must not be signed (OpenID4VP 1.0 §5.9.3), and JAR by reference
  // needs a signed request object: that prefix goes by value, in the URI itself.
  const request = await verifier.createOpenId4vpAuthorizationRequest({
    authorizationRequestPayload,
    jar:
      prefix === 'redirect_uri'
        ? undefined
        : {
            requestUri,
            jwtSigner: { method: 'x5c', x5c: [material.leafDerB64], alg: 'ES256' },
            expiresInSeconds: 300,
            additionalJwtPayload: { aud: SELF_ISSUED_AUD },
          },
  })
  const requestObject = request.jar?.authorizationRequestJwt
  const parsedRequestPayload = request.authorizationRequestPayload

  let requestFetches = 0
  let done = false

  const finish = (res, status, body, verdict) => {
    done = true
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
    res.end(JSON.stringify(body), () => {
      emit(verdict)
      server.close()
      server6?.close()
      process.exit(verdict.verdict === 'accepted' ? 0 : 1)
    })
  }

  const verifyResponse = async (body) => {
    const contentFields = Object.fromEntries(new URLSearchParams(body))
    if (contentFields.error) {
      return {
        refused: `the wallet answered with an error: ${contentFields.error}${
          contentFields.error_description ? `: ${contentFields.error_description}` : ''
        }`,
        status: 200,
        walletError: { error: contentFields.error, error_description: contentFields.error_description, state: contentFields.state },
      }
    }
    let parsed
    try {
      parsed = await verifier.parseOpenid4vpAuthorizationResponse({
        authorizationResponse: contentFields,
        authorizationRequestPayload: parsedRequestPayload,
        callbacks,
      })
    } catch (error) {
      return { refused: `@openid4vc/openid4vp refused the response: ${describe(error)}` }
    }
    if (parsed.type !== 'dcql') return { refused: `response is not a DCQL response (${parsed.type})` }
    // The library checks state only when the request had one, and never that the response
    // carried it back for direct_post.jwt in the encrypted payload: it is the same check.
    if (parsed.authorizationResponsePayload.state !== state) return { refused: 'state does not match' }

    // 1.0 §8.1: each vp_token member is a non-empty array; the library also takes a bare
    // string (pre-1.0 drafts) and wraps it.
    const rawVpToken = parsed.authorizationResponsePayload.vp_token
    const vpToken = typeof rawVpToken === 'string' ? JSON.parse(rawVpToken) : rawVpToken
    for (const [queryId, value] of Object.entries(vpToken)) {
      if (!Array.isArray(value)) return { refused: `vp_token.${queryId} is not an array (OpenID4VP 1.0 §8.1)` }
    }
    const presentations = parsed.dcql.presentations
    const queryIds = new Set(dcqlQuery.credentials.map((q) => q.id))
    const verified = {}
    for (const [queryId, entries] of Object.entries(presentations)) {
      if (!queryIds.has(queryId)) return { refused: `vp_token has ${JSON.stringify(queryId)}, which the query does not ask for` }
      const query = dcqlQuery.credentials.find((q) => q.id === queryId)
      if (!query.multiple && entries.length !== 1) {
        return { refused: `vp_token.${queryId} has ${entries.length} presentations, the query allows one` }
      }
      verified[queryId] = []
      for (const [index, entry] of entries.entries()) {
        if (typeof entry !== 'string') return { refused: `vp_token.${queryId}[${index}] is not an SD-JWT string` }
        try {
          verified[queryId].push(await verifySdJwt(entry, query))
        } catch (error) {
          return { refused: `vp_token.${queryId}[${index}]: ${describe(error)}` }
        }
      }
    }

    // DCQL: the presentations must satisfy the query (dcql 3.0.0).
    const dcqlPresentation = Object.fromEntries(
      Object.entries(verified).map(([queryId, list]) => [
        queryId,
        list.map((p) => ({
          credential_format: p.typ === 'vc+sd-jwt' ? 'vc+sd-jwt' : 'dc+sd-jwt',
          vct: p.claims.vct,
          claims: p.claims,
          cryptographic_holder_binding: p.kb !== undefined,
        })),
      ])
    )
    let dcqlResult
    try {
      dcqlResult = DcqlPresentationResult.fromDcqlPresentation(dcqlPresentation, { dcqlQuery })
    } catch (error) {
      return { refused: `dcql could not evaluate the presentations: ${describe(error)}` }
    }
    if (!dcqlResult.can_be_satisfied) {
      return { refused: `the presentations do not satisfy the DCQL query: ${dcqlFailures(dcqlResult)}` }
    }

    // Transaction data (OpenID4VP 1.0 §8.4, Appendix B.3.3): hashes in the KB-JWTs.
    if (transactionData) {
      const credentials = {}
      for (const [queryId, list] of Object.entries(verified)) {
        credentials[queryId] = list.map((p) => ({
          transaction_data_hashes: p.kb?.transaction_data_hashes,
          transaction_data_hashes_alg: p.kb?.transaction_data_hashes_alg,
        }))
      }
      for (const entry of transactionData) {
        const decoded = JSON.parse(Buffer.from(entry, 'base64url').toString('utf8'))
        for (const id of decoded.credential_ids ?? []) {
          for (const [i, c] of (credentials[id] ?? []).entries()) {
            if (!Array.isArray(c.transaction_data_hashes)) {
              return { refused: `vp_token.${id}[${i}]: the KB-JWT has no transaction_data_hashes` }
            }
          }
        }
      }
      try {
        await verifier.verifyTransactionData({ transactionData, credentials })
      } catch (error) {
        return { refused: `transaction data: ${describe(error)}` }
      }
    }

    const requested = dcqlQuery.credentials.map((q) => ({ id: q.id, paths: (q.claims ?? []).map((c) => c.path) }))
    const extra = []
    for (const [queryId, list] of Object.entries(verified)) {
      const paths = requested.find((r) => r.id === queryId).paths
      for (const [i, p] of list.entries()) {
        for (const disclosed of p.disclosed) {
          if (!paths.some((asked) => pathsOnOneBranch(asked, disclosed))) extra.push({ query: queryId, index: i, path: disclosed })
        }
      }
    }
    extra.sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : JSON.stringify(a) > JSON.stringify(b) ? 1 : 0))
    if (extra.length > 0 && args['refuse-extra-disclosures']) {
      return { refused: `disclosures the query did not ask for: ${JSON.stringify(extra)}`, extra }
    }
    return { verified, extra }
  }

  const verifySdJwt = async (compact, query) => {
    const [issuerJwt] = compact.split('~')
    const { header, payload } = decodeJws(issuerJwt)
    if (header.typ !== 'dc+sd-jwt') throw new Error(`issuer JWT typ ${JSON.stringify(header.typ)} is not dc+sd-jwt`)
    if (typeof payload.vct !== 'string') throw new Error('issuer JWT has no vct')
    const { key: issuerKey, how: issuerKeySource } = selectIssuerKey(issuerJwt, header, payload)
    if (!algMatchesKey(header.alg, issuerKey)) throw new Error(`issuer JWT alg ${header.alg} does not fit the issuer key`)
    const hasKb = !compact.endsWith('~')
    const instance = new SDJwtVcInstance({
      hasher: sdHasher,
      verifier: (data, signature) => verifyWithKey(data, signature, issuerKey, jwkAlg(issuerKey)),
      kbVerifier: (data, signature, claims) => {
        const holder = claims?.cnf?.jwk
        if (!holder) throw new Error('the credential has no cnf.jwk')
        const kbHeader = decodeJws(`${data}.x`).header
        if (!algMatchesKey(kbHeader.alg, holder)) throw new Error(`KB-JWT alg ${kbHeader.alg} does not fit cnf.jwk`)
        return verifyWithKey(data, signature, holder, jwkAlg(holder))
      },
      // Status list tokens come from --status-list, verified with the issuer's key.
      statusListFetcher: async (uri) => {
        const token = statusLists.get(uri)
        if (!token) throw new Error(`the credential's status list ${uri} was not given (--status-list FILE)`)
        return token
      },
    })
    if (!hasKb && query.require_cryptographic_holder_binding !== false) {
      throw new Error('no key binding JWT, and the query requires holder binding')
    }
    // @sd-jwt checks: issuer signature, iat/nbf/exp with skew, disclosures, and with a nonce:
    // KB-JWT typ, signature, nonce, sd_hash. Not aud, not the KB-JWT's age: below.
    const result = await instance.verify(compact, hasKb ? { keyBindingNonce: nonce, skewSeconds: SKEW_SECONDS } : { skewSeconds: SKEW_SECONDS })
    let kb
    if (hasKb) {
      kb = result.kb.payload
      if (kb.aud !== clientId) throw new Error(`KB-JWT aud ${JSON.stringify(kb.aud)} is not the client_id ${clientId}`)
      const now = Math.floor(Date.now() / 1000)
      if (typeof kb.iat !== 'number' || kb.iat > now + SKEW_SECONDS || kb.iat < now - KB_MAX_AGE_SECONDS - SKEW_SECONDS) {
        throw new Error(`KB-JWT iat ${kb.iat} is not within ${KB_MAX_AGE_SECONDS} s of now`)
      }
    }
    const disclosures = compact.split('~').slice(1, -1)
    return {
      typ: header.typ,
      claims: result.payload,
      kb,
      issuer_key: issuerKeySource,
      disclosed: disclosedPaths(payload, disclosures, payload._sd_alg ?? 'sha-256'),
    }
  }

  // The issuer's key: a pinned JWK (--trust-issuer-jwk; with several, those whose kid or
  // RFC 7638 thumbprint is the header's kid, else each in turn, the first that verifies),
  // or, with none pinned, the did:key of the header's kid / the iss.
  const selectIssuerKey = (issuerJwt, header, payload) => {
    if (issuerKeys.length > 0) {
      const byKid = issuerKeys.filter((k) => header.kid !== undefined && (k.kid === header.kid || jwkThumbprint(k) === header.kid))
      const candidates = byKid.length > 0 ? byKid : issuerKeys
      const key = candidates.length === 1 ? candidates[0] : candidates.find((k) => verifyCompactJws(issuerJwt, k))
      if (!key) throw new Error('the issuer JWT is signed by none of the pinned issuer keys')
      return { key, how: 'pinned' }
    }
    const did = typeof header.kid === 'string' && header.kid.startsWith('did:key:') ? header.kid : payload.iss
    if (typeof did === 'string' && did.startsWith('did:key:')) {
      if (typeof payload.iss === 'string' && payload.iss !== did.split('#')[0]) {
        throw new Error(`issuer JWT kid ${did} is not a key of iss ${payload.iss}`)
      }
      return { key: didKeyToJwk(did), how: 'did:key' }
    }
    throw new Error('no trusted issuer key: give --trust-issuer-jwk, or use a did:key issuer')
  }

  server.on('request', handle)
  server6?.on('request', handle)

  async function handle(req, res) {
    const url = new URL(req.url, base)
    try {
      if (url.pathname === `/request/${requestId}` && (req.method === 'GET' || req.method === 'POST') && requestObject) {
        requestFetches++
        res.writeHead(200, { 'content-type': 'application/oauth-authz-req+jwt', 'cache-control': 'no-store' })
        res.end(requestObject)
        return
      }
      if (url.pathname === '/response' && req.method === 'POST') {
        if (done) {
          res.writeHead(400, { 'content-type': 'application/json' })
          res.end(JSON.stringify({ error: 'invalid_request', error_description: 'a response was already received' }))
          return
        }
        const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase()
        const body = await readBody(req)
        if (type !== 'application/x-www-form-urlencoded') {
          const reason = `response content type ${JSON.stringify(type)} is not application/x-www-form-urlencoded`
          finish(res, 400, { error: 'invalid_request', error_description: reason }, verdictOf({ refused: reason }))
          return
        }
        let outcome
        try {
          outcome = await verifyResponse(body)
        } catch (error) {
          outcome = { refused: `verifier error: ${describe(error)}` }
        }
        const verdict = verdictOf(outcome)
        if (outcome.refused) {
          const status = outcome.status ?? 400
          finish(res, status, status === 200 ? {} : { error: 'invalid_request', error_description: outcome.refused }, verdict)
        } else {
          finish(res, 200, {}, verdict)
        }
        return
      }
      res.writeHead(404, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: 'not_found' }))
    } catch (error) {
      log('handler error', error)
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: 'server_error' }))
    }
  }

  const verdictOf = (outcome) => {
    const common = {
      response_mode: responseMode,
      request_fetches: requestFetches,
      ...(jweHeader ? { jwe: jweHeader } : {}),
    }
    if (outcome.refused) {
      return {
        verdict: 'refused',
        reason: outcome.refused,
        claims: {},
        ...(outcome.walletError ? { wallet_error: outcome.walletError } : {}),
        ...common,
      }
    }
    const claims = {}
    const presentations = {}
    for (const [queryId, list] of Object.entries(outcome.verified)) {
      claims[queryId] = list[0].claims
      presentations[queryId] = list.map((p) => ({
        claims: p.claims,
        disclosed: p.disclosed,
        issuer_key: p.issuer_key,
        kb: p.kb,
      }))
    }
    return { verdict: 'accepted', reason: null, claims, presentations, extra_disclosures: outcome.extra, ...common }
  }

  emit({
    uri: request.authorizationRequest,
    client_id: clientId,
    nonce,
    state,
    response_mode: responseMode,
    client_id_prefix: prefix,
    request_uri: requestObject ? requestUri : null,
    response_uri: responseUri,
    verifier_ca: path.resolve(args['out-dir'], 'verifier-ca.pem'),
  })

  setTimeout(() => {
    if (done) return
    emit({ verdict: 'refused', reason: `timeout: no response within ${args.timeoutSeconds} s`, claims: {}, request_fetches: requestFetches })
    process.exit(3)
  }, args.timeoutSeconds * 1000)
}


function dcqlFailures(result) {
  const failures = []
  for (const [id, match] of Object.entries(result.credential_matches ?? {})) {
    if (!match.success) failures.push(`${id}: ${JSON.stringify(match.failed_credentials ?? match).slice(0, 600)}`)
  }
  for (const id of result.credential_sets?.filter?.((s) => s.required && !s.matching_options) ?? []) failures.push(`credential set ${JSON.stringify(id.options)}`)
  return failures.join('; ') || 'not satisfied'
}

main().catch((error) => {
  const code = error instanceof Exit ? error.code : 2
  console.error(error instanceof Exit ? error.message : (error?.stack ?? String(error)))
  process.exit(code)
})
