import {readFileSync, rmSync} from 'node:fs'

import {parseSopsFile, decryptWithDataKey} from '../../../src/lib/sops/builtin/decrypt-builtin.js'
import {decryptSops, SopsError, type DecryptedSops} from '../../../src/lib/sops/decrypt.js'
import {detectSops} from '../../../src/lib/sops/detect.js'
import {requireBinary} from '../../helpers/binaries.js'
import {AGE_FIXTURES, EXPECTED, fixture, isolatedEnv, PGP_FIXTURES, plain} from '../../unit/sops/fixtures.js'
import {gnupgHomeWithFixtureKey, gpgDecrypt, privateDir, stopGnupg} from './real-sops.js'

let dir: string
let gnupgHome: string
let sops: string

beforeAll(() => {
  sops = requireBinary('sops')
  dir = privateDir('sops-fixtures-')
  gnupgHome = gnupgHomeWithFixtureKey(dir)
})
afterAll(() => {
  stopGnupg(gnupgHome)
  rmSync(dir, {recursive: true, force: true})
})

type Outcome = {documents: unknown[]} | {code: string}

async function outcome(promise: Promise<DecryptedSops>): Promise<Outcome> {
  try {
    const result = await promise
    return {documents: result.documents.map(plain)}
  } catch (error) {
    if (error instanceof SopsError) return {code: error.code}
    throw error
  }
}

const ageEnv = (keyFile: string) => isolatedEnv(dir, {SOPS_AGE_KEY_FILE: fixture(keyFile), SOPS_BIN: sops})
const pgpEnv = () => isolatedEnv(dir, {GNUPGHOME: gnupgHome, SOPS_BIN: sops})

// What `sops decrypt` gives for each fixture, as listed in expected-decryption.json.
function expectedOutcome(path: string): Outcome {
  const expected = EXPECTED[path]
  switch (expected.sops_cli_expected_exit) {
    case 0:
      return {documents: [expected.plaintext]}
    case 51:
      return {code: 'MAC_MISMATCH'}
    case 25:
      return {code: 'AAD_MISMATCH'}
    case 1:
      return {code: 'PARSE'}
    default:
      throw new Error(`no expectation for ${path}`)
  }
}

describe('sops engine (real sops binary) on every fixture', () => {
  test.each(AGE_FIXTURES)('%s (age)', async (path, expected) => {
    const result = await outcome(decryptSops(fixture(path), {engine: 'sops', env: ageEnv(expected.key)}))
    expect(result).toEqual(expectedOutcome(path))
  })

  test.each(AGE_FIXTURES.filter(([, expected]) => expected.sops_cli_expected_exit === 51))('%s decrypts with ignoreMac', async (path, expected) => {
    const result = await decryptSops(fixture(path), {engine: 'sops', ignoreMac: true, env: ageEnv(expected.key)})
    expect(result.engine).toBe('sops')
    expect(plain(result.documents[0])).toEqual(expected.plaintext)
  })

  test.each(PGP_FIXTURES.filter(([, expected]) => expected.sops_cli_expected_exit !== undefined))('%s (PGP, GNUPGHOME)', async (path) => {
    const result = await outcome(decryptSops(fixture(path), {engine: 'sops', env: pgpEnv()}))
    expect(result).toEqual(expectedOutcome(path))
  })

  test('format-2.enc.ini (""" multi-line PGP enc written by sops 3.13.0/1) decrypts to [foo] bar = baz', async () => {
    const result = await decryptSops(fixture('getsops__sops/functional-tests/res/format-2.enc.ini'), {engine: 'sops', env: pgpEnv()})
    expect(result.format).toBe('ini')
    expect(result.documents.map(plain)).toEqual([{foo: {bar: 'baz'}}])
  })

  test('the post-quantum hybrid age fixture', async () => {
    const path = 'fluxcd__kustomize-controller/internal/controller/testdata/sops/algorithms/age-pq.yaml'
    const result = await decryptSops(fixture(path), {engine: 'sops', env: ageEnv(EXPECTED[path].key)})
    expect(plain(result.documents[0])).toMatchObject({stringData: {key: 'value'}})
  })
})

describe('both engines agree on every age fixture', () => {
  // sops 3.13 refuses these (exit 1: their unquoted lastmodified is a YAML timestamp, not a string);
  // the builtin engine, like the sops Go library used by Flux, decrypts them.
  const refusedBySopsCli = new Set(AGE_FIXTURES.filter(([, expected]) => expected.sops_cli_expected_exit === 1).map(([path]) => path))

  test.each(AGE_FIXTURES)('%s', async (path, expected) => {
    for (const ignoreMac of [false, true]) {
      const viaSops = await outcome(decryptSops(fixture(path), {engine: 'sops', ignoreMac, env: ageEnv(expected.key)}))
      const viaBuiltin = await outcome(decryptSops(fixture(path), {engine: 'builtin', ignoreMac, env: ageEnv(expected.key)}))
      if (refusedBySopsCli.has(path)) {
        expect(viaSops).toEqual({code: 'PARSE'})
        expect(viaBuiltin).toEqual({documents: [expected.plaintext]})
      } else {
        expect(viaBuiltin).toEqual(viaSops)
      }
    }
  })

  test('the refused fixtures fail in sops for the reason we name', async () => {
    const [path, expected] = AGE_FIXTURES.find(([candidate]) => refusedBySopsCli.has(candidate))!
    const error = await decryptSops(fixture(path), {engine: 'sops', env: ageEnv(expected.key)}).catch((caught: unknown) => caught as SopsError)
    expect((error as SopsError).message).toMatch(/lastmodified is a time\.Time, not a string/)
  })
})

describe('the builtin format code on the PGP fixtures (data key opened with the real gpg)', () => {
  // The builtin engine cannot use PGP keys, but everything after the data key
  // (stores, AADs, types, comments, MAC) is the same code: check it on
  // upstream files that cover INI, the binary store, JSON, dotenv and
  // encrypted comments.
  test.each(PGP_FIXTURES)('%s gives what sops gives', async (path) => {
    const content = readFileSync(fixture(path))
    const format = detectSops(content)!.format
    const parsed = parseSopsFile(fixture(path), content, format)
    const dataKey = openWithGpg(pgpStanzas(content, format))
    for (const ignoreMac of [false, true]) {
      const viaSops = await outcome(decryptSops(fixture(path), {engine: 'sops', ignoreMac, env: pgpEnv()}))
      let viaBuiltin: Outcome
      try {
        viaBuiltin = {documents: decryptWithDataKey(fixture(path), parsed, dataKey, {ignoreMac}).map(plain)}
      } catch (error) {
        viaBuiltin = {code: (error as SopsError).code}
      }
      expect(viaBuiltin).toEqual(viaSops)
    }
  })
})

/** The armored PGP data keys of a fixture, unescaped from its store's quoting. */
function pgpStanzas(content: Buffer, format: string): string[] {
  const text = content.toString('utf8')
  let stanzas: string
  if (format === 'json' || format === 'binary') stanzas = (JSON.parse(text).sops.pgp as {enc: string}[]).map(({enc}) => enc).join('\n')
  else if (format === 'dotenv' || format === 'ini') stanzas = text.replaceAll('\\n', '\n').replaceAll('"""', '\n')
  else stanzas = text.replace(/^[ \t]+/gm, '')
  return stanzas.match(/-----BEGIN PGP MESSAGE-----[\s\S]+?-----END PGP MESSAGE-----/g) ?? []
}

function openWithGpg(stanzas: string[]): Buffer {
  for (const stanza of stanzas) {
    try {
      return gpgDecrypt(gnupgHome, `${stanza}\n`)
    } catch {
      // sealed to another PGP key
    }
  }
  throw new Error('no PGP stanza of this fixture opens with the fixture key')
}
