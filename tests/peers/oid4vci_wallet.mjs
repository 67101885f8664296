#!/usr/bin/env node
// A third-party OpenID4VCI 1.0 WALLET for agentid's interop tests, built on
// `Openid4vciClient` of @openid4vc/openid4vci 0.4.6 (its token request goes through
// @openid4vc/oauth2 0.4.6's `Oauth2Client`), presenting with @sd-jwt/sd-jwt-vc 0.19.0.
// See README-oid4vci.md.
//
//   node oid4vci_wallet.mjs --offer 'openid-credential-offer://?credential_offer=…'
//       [--alg ES256|EdDSA] [--holder-key FILE] [--aud AUD] [--nonce NONCE]
//       [--disclose task.purpose,scope] [--allow-http]
//   (or the offer on stdin: {"credential_offer_uri": "…"} / {"offer": "…"} / the URI itself)
//
//   stdout, one line: {"credential": "<sd-jwt>~", "presentation": "<sd-jwt>~…~<kb-jwt>",
//     "holder_jwk": {…public…}, "credential_issuer": "…", "credential_configuration_id": "…",
//     "issuer_key": "did:key:…", "disclosed": ["task.purpose"]}
//   exit: 0 issued and presented; 1 the issuer refused (its OAuth error code first on
//         stderr: "invalid_grant: …"); 2 usage or any other failure. Messages on stderr.

import crypto from 'node:crypto'
import fs from 'node:fs'

import {
  Exit,
  algMatchesKey,
  decodeJws,
  describe,
  didKeyToJwk,
  emit,
  generateJwk,
  jwkAlg,
  log,
  oid4vcHash,
  parseArgs,
  peer,
  publicJwk,
  readJson,
  sdHasher,
  signCompactJws,
  signWithJwk,
  verifyCompactJws,
} from './oid4vp_common.mjs'

const USAGE = `usage:
  oid4vci_wallet.mjs --offer URI [--alg ES256|EdDSA] [--holder-key FILE] [--aud AUD] [--nonce NONCE]
      [--disclose a,b.c] [--allow-http]
  (without --offer: the offer URI, or {"credential_offer_uri": URI}, on stdin)`

const DEFAULT_AUD = 'https://verifier.example'

/** The offer URI from --offer or stdin (the URI itself or a JSON object holding it). */
function offerFrom(args) {
  if (args.offer) return args.offer
  let text
  try {
    text = fs.readFileSync(0, 'utf8').trim()
  } catch (error) {
    throw new Exit(`no --offer and stdin unreadable: ${error.message}\n${USAGE}`)
  }
  if (!text) throw new Exit(`no --offer and nothing on stdin\n${USAGE}`)
  if (!text.startsWith('{')) return text
  let input
  try {
    input = JSON.parse(text)
  } catch (error) {
    throw new Exit(`stdin is not JSON: ${error.message}`)
  }
  const uri = input.credential_offer_uri ?? input.offer
  if (typeof uri !== 'string') throw new Exit('stdin JSON has no string credential_offer_uri / offer')
  return uri
}

/** `a,b.c` → a presentation frame `{a: true, b: {c: true}}` (only names present in the claims). */
function presentationFrame(spec, claims) {
  const frame = {}
  const names = (spec ?? '').split(',').filter(Boolean)
  for (const dotted of names) {
    const segments = dotted.split('.')
    let node = frame
    let value = claims
    for (const [i, segment] of segments.entries()) {
      const key = Array.isArray(value) ? Number(segment) : segment
      if (value === null || typeof value !== 'object' || !(key in value)) {
        throw new Exit(`--disclose ${dotted}: ${segments.slice(0, i + 1).join('.')} is not in the credential`)
      }
      if (i === segments.length - 1) node[key] = true
      else {
        node[key] = node[key] === true ? true : (node[key] ?? {})
        if (node[key] === true) break
        node = node[key]
        value = value[key]
      }
    }
  }
  return { frame, names }
}

/** The issuer's public key of an agentid credential: the did:key of its header `kid` / `iss`. */
function issuerKey(header, payload) {
  const kid = typeof header.kid === 'string' ? header.kid : undefined
  const iss = typeof payload.iss === 'string' ? payload.iss : undefined
  const did = kid?.startsWith('did:key:') ? kid.split('#')[0] : iss
  if (!did?.startsWith('did:key:')) throw new Exit(`the credential names no did:key issuer (kid ${kid}, iss ${iss})`, 2)
  if (iss && iss !== did) throw new Exit(`the credential's kid ${kid} is not its iss ${iss}`, 2)
  return { did, jwk: didKeyToJwk(did) }
}

async function main() {
  const args = parseArgs(process.argv.slice(2), {
    flags: ['offer', 'alg', 'holder-key', 'aud', 'nonce', 'disclose'],
    switches: ['allow-http', 'help'],
  })
  if (args.help) throw new Exit(USAGE, 0)
  const offerUri = offerFrom(args)

  const { Openid4vciClient, Openid4vciRetrieveCredentialsError } = await peer('@openid4vc/openid4vci')
  const { setGlobalConfig, clientAuthenticationDynamic, Oauth2ClientErrorResponseError } = await peer('@openid4vc/oauth2')
  const { SDJwtVcInstance } = await peer('@sd-jwt/sd-jwt-vc')

  // @openid4vc refuses http:// credential_issuer / endpoints unless told otherwise
  // (zHttpsUrl reads this process-wide setting of @openid4vc/utils).
  setGlobalConfig({ allowInsecureUrls: Boolean(args['allow-http']) })

  let holderKey
  if (args['holder-key']) {
    holderKey = readJson(args['holder-key'], 'holder key')
    if (!holderKey.d) throw new Exit('--holder-key must be a private JWK (with "d")')
    if (args.alg && !algMatchesKey(args.alg, holderKey)) throw new Exit(`--alg ${args.alg} does not fit --holder-key`)
  } else {
    const alg = args.alg ?? 'ES256'
    if (!['ES256', 'EdDSA'].includes(alg)) throw new Exit(`--alg must be ES256 or EdDSA, not ${alg}`)
    holderKey = generateJwk(alg === 'EdDSA' ? 'Ed25519' : 'P-256')
  }
  const holderAlg = jwkAlg(holderKey)
  const holderPublic = publicJwk(holderKey)

  const callbacks = {
    fetch,
    hash: oid4vcHash,
    generateRandom: (length) => new Uint8Array(crypto.randomBytes(length)),
    // Anonymous for the pre-authorized code grant when the AS metadata says
    // `pre-authorized_grant_anonymous_access_supported` (else client_id = this id).
    clientAuthentication: clientAuthenticationDynamic({ clientId: 'agentid-interop-npm-wallet' }),
    signJwt: async (signer, { header, payload }) => {
      if (signer.method !== 'jwk') throw new Error(`this wallet signs with its JWK only, not ${signer.method}`)
      return { jwt: signCompactJws(header, payload, holderKey), signerJwk: holderPublic }
    },
    encryptJwe: () => {
      throw new Error('this wallet does not encrypt')
    },
    decryptJwe: () => ({ decrypted: false }),
  }
  // No `verifyJwt`: with one the library would also accept signed (application/jwt) issuer
  // metadata; this wallet reads plain JSON metadata only.
  const client = new Openid4vciClient({ callbacks })

  // Any refusal by the issuer (an OAuth / OpenID4VCI error response) exits 1 with its code.
  const refused = (what, error) => {
    if (error instanceof Oauth2ClientErrorResponseError) {
      return new Exit(`${describe(error)} (${what})`, 1)
    }
    if (error instanceof Openid4vciRetrieveCredentialsError) {
      const body = error.response?.credentialErrorResponseResult?.data
      if (body?.error) return new Exit(`${body.error}: ${body.error_description ?? ''} (${what})`, 1)
    }
    return new Exit(`${what}: ${describe(error)}`, 2)
  }

  // 1. The offer (by value) and the issuer's metadata (+ its authorization server's).
  let offer
  let metadata
  try {
    offer = await client.resolveCredentialOffer(offerUri)
    metadata = await client.resolveIssuerMetadata(offer.credential_issuer)
  } catch (error) {
    throw refused('resolving the offer and the metadata', error)
  }
  log('issuer metadata', metadata.originalDraftVersion, JSON.stringify(metadata.credentialIssuer))
  const configurationId = offer.credential_configuration_ids[0]
  if (offer.credential_configuration_ids.length !== 1) {
    throw new Exit(`the offer names ${offer.credential_configuration_ids.length} configurations; this wallet takes one`)
  }
  const configuration = metadata.knownCredentialConfigurations[configurationId]
  if (!configuration) throw new Exit(`configuration ${configurationId} is not in the issuer metadata (or of an unknown format)`)
  if (configuration.format !== 'dc+sd-jwt') throw new Exit(`configuration ${configurationId} is ${configuration.format}, not dc+sd-jwt`)

  // 2. The pre-authorized code for an access token.
  let token
  try {
    token = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({ credentialOffer: offer, issuerMetadata: metadata })
  } catch (error) {
    throw refused('the token request', error)
  }
  const accessToken = token.accessTokenResponse.access_token

  // 3. A c_nonce, the key proof (typ openid4vci-proof+jwt, aud = credential_issuer), the credential.
  let credential
  try {
    const { c_nonce: cNonce } = await client.requestNonce({ issuerMetadata: metadata })
    const proof = await client.createCredentialRequestJwtProof({
      issuerMetadata: metadata,
      credentialConfigurationId: configurationId,
      signer: { method: 'jwk', alg: holderAlg, publicJwk: holderPublic },
      nonce: cNonce,
      issuedAt: new Date(),
    })
    const { credentialResponse } = await client.retrieveCredentials({
      issuerMetadata: metadata,
      accessToken,
      credentialConfigurationId: configurationId,
      proofs: { jwt: [proof.jwt] },
    })
    if (!credentialResponse.credentials?.length) {
      throw new Exit(`the credential response has no credentials: ${JSON.stringify(credentialResponse)}`)
    }
    credential = credentialResponse.credentials[0].credential
  } catch (error) {
    if (error instanceof Exit) throw error
    throw refused('the credential request', error)
  }
  if (typeof credential !== 'string') throw new Exit('the credential is not a string (dc+sd-jwt)')

  // 4. Check what arrived: the issuer's signature (its did:key), typ, vct, cnf.jwk = our key.
  const issuerJwt = credential.split('~')[0]
  const { header, payload } = decodeJws(issuerJwt)
  const issuer = issuerKey(header, payload)
  if (!verifyCompactJws(issuerJwt, issuer.jwk)) throw new Exit(`the credential's signature is not by ${issuer.did}`)
  if (header.typ !== 'dc+sd-jwt') throw new Exit(`credential typ ${header.typ}, not dc+sd-jwt`)
  if (payload.vct !== configuration.vct) throw new Exit(`credential vct ${payload.vct}, not the configuration's ${configuration.vct}`)
  const cnf = payload.cnf?.jwk
  const same = (a, b) => ['kty', 'crv', 'x', 'y'].every((m) => a?.[m] === b?.[m])
  if (!same(cnf, holderPublic)) throw new Exit(`the credential is bound to ${JSON.stringify(cnf)}, not our key`)

  // 5. The presentation: chosen disclosures + a KB-JWT (aud, nonce, iat, sd_hash).
  const instance = new SDJwtVcInstance({
    hasher: sdHasher,
    kbSigner: (data) => signWithJwk(data, holderKey),
    kbSignAlg: holderAlg,
  })
  const compact = credential.includes('~') ? credential : `${credential}~`
  const decoded = await instance.decode(compact)
  const claims = await decoded.getClaims(sdHasher)
  const { frame, names } = presentationFrame(args.disclose, claims)
  const kbPayload = {
    iat: Math.floor(Date.now() / 1000),
    aud: args.aud ?? DEFAULT_AUD,
    nonce: args.nonce ?? crypto.randomBytes(16).toString('base64url'),
  }
  const presentation = await instance.present(compact, frame, { kb: { payload: kbPayload } })

  emit({
    credential: compact,
    presentation,
    holder_jwk: holderPublic,
    credential_issuer: offer.credential_issuer,
    credential_configuration_id: configurationId,
    issuer_key: issuer.did,
    disclosed: names,
  })
}

main()
  .then((code) => process.exit(code ?? 0))
  .catch((error) => {
    const code = error instanceof Exit ? error.code : 2
    console.error(error instanceof Exit ? error.message : (error?.stack ?? String(error)))
    process.exit(code)
  })
