import {readFileSync, rmSync} from 'node:fs'

import {decryptSops, decryptSopsFile, SopsError} from '../../../src/lib/sops/decrypt.js'
import {AGE_FIXTURES, EXPECTED, fixture, isolatedEnv, PGP_FIXTURES, plain, scratchDir} from './fixtures.js'

let scratch: string
beforeAll(() => {
  scratch = scratchDir()
})
afterAll(() => rmSync(scratch, {recursive: true, force: true}))

const builtin = (path: string, keyFile: string, extra: {ignoreMac?: boolean} = {}) =>
  decryptSops(fixture(path), {engine: 'builtin', env: isolatedEnv(scratch, {SOPS_AGE_KEY_FILE: fixture(keyFile)}), ...extra})

async function sopsError(promise: Promise<unknown>): Promise<SopsError> {
  try {
    await promise
  } catch (error) {
    if (error instanceof SopsError) return error
    throw error
  }
  throw new Error('expected a SopsError, but decryption succeeded')
}

describe('builtin engine on every age fixture', () => {
  const verified = AGE_FIXTURES.filter(([, expected]) => expected.result === 'MAC_OK')
  test.each(verified)('%s decrypts to the expected plaintext', async (path, expected) => {
    const result = await builtin(path, expected.key)
    expect(result.engine).toBe('builtin')
    expect(result.format).toBe(expected.format)
    expect(result.documents).toHaveLength(1)
    expect(plain(result.documents[0])).toEqual(expected.plaintext)
  })

  const macFailures = AGE_FIXTURES.filter(([, expected]) => expected.result === 'MAC_MISMATCH' || expected.result === 'MAC_MISSING')
  test.each(macFailures)('%s fails with MAC_MISMATCH, and decrypts with ignoreMac', async (path, expected) => {
    const error = await sopsError(builtin(path, expected.key))
    expect(error.code).toBe('MAC_MISMATCH')
    expect(error.file).toBe(fixture(path))
    expect(error.message).toContain(fixture(path))
    expect(error.exitCode).toBe(2)
    if (expected.result === 'MAC_MISSING') expect(error.message).toMatch(/has no MAC/)
    const result = await builtin(path, expected.key, {ignoreMac: true})
    expect(plain(result.documents[0])).toEqual(expected.plaintext)
  })

  test('a renamed key fails value authentication (AAD_MISMATCH) naming the key path', async () => {
    const path = 'derived/flux-age.renamed-key.aad-fail.yaml'
    expect(EXPECTED[path].result).toBe('VALUE_DECRYPT_FAILED')
    const error = await sopsError(builtin(path, EXPECTED[path].key))
    expect(error.code).toBe('AAD_MISMATCH')
    expect(error.message).toContain('stringData.renamed')
    expect(error.message).toContain(fixture(path))
    // ignoreMac does not skip value authentication.
    expect((await sopsError(builtin(path, EXPECTED[path].key, {ignoreMac: true}))).code).toBe('AAD_MISMATCH')
  })

  test('the post-quantum hybrid age fixture decrypts (Flux expects stringData.key = value)', async () => {
    const path = 'fluxcd__kustomize-controller/internal/controller/testdata/sops/algorithms/age-pq.yaml'
    const result = await builtin(path, EXPECTED[path].key)
    expect(plain(result.documents[0])).toMatchObject({stringData: {key: 'value'}})
  })

  test('a SOPS document nested base64 in a plain Secret decrypts from its bytes (content option)', async () => {
    const path = 'fluxcd__kustomize-controller/internal/controller/testdata/sops/inside/secret.yaml'
    const outer = readFileSync(fixture(path), 'utf8')
    const encoded = /^\s+key:\s+(\S+)$/m.exec(outer)![1]
    const result = await decryptSops(fixture(path), {engine: 'builtin', content: Buffer.from(encoded, 'base64'), env: isolatedEnv(scratch, {SOPS_AGE_KEY_FILE: fixture(EXPECTED[path].key)})})
    expect(result.format).toBe('binary')
    expect(result.documents[0]).toEqual({data: expect.anything()})
    expect(plain(result.documents[0])).toEqual({data: 'value'})
  })

  test('a key from another fixture cannot open the data key: NO_KEY naming the recipient', async () => {
    const path = 'humphd__sops-age/tests/data/secret.enc.yaml'
    const error = await sopsError(builtin(path, 'fluxcd__kustomize-controller/internal/controller/testdata/sops/keys/age.txt'))
    expect(error.code).toBe('NO_KEY')
    expect(error.message).toContain('age1je6kjhzuhdjy3fqptpttxjh5k8q46vygzlgtpuq3030c947pc5tqz9dqvr')
    expect(error.message).toContain('none of the 1 age identities')
  })

  test('no identity anywhere: NO_KEY saying where it looked', async () => {
    const error = await sopsError(decryptSops(fixture('humphd__sops-age/tests/data/secret.enc.yaml'), {engine: 'builtin', env: isolatedEnv(scratch)}))
    expect(error.code).toBe('NO_KEY')
    expect(error.message).toMatch(/no age identity was found/)
    expect(error.message).toMatch(/keys\.txt/)
  })

  test.each(PGP_FIXTURES)('%s (PGP only) is UNSUPPORTED_KEY with a hint to install sops', async (path) => {
    const error = await sopsError(builtin(path, 'humphd__sops-age/key.txt'))
    expect(error.code).toBe('UNSUPPORTED_KEY')
    expect(error.message).toMatch(/pgp FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4/)
    expect(error.hint).toMatch(/sops binary/)
  })

  test('a file that is not SOPS is NOT_SOPS; a missing file is FILE_NOT_FOUND', async () => {
    const notSops = await sopsError(builtin('getsops__sops/functional-tests/res/comments.yaml', 'humphd__sops-age/key.txt'))
    expect(notSops.code).toBe('NOT_SOPS')
    const missing = await sopsError(builtin('no/such/file.enc.yaml', 'humphd__sops-age/key.txt'))
    expect(missing.code).toBe('FILE_NOT_FOUND')
    expect(missing.message).toContain('no/such/file.enc.yaml')
  })

  test('extra ageKeys work without any environment key', async () => {
    const path = 'humphd__sops-age/tests/data/secret.enc.json'
    const key = readFileSync(fixture('humphd__sops-age/key.txt'), 'utf8')
    const result = await decryptSops(fixture(path), {engine: 'builtin', ageKeys: [key], env: isolatedEnv(scratch)})
    expect(plain(result.documents[0])).toEqual(EXPECTED[path].plaintext)
  })
})

describe('typed leaves', () => {
  test('ints, floats and booleans keep their JSON type; JSON int 7 stored as float stays 7', async () => {
    const path = 'humphd__sops-age/tests/data/secret.enc.json'
    const {documents} = await builtin(path, EXPECTED[path].key)
    const document = documents[0] as Record<string, {jsonType: string; revealString(): string}>
    expect(document.int.jsonType).toBe('number')
    expect(document.int.revealString()).toBe('7')
    expect(document.float.revealString()).toBe('3.14')
    expect(document.boolean.jsonType).toBe('boolean')
    expect(document.boolean.revealString()).toBe('true')
    expect(document.secret.jsonType).toBe('string')
  })

  test('decryptSopsFile reveals plain values; a binary store gives a Buffer', async () => {
    const env = process.env
    process.env = isolatedEnv(scratch, {SOPS_AGE_KEY_FILE: fixture('fluxcd__kustomize-controller/internal/controller/testdata/sops/keys/age.txt')})
    try {
      const yaml = await decryptSopsFile(fixture('fluxcd__kustomize-controller/internal/controller/testdata/sops/algorithms/age.yaml'), {engine: 'builtin'})
      expect(yaml).toEqual({format: 'yaml', documents: [EXPECTED['fluxcd__kustomize-controller/internal/controller/testdata/sops/algorithms/age.yaml'].plaintext]})
      const binary = await decryptSopsFile(fixture('fluxcd__kustomize-controller/internal/controller/testdata/sops/files/file.txt'), {engine: 'builtin'})
      expect(binary.format).toBe('binary')
      expect(binary.documents).toEqual([{data: Buffer.from('value')}])
    } finally {
      process.env = env
    }
  })
})
