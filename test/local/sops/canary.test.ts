import {readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {inspect} from 'node:util'

import {decryptSops, decryptSopsFile, SopsError, type SopsEngine} from '../../../src/lib/sops/decrypt.js'
import {requireBinary} from '../../helpers/binaries.js'
import {isolatedEnv} from '../../unit/sops/fixtures.js'
import {newAgeKey, privateDir, sopsEncrypt, type AgeKeyPair} from './real-sops.js'

// A value that must never appear in any message, rendering or log line.
const CANARY = 'canary-5e1d0b7a-never-print-me'
const forms = [CANARY, Buffer.from(CANARY).toString('base64').replace(/=+$/, ''), encodeURIComponent(CANARY)]

function assertHidden(text: string, where: string): void {
  for (const form of forms) if (text.includes(form)) throw new Error(`the canary value (or an encoding of it) appeared in ${where}`)
}

let dir: string
let sops: string
let key: AgeKeyPair
let other: AgeKeyPair
let encrypted: string
const ENGINES: SopsEngine[] = ['sops', 'builtin']

beforeAll(async () => {
  sops = requireBinary('sops')
  dir = privateDir('sops-canary-')
  key = await newAgeKey(dir, 'key')
  other = await newAgeKey(dir, 'other')
  encrypted = readFileSync(sopsEncrypt(dir, 'app.yaml', `user: admin\npassword: ${CANARY}\nlist: [${CANARY}]\nnested: {token: ${CANARY}}\n`, 'yaml', ['--age', key.recipient]), 'utf8')
})
afterAll(() => rmSync(dir, {recursive: true, force: true}))

const env = (extra: NodeJS.ProcessEnv = {}) => isolatedEnv(dir, {SOPS_AGE_KEY_FILE: key.file, SOPS_BIN: sops, ...extra})

function variant(name: string, edit: (text: string) => string): string {
  const path = join(dir, name)
  writeFileSync(path, edit(encrypted))
  return path
}

async function errorOf(path: string, engine: SopsEngine, extra: NodeJS.ProcessEnv = {}): Promise<SopsError> {
  const error = await decryptSops(path, {engine, env: env(extra)}).then(
    () => new Error(`${engine} decrypted ${path}`),
    (caught: unknown) => caught,
  )
  if (!(error instanceof SopsError)) throw error
  return error
}

function assertErrorHidden(error: SopsError, where: string): void {
  for (const text of [error.message, error.hint ?? '', error.stack ?? '', error.describe(), String(error), inspect(error, {depth: Infinity, showHidden: true}), JSON.stringify(error)]) assertHidden(text, where)
}

describe('canary: a planted value never appears in results or errors, with either engine', () => {
  test.each(ENGINES)('%s: results redact every leaf in String(), inspect and JSON', async (engine) => {
    const result = await decryptSops(join(dir, 'app.yaml'), {engine, env: env()})
    for (const text of [String(result), JSON.stringify(result), inspect(result, {depth: Infinity}), inspect(result, {depth: Infinity, showHidden: true}), `${result.documents[0]}`, String(Object.values(result.documents[0] as object))]) {
      assertHidden(text, `a rendering of the ${engine} result`)
    }
    // The value is there, for its destination only.
    expect((result.documents[0] as unknown as {password: {revealString(): string}}).password.revealString()).toBe(CANARY)
  })

  test.each(ENGINES)('%s: a plaintext value pasted where a ciphertext belongs (sops quotes it on stderr)', async (engine) => {
    const path = variant('pasted.yaml', (text) => text.replace(/^password: .*$/m, `password: ${CANARY}`))
    const error = await errorOf(path, engine)
    expect(error.code).toBe('AAD_MISMATCH')
    assertErrorHidden(error, `the ${engine} error for a pasted value`)
  })

  test.each(ENGINES)('%s: renamed key, MAC mismatch, wrong key, not SOPS, broken YAML', async (engine) => {
    const cases: [string, string, NodeJS.ProcessEnv?][] = [
      [variant('renamed.yaml', (text) => text.replace(/^password:/m, 'passw0rd:')), 'AAD_MISMATCH'],
      [variant('mac.yaml', (text) => text.replace(/^user: .*\n/m, '')), 'MAC_MISMATCH'],
      [join(dir, 'app.yaml'), 'NO_KEY', {SOPS_AGE_KEY_FILE: other.file}],
      [variant('plain.yaml', () => `password: ${CANARY}\n`), 'NOT_SOPS'],
      [variant('broken.yaml', (text) => `password: [${CANARY}\n${text}`), 'PARSE'],
    ]
    for (const [path, code, extra] of cases) {
      const error = await errorOf(path, engine, extra)
      expect([path, error.code]).toEqual([path, code])
      assertErrorHidden(error, `the ${engine} ${code} error`)
    }
  })

  test('a failing SOPS_AGE_KEY_CMD that prints the canary does not leak it', async () => {
    const error = await errorOf(join(dir, 'app.yaml'), 'builtin', {SOPS_AGE_KEY_FILE: other.file, SOPS_AGE_KEY_CMD: `sh -c 'echo ${CANARY}; echo ${CANARY} >&2; exit 4'`})
    expect(error.code).toBe('NO_KEY')
    assertErrorHidden(error, 'the SOPS_AGE_KEY_CMD error')
  })

  test('ageKeys reach sops through its environment, not its arguments', async () => {
    // A wrapper records the arguments the real sops is given.
    const wrapper = join(dir, 'sops-wrapper.sh')
    const argsLog = join(dir, 'sops-args.log')
    writeFileSync(wrapper, `#!/bin/sh\nprintf '%s\\n' "$@" >> '${argsLog}'\nexec '${sops}' "$@"\n`, {mode: 0o700})
    const env = process.env
    process.env = isolatedEnv(dir, {SOPS_BIN: wrapper})
    try {
      const {documents} = await decryptSopsFile(join(dir, 'app.yaml'), {engine: 'sops', ageKeys: [key.identity]})
      expect(documents).toEqual([{user: 'admin', password: CANARY, list: [CANARY], nested: {token: CANARY}}])
    } finally {
      process.env = env
    }
    const args = readFileSync(argsLog, 'utf8')
    expect(args).toContain('--input-type')
    expect(args).not.toContain('AGE-SECRET-KEY')
  })
})
