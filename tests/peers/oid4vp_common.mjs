// Shared helpers of the npm OpenID4VP peers (oid4vp_verifier.mjs, oid4vp_wallet.mjs).
//
// The npm packages live in $AGENTID_NPM_PEERS (.ci/npm, installed by .ci/install-npm-peers
// from the committed package-lock.json), not next to these scripts: `peer(name)` loads a
// package's ESM entry point from there. Signatures use Node's own crypto (ES256, ES256K,
// EdDSA, ES384); JWE uses jose; X.509 chains are checked with Node's X509Certificate and
// certificates are made with @peculiar/x509.

import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'

// ---------------------------------------------------------------------------------------
// Output and errors

/** Thrown for command-line mistakes and refusals; `code` is the process exit code. */
export class Exit extends Error {
  constructor(message, code = 2) {
    super(message)
    this.code = code
  }
}

/** Writes one line of JSON on stdout (the scripts' whole stdout contract). */
export function emit(object) {
  process.stdout.write(`${JSON.stringify(object)}\n`)
}

/** One line about an error; @openid4vc's Oauth2ServerErrorResponseError as "error: description". */
export function describe(error) {
  const response = error?.errorResponse
  let text = response?.error
    ? `${response.error}${response.error_description ? `: ${response.error_description}` : ''}`
    : (error?.message ?? String(error))
  if (error?.cause?.message && !text.includes(error.cause.message)) text += ` (cause: ${error.cause.message})`
  if (error?.internalMessage && !text.includes(error.internalMessage)) text += ` (${error.internalMessage})`
  return text.replace(/\s*\n\s*/g, ' ')
}

export function log(...args) {
  if (process.env.AGENTID_NPM_PEERS_DEBUG) console.error('[oid4vp]', ...args)
}

/** Minimal `--flag value` / `--switch` parser; repeated flags collect into arrays. */
export function parseArgs(argv, { flags = [], switches = [], repeatable = [] }) {
  const out = {}
  for (const name of repeatable) out[name] = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (!arg.startsWith('--')) throw new Exit(`unexpected argument ${JSON.stringify(arg)}`)
    let name = arg.slice(2)
    let value
    const eq = name.indexOf('=')
    if (eq >= 0) {
      value = name.slice(eq + 1)
      name = name.slice(0, eq)
    }
    if (switches.includes(name)) {
      if (value !== undefined) throw new Exit(`--${name} takes no value`)
      out[name] = true
    } else if (flags.includes(name) || repeatable.includes(name)) {
      if (value === undefined) {
        if (i + 1 >= argv.length) throw new Exit(`--${name} needs a value`)
        value = argv[++i]
      }
      if (repeatable.includes(name)) out[name].push(value)
      else if (out[name] !== undefined) throw new Exit(`--${name} given twice`)
      else out[name] = value
    } else {
      throw new Exit(`unknown option --${name}`)
    }
  }
  return out
}

// ---------------------------------------------------------------------------------------
// Loading the pinned npm packages

const peerCache = new Map()

function peersDir() {
  const dir = process.env.AGENTID_NPM_PEERS
  if (!dir) throw new Exit('AGENTID_NPM_PEERS is not set (the directory .ci/install-npm-peers prints)')
  return dir
}

function esmEntry(exportsField) {
  if (typeof exportsField === 'string') return exportsField
  if (!exportsField || typeof exportsField !== 'object') return undefined
  for (const condition of ['import', 'node', 'default']) {
    if (condition in exportsField) {
      const found = esmEntry(exportsField[condition])
      if (found) return found
    }
  }
  return undefined
}

/** Imports the ESM entry point of npm package `name` installed in $AGENTID_NPM_PEERS. */
export async function peer(name) {
  if (peerCache.has(name)) return peerCache.get(name)
  const dir = path.join(peersDir(), 'node_modules', ...name.split('/'))
  let manifest
  try {
    manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'))
  } catch {
    throw new Exit(`npm package ${name} is not installed in ${peersDir()} (run .ci/install-npm-peers)`)
  }
  const exportsField = manifest.exports?.['.'] ?? (typeof manifest.exports === 'string' ? manifest.exports : undefined)
  const entry = esmEntry(exportsField) ?? manifest.module ?? manifest.main ?? 'index.js'
  const module = await import(pathToFileURL(path.join(dir, entry)).href)
  peerCache.set(name, module)
  return module
}

// ---------------------------------------------------------------------------------------
// Encoding

export const b64u = (bytes) => Buffer.from(bytes).toString('base64url')
export const fromB64u = (text) => Buffer.from(text, 'base64url')
export const randomB64u = (n = 32) => b64u(crypto.randomBytes(n))
export const sha256 = (data) => crypto.createHash('sha256').update(data).digest()

export function readText(file, what) {
  try {
    return fs.readFileSync(file, 'utf8')
  } catch (error) {
    throw new Exit(`cannot read ${what} ${file}: ${error.message}`)
  }
}

export function readJson(file, what) {
  const text = readText(file, what)
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new Exit(`${what} ${file} is not JSON: ${error.message}`)
  }
}

/** The `{header, payload}` of a compact JWS, unverified. */
export function decodeJws(compact) {
  const parts = compact.split('.')
  if (parts.length !== 3) throw new Error('not a compact JWS')
  return {
    header: JSON.parse(fromB64u(parts[0]).toString('utf8')),
    payload: JSON.parse(fromB64u(parts[1]).toString('utf8')),
  }
}

// ---------------------------------------------------------------------------------------
// Keys and signatures (Node crypto)

export function publicJwk(jwk) {
  const { d, p, q, dp, dq, qi, key_ops, ...pub } = jwk
  return pub
}

/** The JWS `alg` a key signs with: ES256 (P-256), ES384, ES256K (secp256k1), EdDSA (Ed25519). */
export function jwkAlg(jwk) {
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256'
  if (jwk.kty === 'EC' && jwk.crv === 'P-384') return 'ES384'
  if (jwk.kty === 'EC' && jwk.crv === 'secp256k1') return 'ES256K'
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA'
  throw new Error(`unsupported key type ${jwk.kty}/${jwk.crv}`)
}

/** Whether a JWS header `alg` is the one the key signs with (EdDSA also as RFC 9864 Ed25519). */
export function algMatchesKey(alg, jwk) {
  const expected = jwkAlg(jwk)
  return alg === expected || (expected === 'EdDSA' && alg === 'Ed25519')
}

function nodeHash(alg) {
  return { ES256: 'sha256', ES256K: 'sha256', ES384: 'sha384', EdDSA: null }[alg]
}

function toKeyObject(jwkOrKey, isPrivate) {
  if (jwkOrKey instanceof crypto.KeyObject) return jwkOrKey
  return isPrivate
    ? crypto.createPrivateKey({ key: jwkOrKey, format: 'jwk' })
    : crypto.createPublicKey({ key: publicJwk(jwkOrKey), format: 'jwk' })
}

/** Signs `data` (the JWS signing input) with a private JWK; returns the base64url signature. */
export function signWithJwk(data, privateJwk) {
  const alg = jwkAlg(privateJwk)
  const signature = crypto.sign(nodeHash(alg), Buffer.from(data), {
    key: toKeyObject(privateJwk, true),
    dsaEncoding: 'ieee-p1363',
  })
  return b64u(signature)
}

/** Verifies a base64url JWS signature over `data` with a public JWK or KeyObject. */
export function verifyWithKey(data, signatureB64u, key, alg) {
  const keyObject = toKeyObject(key, false)
  return crypto.verify(
    nodeHash(alg),
    Buffer.from(data),
    { key: keyObject, dsaEncoding: 'ieee-p1363' },
    fromB64u(signatureB64u)
  )
}

/** Verifies a compact JWS with a public JWK; the header `alg` must be the key's. */
export function verifyCompactJws(compact, jwk) {
  const { header } = decodeJws(compact)
  if (!algMatchesKey(header.alg, jwk)) return false
  const dot = compact.lastIndexOf('.')
  return verifyWithKey(compact.slice(0, dot), compact.slice(dot + 1), jwk, jwkAlg(jwk))
}

export function signCompactJws(header, payload, privateJwk) {
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(payload))}`
  return `${input}.${signWithJwk(input, privateJwk)}`
}

/** RFC 7638 JWK thumbprint (SHA-256, base64url). */
export function jwkThumbprint(jwk) {
  const members = {
    EC: ['crv', 'kty', 'x', 'y'],
    OKP: ['crv', 'kty', 'x'],
    RSA: ['e', 'kty', 'n'],
  }[jwk.kty]
  if (!members) throw new Error(`unsupported kty ${jwk.kty}`)
  const canonical = `{${members.map((m) => `${JSON.stringify(m)}:${JSON.stringify(jwk[m])}`).join(',')}}`
  return b64u(sha256(canonical))
}

/** A fresh key pair as a private JWK: P-256 by default, or Ed25519 / secp256k1. */
export function generateJwk(curve = 'P-256') {
  const { privateKey } =
    curve === 'Ed25519'
      ? crypto.generateKeyPairSync('ed25519')
      : crypto.generateKeyPairSync('ec', { namedCurve: curve === 'secp256k1' ? 'secp256k1' : 'prime256v1' })
  return privateKey.export({ format: 'jwk' })
}

// did:key (multibase base58btc + multicodec) for Ed25519, P-256, secp256k1 public keys.
const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'

function base58Decode(text) {
  let value = 0n
  for (const char of text) {
    const digit = BASE58.indexOf(char)
    if (digit < 0) throw new Error('not base58btc')
    value = value * 58n + BigInt(digit)
  }
  const bytes = []
  while (value > 0n) {
    bytes.unshift(Number(value & 0xffn))
    value >>= 8n
  }
  for (const char of text) {
    if (char !== '1') break
    bytes.unshift(0)
  }
  return Buffer.from(bytes)
}

function base58Encode(bytes) {
  let value = BigInt(`0x${Buffer.from(bytes).toString('hex') || '0'}`)
  let text = ''
  while (value > 0n) {
    text = BASE58[Number(value % 58n)] + text
    value /= 58n
  }
  for (const byte of bytes) {
    if (byte !== 0) break
    text = `1${text}`
  }
  return text
}

/** The did:key of a public JWK (Ed25519, P-256 or secp256k1; EC points compressed). */
export function jwkToDidKey(jwk) {
  let bytes
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') {
    bytes = Buffer.concat([Buffer.from([0xed, 0x01]), fromB64u(jwk.x)])
  } else if (jwk.kty === 'EC' && (jwk.crv === 'P-256' || jwk.crv === 'secp256k1')) {
    const y = fromB64u(jwk.y)
    const point = Buffer.concat([Buffer.from([2 + (y[y.length - 1] & 1)]), fromB64u(jwk.x)])
    const codec = jwk.crv === 'P-256' ? [0x80, 0x24] : [0xe7, 0x01]
    bytes = Buffer.concat([Buffer.from(codec), point])
  } else {
    throw new Error(`no did:key for ${jwk.kty}/${jwk.crv}`)
  }
  return `did:key:z${base58Encode(bytes)}`
}

const SPKI_PREFIX = {
  // SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING (33 bytes, compressed) }
  'P-256': Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex'),
  // SEQUENCE { SEQUENCE { id-ecPublicKey, secp256k1 }, BIT STRING (33 bytes, compressed) }
  secp256k1: Buffer.from('3036301006072a8648ce3d020106052b8104000a032200', 'hex'),
}

/** The public JWK of a did:key (a DID or DID URL), or throws. */
export function didKeyToJwk(did) {
  const match = /^did:key:(z[1-9A-HJ-NP-Za-km-z]+)(#.*)?$/.exec(did)
  if (!match) throw new Error(`not a did:key: ${did}`)
  const bytes = base58Decode(match[1].slice(1))
  let codec
  let offset
  if (bytes[0] === 0xed && bytes[1] === 0x01) [codec, offset] = ['Ed25519', 2]
  else if (bytes[0] === 0xe7 && bytes[1] === 0x01) [codec, offset] = ['secp256k1', 2]
  else if (bytes[0] === 0x80 && bytes[1] === 0x24) [codec, offset] = ['P-256', 2]
  else throw new Error(`unsupported did:key codec in ${did}`)
  const key = bytes.subarray(offset)
  if (codec === 'Ed25519') {
    if (key.length !== 32) throw new Error('Ed25519 did:key of the wrong length')
    return { kty: 'OKP', crv: 'Ed25519', x: b64u(key) }
  }
  if (key.length !== 33) throw new Error(`${codec} did:key of the wrong length`)
  const spki = Buffer.concat([SPKI_PREFIX[codec], key])
  return crypto.createPublicKey({ key: spki, format: 'der', type: 'spki' }).export({ format: 'jwk' })
}

// ---------------------------------------------------------------------------------------
// X.509

export function pemCertificates(pem) {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []
  return blocks.map((block) => new crypto.X509Certificate(block))
}

export function certFromB64(der) {
  return new crypto.X509Certificate(Buffer.from(der, 'base64'))
}

/** dNSName and URI entries of a certificate's subjectAltName (Node's rendering). */
export function subjectAltNames(cert) {
  const sanDnsNames = []
  const sanUriNames = []
  for (const entry of (cert.subjectAltName ?? '').split(', ')) {
    if (entry.startsWith('DNS:')) sanDnsNames.push(entry.slice(4))
    else if (entry.startsWith('URI:')) sanUriNames.push(entry.slice(4))
  }
  return { sanDnsNames, sanUriNames }
}

function checkValidity(cert, now, what) {
  if (now < new Date(cert.validFrom) || now > new Date(cert.validTo)) {
    throw new Error(`${what} (${cert.subject.replace(/\n/g, ', ')}) is not valid at ${now.toISOString()}`)
  }
}

/**
 * Validates an `x5c` chain (base64 DER, leaf first) up to one of the trust anchors: each
 * certificate signed by the next, the last one signed by (or equal to) an anchor, every
 * issuer a CA, all within their validity. Returns the leaf certificate.
 */
export function validateX5cChain(x5c, anchors, now = new Date()) {
  if (!Array.isArray(x5c) || x5c.length === 0) throw new Error('empty x5c')
  if (anchors.length === 0) throw new Error('no trust anchor given for an x5c chain')
  const chain = x5c.map(certFromB64)
  chain.forEach((cert, i) => checkValidity(cert, now, i === 0 ? 'leaf certificate' : `x5c[${i}]`))
  for (let i = 0; i + 1 < chain.length; i++) {
    const [child, parent] = [chain[i], chain[i + 1]]
    if (!parent.ca) throw new Error(`x5c[${i + 1}] is not a CA certificate`)
    if (!child.checkIssued(parent) || !child.verify(parent.publicKey)) {
      throw new Error(`x5c[${i}] is not signed by x5c[${i + 1}]`)
    }
  }
  const top = chain[chain.length - 1]
  for (const anchor of anchors) {
    if (top.fingerprint256 === anchor.fingerprint256) {
      checkValidity(anchor, now, 'trust anchor')
      return chain[0]
    }
    if (anchor.ca && top.checkIssued(anchor) && top.verify(anchor.publicKey)) {
      checkValidity(anchor, now, 'trust anchor')
      return chain[0]
    }
  }
  throw new Error('x5c chain does not lead to a trust anchor')
}

/**
 * A self-signed P-256 CA and a leaf certificate it issues (dNSName SANs), made with
 * @peculiar/x509. Returns PEMs and private JWKs.
 */
export async function makeCertificates({ caName, leafName, dnsNames }) {
  await peer('reflect-metadata') // tsyringe (used by @peculiar/x509) needs the Reflect polyfill
  const x509 = await peer('@peculiar/x509')
  const { webcrypto } = crypto
  x509.cryptoProvider.set(webcrypto)
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' }
  const notBefore = new Date(Date.now() - 3600 * 1000)
  const notAfter = new Date(Date.now() + 30 * 24 * 3600 * 1000)
  const caKeys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=${caName}`,
    notBefore,
    notAfter,
    keys: caKeys,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  })
  const leafKeys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `CN=${leafName}`,
    issuer: ca.subject,
    notBefore,
    notAfter,
    signingKey: caKeys.privateKey,
    publicKey: leafKeys.publicKey,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.SubjectAlternativeNameExtension(dnsNames.map((value) => ({ type: 'dns', value }))),
      await x509.SubjectKeyIdentifierExtension.create(leafKeys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  })
  return {
    caPem: ca.toString('pem'),
    caKey: await webcrypto.subtle.exportKey('jwk', caKeys.privateKey),
    leafPem: leaf.toString('pem'),
    leafKey: await webcrypto.subtle.exportKey('jwk', leafKeys.privateKey),
  }
}

function randomSerial() {
  const bytes = crypto.randomBytes(8)
  bytes[0] &= 0x7f // positive
  return bytes.toString('hex')
}

// ---------------------------------------------------------------------------------------
// SD-JWT helpers

/** The hasher @sd-jwt wants: (data, alg) → Uint8Array. */
export function sdHasher(data, alg = 'sha-256') {
  const name = { 'sha-256': 'sha256', 'sha-384': 'sha384', 'sha-512': 'sha512' }[alg.toLowerCase()]
  if (!name) throw new Error(`unsupported _sd_alg ${alg}`)
  return new Uint8Array(crypto.createHash(name).update(data).digest())
}

/** The callback `hash` of @openid4vc: (Uint8Array, 'sha-256'|…) → Uint8Array. */
export function oid4vcHash(data, alg) {
  return sdHasher(Buffer.from(data), alg)
}

/**
 * Whether two DCQL claims path pointers (arrays of strings, integers and null = any
 * element) lie on one branch: one is a prefix of the other, element by element.
 */
export function pathsOnOneBranch(a, b) {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    if (a[i] === null || b[i] === null) continue
    if (String(a[i]) !== String(b[i])) return false
  }
  return true
}

/**
 * The claim paths an SD-JWT (issuer JWT + disclosures) reveals through disclosures, exactly
 * (arrays of keys and indexes), by walking the issuer-signed payload: an `_sd` digest
 * matched by a disclosure reveals `path + [name]`, an array element `{"...": digest}`
 * matched reveals `path + [index]`; revealed values are walked in turn.
 */
export function disclosedPaths(issuerPayload, disclosures, alg = 'sha-256') {
  const byDigest = new Map()
  for (const encoded of disclosures) {
    byDigest.set(b64u(sdHasher(encoded, alg)), JSON.parse(fromB64u(encoded).toString('utf8')))
  }
  const found = []
  const walk = (value, at) => {
    if (Array.isArray(value)) {
      value.forEach((element, index) => {
        if (element && typeof element === 'object' && !Array.isArray(element) && Object.keys(element).length === 1 && '...' in element) {
          const disclosure = byDigest.get(element['...'])
          if (disclosure) {
            found.push([...at, index])
            walk(disclosure[1], [...at, index])
          }
        } else {
          walk(element, [...at, index])
        }
      })
    } else if (value && typeof value === 'object') {
      for (const digest of Array.isArray(value._sd) ? value._sd : []) {
        const disclosure = byDigest.get(digest)
        if (disclosure) {
          found.push([...at, disclosure[1]])
          walk(disclosure[2], [...at, disclosure[1]])
        }
      }
      for (const [key, child] of Object.entries(value)) {
        if (key !== '_sd' && key !== '_sd_alg') walk(child, [...at, key])
      }
    }
  }
  walk(issuerPayload, [])
  return found
}
