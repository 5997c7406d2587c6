import {chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {splitCommandLine} from '../../../src/lib/sops/builtin/age-keys.js'
import {decryptSops, SopsError} from '../../../src/lib/sops/decrypt.js'
import {EXPECTED, fixture, isolatedEnv, plain, scratchDir} from './fixtures.js'

// humphd's file is sealed to three recipients, of which key.txt holds one.
const FILE = 'humphd__sops-age/tests/data/secret.enc.yaml'
const KEY_FILE = fixture('humphd__sops-age/key.txt')
const identity = (): string => readFileSync(KEY_FILE, 'utf8').split('\n').find((line) => line.startsWith('AGE-SECRET-KEY-1'))!
const otherIdentity = (): string => readFileSync(fixture('gibbz00__rops/age-key.extracted.txt'), 'utf8').split('\n').find((line) => line.startsWith('AGE-SECRET-KEY-1'))!

let scratch: string
beforeAll(() => {
  scratch = scratchDir()
})
afterAll(() => rmSync(scratch, {recursive: true, force: true}))

async function decryptsWith(env: NodeJS.ProcessEnv): Promise<void> {
  const result = await decryptSops(fixture(FILE), {engine: 'builtin', env})
  expect(plain(result.documents[0])).toEqual(EXPECTED[FILE].plaintext)
}

async function noKey(env: NodeJS.ProcessEnv): Promise<SopsError> {
  const error = await decryptSops(fixture(FILE), {engine: 'builtin', env}).then(
    () => undefined,
    (caught: unknown) => caught,
  )
  expect(error).toBeInstanceOf(SopsError)
  expect((error as SopsError).code).toBe('NO_KEY')
  return error as SopsError
}

describe('age identities come from every place sops looks', () => {
  test('SOPS_AGE_KEY, with several keys on several lines and comments', async () => {
    await decryptsWith(isolatedEnv(scratch, {SOPS_AGE_KEY: `# team keys\n${otherIdentity()}   ${identity()}\n\n`}))
  })

  test('SOPS_AGE_KEY_FILE', async () => {
    await decryptsWith(isolatedEnv(scratch, {SOPS_AGE_KEY_FILE: KEY_FILE}))
  })

  test('SOPS_AGE_KEY_CMD runs without a shell, with SOPS_AGE_RECIPIENT set, and its output is the identities', async () => {
    const dir = join(scratch, 'cmd')
    mkdirSync(dir, {recursive: true})
    const script = join(dir, 'print key.sh')
    const seen = join(dir, 'recipients.log')
    writeFileSync(script, `#!/bin/sh\necho "$SOPS_AGE_RECIPIENT" >> '${seen}'\ncat "$1"\n`)
    chmodSync(script, 0o700)
    await decryptsWith(isolatedEnv(scratch, {SOPS_AGE_KEY_CMD: `'${script}' ${KEY_FILE}`}))
    expect(readFileSync(seen, 'utf8')).toContain('age1je6kjhzuhdjy3fqptpttxjh5k8q46vygzlgtpuq3030c947pc5tqz9dqvr')
  })

  test('a failing SOPS_AGE_KEY_CMD is reported by exit code, not output', async () => {
    const error = await noKey(isolatedEnv(scratch, {SOPS_AGE_KEY_CMD: `sh -c 'echo ${identity().slice(0, 30)}; exit 3'`}))
    expect(error.message).toMatch(/SOPS_AGE_KEY_CMD failed \(exit code 3\)/)
    expect(error.message).not.toContain('AGE-SECRET-KEY')
  })

  test('$XDG_CONFIG_HOME/sops/age/keys.txt', async () => {
    const xdg = join(scratch, 'xdg')
    mkdirSync(join(xdg, 'sops', 'age'), {recursive: true})
    writeFileSync(join(xdg, 'sops', 'age', 'keys.txt'), readFileSync(KEY_FILE))
    await decryptsWith(isolatedEnv(scratch, {XDG_CONFIG_HOME: xdg}))
  })

  test('~/.config/sops/age/keys.txt when XDG_CONFIG_HOME is unset', async () => {
    const env = isolatedEnv(scratch)
    mkdirSync(join(env.HOME!, '.config', 'sops', 'age'), {recursive: true})
    writeFileSync(join(env.HOME!, '.config', 'sops', 'age', 'keys.txt'), readFileSync(KEY_FILE))
    await decryptsWith(env)
  })

  test('a key file that changes is read again (the cache follows the file)', async () => {
    const file = join(scratch, 'rotating.txt')
    writeFileSync(file, `${otherIdentity()}\n`)
    const env = isolatedEnv(scratch, {SOPS_AGE_KEY_FILE: file})
    await noKey(env)
    writeFileSync(file, `${otherIdentity()}\n${identity()}\n`)
    await decryptsWith(env)
  })

  test('a bad line drops that source, as in sops, and the message names the line, not the content', async () => {
    const file = join(scratch, 'bad-keys.txt')
    writeFileSync(file, `${identity()}\nnot-a-key-${identity().slice(16)}\n`)
    const error = await noKey(isolatedEnv(scratch, {SOPS_AGE_KEY_FILE: file}))
    expect(error.message).toContain('line 2 is not an age identity')
    expect(error.message).not.toContain(identity().slice(16, 40))
    expect(error.hint).toMatch(/SOPS_AGE_KEY_FILE/)
  })

  test('a missing SOPS_AGE_KEY_FILE is reported', async () => {
    const error = await noKey(isolatedEnv(scratch, {SOPS_AGE_KEY_FILE: join(scratch, 'nope.txt')}))
    expect(error.message).toMatch(/nope\.txt\) cannot be read/)
  })
})

describe('splitCommandLine', () => {
  test.each([
    ['pass show sops/age', ['pass', 'show', 'sops/age']],
    [`sh -c 'cat "$F"'`, ['sh', '-c', 'cat "$F"']],
    ['"/opt/my tools/key" --id a\\ b', ['/opt/my tools/key', '--id', 'a b']],
    ['cmd ""', ['cmd', '']],
  ])('%s', (line, words) => {
    expect(splitCommandLine(line)).toEqual(words)
  })
})
