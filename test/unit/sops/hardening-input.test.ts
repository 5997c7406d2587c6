import {execFileSync} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {parseSopsFile} from '../../../src/lib/sops/builtin/decrypt-builtin.js'
import {decryptSops, SopsError} from '../../../src/lib/sops/decrypt.js'
import {parseSopsYamlOutput} from '../../../src/lib/sops/engine-sops.js'

const METADATA = 'sops:\n  age:\n    - recipient: age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq\n      enc: x\n  lastmodified: "2024-01-01T00:00:00Z"\n  mac: ""\n  version: 3.9.0\n'

function deepYaml(levels: number, leaf = 'value'): string {
  let text = ''
  for (let level = 0; level < levels; level++) text += `${' '.repeat(level)}k${level}:\n`
  return `${text}${' '.repeat(levels)}${leaf}\n`
}

function errorOf(work: () => unknown): SopsError {
  try {
    work()
  } catch (error) {
    return error as SopsError
  }
  throw new Error('expected an error')
}

describe('deep nesting is an error of the file, never a crash or a silent null', () => {
  test.each([[600], [3000]])('the built-in parser: %i levels of YAML', (levels) => {
    const error = errorOf(() => parseSopsFile('dir/deep.yaml', Buffer.from(deepYaml(levels) + METADATA), 'yaml'))
    expect(error).toBeInstanceOf(SopsError)
    expect(error.code).toBe('PARSE')
    expect(error.message).toBe('dir/deep.yaml nests YAML deeper than 512 levels, which this tool does not process')
  })

  test('the built-in parser: 3,000 levels of flow YAML', () => {
    const error = errorOf(() => parseSopsFile('deep.yaml', Buffer.from(`k: ${'['.repeat(3000)}${']'.repeat(3000)}\n${METADATA}`), 'yaml'))
    expect(error.code).toBe('PARSE')
    expect(error.message).toContain('deeper than 512 levels')
  })

  test.each([[600], [3000]])("the sops engine's output: %i levels is an error, not null", (levels) => {
    const error = errorOf(() => parseSopsYamlOutput('deep.yaml', Buffer.from(deepYaml(levels))))
    expect(error).toBeInstanceOf(SopsError)
    expect(error.code).toBe('PARSE')
    expect(error.message).toBe('deep.yaml nests values deeper than 512 levels, which this tool does not process')
  })

  test("the sops engine's output within the limit keeps every value", () => {
    const [tree] = parseSopsYamlOutput('ok.yaml', Buffer.from(deepYaml(500)))
    let node = tree as Record<string, unknown>
    for (let level = 0; level < 500; level++) node = node[`k${level}`] as Record<string, unknown>
    expect(String(node)).toBe('[REDACTED]')
  })
})

describe('decryptSops reads regular files only', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sops-input-'))
  afterAll(() => rmSync(dir, {recursive: true, force: true}))

  test.each([['/dev/zero', 'a character device'], ['fifo', 'a FIFO']])('%s is refused at once as %s, with either engine', async (name, kind) => {
    const path = name === 'fifo' ? join(dir, 'secret.enc.yaml') : name
    if (name === 'fifo') execFileSync('mkfifo', [path])
    for (const engine of ['builtin', 'auto'] as const) {
      await expect(decryptSops(path, {engine, env: {HOME: dir, PATH: ''}})).rejects.toMatchObject({code: 'NOT_A_FILE', message: `${path} is ${kind}${kind === 'a FIFO' ? ' (named pipe)' : ''}, not a regular file`})
    }
  })

  test('a file over 8 MiB is refused before it is parsed', async () => {
    const path = join(dir, 'huge.yaml')
    writeFileSync(path, Buffer.alloc(9 * 1024 * 1024, 0x61))
    await expect(decryptSops(path, {engine: 'builtin', env: {HOME: dir}})).rejects.toMatchObject({code: 'FILE_TOO_LARGE', message: `${path} is 9 MiB, over the 8 MiB limit for a SOPS file`})
  })
})
