// Runs the cases of a DCQL corpus (tests/dcql/corpus.json, read from stdin) through
// the npm package `dcql` (OpenWallet Foundation) and prints what it finds, as JSON,
// for tests/interop_dcql.rs to compare with agentid_verifier::dcql.
//
// The package is loaded from the directory named by AGENTID_NPM_PEERS (the one
// holding node_modules), so nothing is installed here. For each case:
//   valid            DcqlQuery.parse and DcqlQuery.validate both accept the query
//   error            their message, when not
//   can_be_satisfied DcqlQuery.query(...).can_be_satisfied
//   matches          per credential query id, input_credential_index of valid_credentials
//   credential_sets  per credential set, whether matching_options is non-empty
//
// Credentials come in the corpus's neutral shape and become dcql's SD-JWT VC shape:
// {credential_format, vct, claims, cryptographic_holder_binding, authority}.
// `committed` (agentid only) is dropped: dcql ignores agentid_predicate and reads a
// plain claims query.

import { createRequire } from 'node:module'
import path from 'node:path'
import { pathToFileURL } from 'node:url'

const peers = process.env.AGENTID_NPM_PEERS
if (!peers) {
  console.error('AGENTID_NPM_PEERS is not set')
  process.exit(2)
}
const require = createRequire(path.join(path.resolve(peers), 'package.json'))
const { DcqlQuery } = await import(pathToFileURL(require.resolve('dcql')).href)
const { version } = require('dcql/package.json')

function toDcql(credential) {
  const converted = {
    credential_format: credential.format ?? 'dc+sd-jwt',
    vct: credential.vct,
    claims: credential.claims ?? {},
    cryptographic_holder_binding: credential.holder_bound ?? true,
  }
  if (credential.authority !== undefined) converted.authority = credential.authority
  return converted
}

function run(testCase) {
  let query
  try {
    query = DcqlQuery.parse(testCase.query)
    DcqlQuery.validate(query)
  } catch (error) {
    return { name: testCase.name, valid: false, error: String(error?.message ?? error).slice(0, 300) }
  }
  let result
  try {
    result = DcqlQuery.query(query, testCase.credentials.map(toDcql))
  } catch (error) {
    return { name: testCase.name, valid: true, error: `query: ${String(error?.message ?? error).slice(0, 300)}` }
  }
  const matches = {}
  for (const [id, match] of Object.entries(result.credential_matches)) {
    matches[id] = (match.valid_credentials ?? []).map((valid) => valid.input_credential_index)
  }
  return {
    name: testCase.name,
    valid: true,
    can_be_satisfied: result.can_be_satisfied,
    matches,
    credential_sets: (result.credential_sets ?? []).map((set) => set.matching_options !== undefined),
  }
}

let input = ''
for await (const chunk of process.stdin) input += chunk
const corpus = JSON.parse(input)
process.stdout.write(JSON.stringify({ version, results: corpus.cases.map(run) }))
