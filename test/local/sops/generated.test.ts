import {randomBytes} from 'node:crypto'
import {readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {SecretValue} from '../../../src/lib/secret/secret-value.js'
import {decryptSops, SopsError, type DecryptedSops, type SopsEngine, type SopsTree} from '../../../src/lib/sops/decrypt.js'
import {detectSops} from '../../../src/lib/sops/detect.js'
import {requireBinary} from '../../helpers/binaries.js'
import {isolatedEnv, plain} from '../../unit/sops/fixtures.js'
import {newAgeKey, privateDir, sopsEncrypt, type AgeKeyPair} from './real-sops.js'

// Files encrypted here by the real sops binary with a throwaway age key;
// plaintext only ever in memory (piped to sops), ciphertext in a private
// directory removed at the end.

let dir: string
let sops: string
let keyA: AgeKeyPair
let keyB: AgeKeyPair
const ENGINES: SopsEngine[] = ['sops', 'builtin']

beforeAll(async () => {
  sops = requireBinary('sops')
  dir = privateDir('sops-generated-')
  keyA = await newAgeKey(dir, 'a')
  keyB = await newAgeKey(dir, 'b')
})
afterAll(() => rmSync(dir, {recursive: true, force: true}))

const envWith = (...keys: AgeKeyPair[]) => isolatedEnv(dir, {SOPS_AGE_KEY: keys.map((key) => key.identity).join('\n'), SOPS_BIN: sops})

async function both(path: string, options: {keys?: AgeKeyPair[]; ignoreMac?: boolean} = {}): Promise<Record<SopsEngine, DecryptedSops>> {
  const results = {} as Record<SopsEngine, DecryptedSops>
  for (const engine of ENGINES) results[engine] = await decryptSops(path, {engine, ignoreMac: options.ignoreMac, env: envWith(...(options.keys ?? [keyA]))})
  return results
}

async function codes(path: string, options: {keys?: AgeKeyPair[]; ignoreMac?: boolean} = {}): Promise<Record<SopsEngine, SopsError>> {
  const errors = {} as Record<SopsEngine, SopsError>
  for (const engine of ENGINES) {
    const error = await decryptSops(path, {engine, ignoreMac: options.ignoreMac, env: envWith(...(options.keys ?? [keyA]))}).then(
      () => new Error(`${engine} decrypted ${path}`),
      (caught: unknown) => caught,
    )
    if (!(error instanceof SopsError)) throw error
    errors[engine] = error
  }
  return errors
}

function leaf(tree: SopsTree, ...path: (string | number)[]): SecretValue {
  let node: unknown = tree
  for (const step of path) node = (node as Record<string | number, unknown>)[step]
  if (!(node instanceof SecretValue)) throw new Error(`no value at ${path.join('.')}`)
  return node
}

const b64 = (text: string) => Buffer.from(text).toString('base64')
const recipient = () => ['--age', keyA.recipient]

describe('files encrypted with the real sops: both engines give the same documents', () => {
  test('multi-document YAML: one entry per document, one MAC over all, a trailing empty document', async () => {
    const path = sopsEncrypt(dir, 'multi.yaml', '# first\napp: web\npassword: canary-multi-1\nports: [80, 443]\nratio: 0.75\nenabled: true\nnothing: null\nempty: ""\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n  user: YWRtaW4=\n---\n', 'yaml', recipient())
    expect(detectSops(readFileSync(path))).toEqual({format: 'yaml'})
    const results = await both(path)
    const expected = [{app: 'web', password: 'canary-multi-1', ports: [80, 443], ratio: 0.75, enabled: true, nothing: null, empty: ''}, {apiVersion: 'v1', kind: 'Secret', metadata: {name: 'db'}, data: {user: 'YWRtaW4='}}, {}]
    for (const engine of ENGINES) {
      expect(results[engine].engine).toBe(engine)
      expect(results[engine].format).toBe('yaml')
      expect(results[engine].documents.map(plain)).toEqual(expected)
    }
  })

  test('INI: DEFAULT keys, a repeated section, comments, quotes', async () => {
    const path = sopsEncrypt(dir, 'app.ini', '; global comment\nregion = eu-west-1\n[database]\nuser = admin\npassword = "canary-ini-2"\n; the port\nport = 5432\n[database]\nreplica = db-2\n[empty]\n', 'ini', recipient())
    expect(detectSops(readFileSync(path))).toEqual({format: 'ini'})
    const results = await both(path)
    for (const engine of ENGINES) {
      expect(results[engine].documents.map(plain)).toEqual([{DEFAULT: {region: 'eu-west-1'}, database: {user: 'admin', password: 'canary-ini-2', port: '5432', replica: 'db-2'}, empty: {}}])
    }
  })

  test('INI without keys before the first section has no DEFAULT section', async () => {
    const path = sopsEncrypt(dir, 'sections.ini', '[a]\nx = 1\n', 'ini', recipient())
    const results = await both(path)
    for (const engine of ENGINES) expect(results[engine].documents.map(plain)).toEqual([{a: {x: '1'}}])
  })

  test('binary store: bytes that are not UTF-8 come back byte for byte', async () => {
    const bytes = Buffer.concat([Buffer.from([0xff, 0xfe, 0x00, 0x80]), randomBytes(3000)])
    const path = sopsEncrypt(dir, 'blob.bin', bytes, 'binary', recipient())
    expect(detectSops(readFileSync(path))).toEqual({format: 'binary'})
    const results = await both(path)
    for (const engine of ENGINES) {
      expect(results[engine].format).toBe('binary')
      expect(results[engine].documents).toHaveLength(1)
      expect(leaf(results[engine].documents[0], 'data').revealBytes().equals(bytes)).toBe(true)
    }
  })

  test('dotenv: newlines, empty and padded values, the _unencrypted suffix', async () => {
    const path = sopsEncrypt(dir, 'app.env', '# comment\nDB_PASSWORD=canary-env-4\nMULTI=line1\\nline2\nEMPTY=\nSPACED= padded \nPUBLIC_unencrypted=visible\n', 'dotenv', recipient())
    expect(detectSops(readFileSync(path))).toEqual({format: 'dotenv'})
    expect(readFileSync(path, 'utf8')).toContain('PUBLIC_unencrypted=visible')
    const results = await both(path)
    for (const engine of ENGINES) {
      expect(results[engine].documents.map(plain)).toEqual([{DB_PASSWORD: 'canary-env-4', MULTI: 'line1\nline2', EMPTY: '', SPACED: ' padded ', PUBLIC_unencrypted: 'visible'}])
    }
  })

  test('a Kubernetes Secret with base64 data: values and encrypted_regex ^(data|stringData)$', async () => {
    const token = Buffer.from([0xde, 0xad, 0xbe, 0xef, 0xff]).toString('base64')
    const manifest = `apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\n  namespace: prod\n  labels: {tier: backend}\ntype: Opaque\ndata:\n  password: ${b64('canary-k8s-5')}\n  token: ${token}\nstringData:\n  extra: canary-k8s-extra\n`
    const path = sopsEncrypt(dir, 'secret.yaml', manifest, 'yaml', [...recipient(), '--encrypted-regex', '^(data|stringData)$'])
    const text = readFileSync(path, 'utf8')
    expect(text).toContain('namespace: prod')
    expect(text).not.toContain(b64('canary-k8s-5'))
    const results = await both(path)
    for (const engine of ENGINES) {
      expect(results[engine].documents.map(plain)).toEqual([{apiVersion: 'v1', kind: 'Secret', metadata: {name: 'app', namespace: 'prod', labels: {tier: 'backend'}}, type: 'Opaque', data: {password: b64('canary-k8s-5'), token}, stringData: {extra: 'canary-k8s-extra'}}])
    }
  })

  test('nested values, ints beyond 2^53, floats, booleans, empty strings and unicode keys (YAML)', async () => {
    const path = sopsEncrypt(dir, 'typed.yaml', 'nested:\n  deeper:\n    list:\n      - a\n      - b: 1\n      - [x, y]\nints: [0, -7, 9007199254740993]\nfloats: [1.5, -0.25, 1e3, 3.0]\nbools: [true, false]\n"ключ": значение\n"clé 🔑": "valeur"\nempty: ""\nwhen: 2024-01-02\n', 'yaml', recipient())
    const results = await both(path)
    const expected = {nested: {deeper: {list: ['a', {b: 1}, ['x', 'y']]}}, ints: [0, -7, 9007199254740993], floats: [1.5, -0.25, 1000, 3], bools: [true, false], ключ: 'значение', 'clé 🔑': 'valeur', empty: '', when: '2024-01-02T00:00:00Z'}
    for (const engine of ENGINES) {
      const [document] = results[engine].documents
      expect(plain(document)).toEqual(expected)
      expect(leaf(document, 'ints', 2).revealString()).toBe('9007199254740993')
      expect(leaf(document, 'ints', 2).jsonType).toBe('number')
      expect(leaf(document, 'floats', 3).revealString()).toBe('3')
      expect(leaf(document, 'bools', 1).jsonType).toBe('boolean')
    }
  })

  test('unencrypted scalars are typed and re-emitted as sops does (they count in the MAC)', async () => {
    const path = sopsEncrypt(dir, 'plain-types.yaml', 'kept_unencrypted:\n  octal: 0777\n  date: 2024-1-2\n  stamp: 2024-01-02 03:04:05.50\n  exp: 1e3\n  half: .5\n  plus: +12\n  hex: 0x1F\n  under: 1_000\n  leading: 08\n  quoted: "0777"\n  tagged: !!float 3\n  nothing: ~\n  yes: yes\n  merge: <<\nsecret: canary-types-10\n', 'yaml', recipient())
    const results = await both(path)
    expect(results.builtin.documents.map(plain)).toEqual(results.sops.documents.map(plain))
    expect(plain(results.builtin.documents[0])).toEqual({kept_unencrypted: {octal: 511, date: '2024-01-02T00:00:00Z', stamp: '2024-01-02T03:04:05.5Z', exp: 1000, half: 0.5, plus: 12, hex: 31, under: 1000, leading: 8, quoted: '0777', tagged: 3, nothing: null, yes: 'yes', merge: '<<'}, secret: 'canary-types-10'})
  })

  test('JSON numbers at the edges (beyond int64, -0, exponents) and escapes, encrypted or not', async () => {
    const json = '{"n_unencrypted": [1.0, 1e2, -0, 12345678901234567890, 0.1, 1e21], "n": [1.0, 1e21, -0.0, 0.000001], "s": "\\u00e9\\ud83d\\ude00 \\"q\\""}'
    const path = sopsEncrypt(dir, 'edges.json', json, 'json', recipient())
    const results = await both(path)
    expect(results.builtin.documents.map(plain)).toEqual(results.sops.documents.map(plain))
    expect(plain(results.builtin.documents[0])).toEqual({n_unencrypted: [1, 100, 0, 12345678901234567000, 0.1, 1e21], n: [1, 1e21, 0, 0.000001], s: 'é😀 "q"'})
  })

  test('JSON: types, nesting, unicode, empty strings', async () => {
    const path = sopsEncrypt(dir, 'typed.json', JSON.stringify({name: 'x', n: 42, f: 2.5, t: true, nil: null, list: [1, 'two', {three: 3}], ünï: 'ok', empty: ''}).replace('"n":42', '"n":42,"big":1234567890123456789'), 'json', recipient())
    expect(detectSops(readFileSync(path))).toEqual({format: 'json'})
    const results = await both(path)
    for (const engine of ENGINES) {
      const [document] = results[engine].documents
      expect(plain(document)).toEqual({name: 'x', n: 42, big: 1234567890123456789, f: 2.5, t: true, nil: null, list: [1, 'two', {three: 3}], ünï: 'ok', empty: ''})
      expect(leaf(document, 'big').revealString()).toBe('1234567890123456789')
    }
  })

  test.each([
    ['encrypted_suffix', ['--encrypted-suffix', '_secret'], undefined],
    ['unencrypted_regex', ['--unencrypted-regex', '^public'], undefined],
    ['encrypted_comment_regex + mac_only_encrypted', [], "creation_rules:\n  - encrypted_comment_regex: 'sops:enc'\n    mac_only_encrypted: true\n    age: RECIPIENT\n"],
    ['unencrypted_comment_regex', [], "creation_rules:\n  - unencrypted_comment_regex: 'sops:plain'\n    age: RECIPIENT\n"],
  ])('%s', async (_name, args, config) => {
    const plaintext = 'public_name: web\n# sops:enc\npassword_secret: canary-rule-6\n# sops:plain\nport: 8080\nnested:\n  public_flag: true\n  key_secret: canary-rule-7\n'
    const path = sopsEncrypt(dir, `rules-${_name.replace(/\W+/g, '-')}.yaml`, plaintext, 'yaml', config ? [] : [...recipient(), ...args], config?.replace('RECIPIENT', keyA.recipient))
    const results = await both(path)
    for (const engine of ENGINES) expect(results[engine].documents.map(plain)).toEqual([{public_name: 'web', password_secret: 'canary-rule-6', port: 8080, nested: {public_flag: true, key_secret: 'canary-rule-7'}}])
  })

  test('key groups with Shamir: 2 of 2 needs both keys; 2 of 3 needs any two', async () => {
    const keyC = await newAgeKey(dir, 'c')
    const config = (threshold: number, keys: AgeKeyPair[]) => `creation_rules:\n  - shamir_threshold: ${threshold}\n    key_groups:\n${keys.map((key) => `      - age: [${key.recipient}]\n`).join('')}`
    const twoOfTwo = sopsEncrypt(dir, 'shamir-2.yaml', 'password: canary-shamir-8\n', 'yaml', [], config(2, [keyA, keyB]))
    const twoOfThree = sopsEncrypt(dir, 'shamir-3.yaml', 'password: canary-shamir-8\n', 'yaml', [], config(2, [keyA, keyB, keyC]))
    for (const [path, keys] of [[twoOfTwo, [keyA, keyB]], [twoOfThree, [keyA, keyC]], [twoOfThree, [keyB, keyC]]] as const) {
      const results = await both(path, {keys: [...keys]})
      for (const engine of ENGINES) expect(results[engine].documents.map(plain)).toEqual([{password: 'canary-shamir-8'}])
    }
    for (const path of [twoOfTwo, twoOfThree]) {
      const missingShare = await codes(path, {keys: [keyA]})
      expect([missingShare.sops.code, missingShare.builtin.code]).toEqual(['NO_KEY', 'NO_KEY'])
    }
  })
})

describe('sops exit codes become typed errors, and the builtin engine says the same', () => {
  let base: string
  beforeAll(() => {
    base = readFileSync(sopsEncrypt(dir, 'base.yaml', 'app: web\npassword: canary-exit-9\nport: 5432\n', 'yaml', recipient()), 'utf8')
  })
  const variant = (name: string, edit: (text: string) => string) => {
    const path = join(dir, name)
    writeFileSync(path, edit(base))
    return path
  }

  test('51: content changed after encryption → MAC_MISMATCH (and ignoreMac decrypts)', async () => {
    const path = variant('mac.yaml', (text) => text.replace(/^app: .*\n/m, ''))
    const errors = await codes(path)
    expect([errors.sops.code, errors.builtin.code]).toEqual(['MAC_MISMATCH', 'MAC_MISMATCH'])
    for (const engine of ENGINES) expect((await both(path, {ignoreMac: true}))[engine].documents.map(plain)).toEqual([{password: 'canary-exit-9', port: 5432}])
  })

  test('51: a removed MAC → MAC_MISMATCH saying the MAC is missing', async () => {
    const errors = await codes(variant('nomac.yaml', (text) => text.replace(/^ {4}mac: .*\n/m, '')))
    for (const engine of ENGINES) expect(errors[engine].message).toMatch(/has no MAC/)
  })

  test('25: a renamed key → AAD_MISMATCH; the builtin engine names the key path', async () => {
    const errors = await codes(variant('aad.yaml', (text) => text.replace(/^password:/m, 'passw0rd:')))
    expect([errors.sops.code, errors.builtin.code]).toEqual(['AAD_MISMATCH', 'AAD_MISMATCH'])
    expect(errors.builtin.message).toContain('passw0rd')
  })

  test('128: no identity for any recipient → NO_KEY naming the recipient', async () => {
    const errors = await codes(join(dir, 'base.yaml'), {keys: [keyB]})
    for (const engine of ENGINES) {
      expect(errors[engine].code).toBe('NO_KEY')
      expect(errors[engine].message).toContain(keyA.recipient)
    }
  })

  test('1: not a SOPS file → NOT_SOPS', async () => {
    const path = join(dir, 'plain.yaml')
    writeFileSync(path, 'app: web\n')
    const errors = await codes(path)
    expect([errors.sops.code, errors.builtin.code]).toEqual(['NOT_SOPS', 'NOT_SOPS'])
  })

  test('100: no such file → FILE_NOT_FOUND', async () => {
    const errors = await codes(join(dir, 'missing.enc.yaml'))
    for (const engine of ENGINES) {
      expect(errors[engine].code).toBe('FILE_NOT_FOUND')
      expect(errors[engine].file).toBe(join(dir, 'missing.enc.yaml'))
    }
  })

  test('every error names the file and carries exit code 2', async () => {
    const errors = await codes(variant('aad2.yaml', (text) => text.replace(/^port:/m, 'p0rt:')))
    for (const engine of ENGINES) {
      expect(errors[engine].message).toContain(join(dir, 'aad2.yaml'))
      expect(errors[engine].exitCode).toBe(2)
      expect(errors[engine].hint).toBeTruthy()
    }
  })
})
