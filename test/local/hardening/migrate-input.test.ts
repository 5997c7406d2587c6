import {spawn} from 'node:child_process'
import {mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {createServer, type Server} from 'node:net'
import {join} from 'node:path'

import {requireBinary} from '../../helpers/binaries.js'
import {builtCli, runCli, type CliResult} from '../../helpers/cli.js'
import {newAgeKey, privateDir, sopsEncrypt, type AgeKeyPair} from '../sops/real-sops.js'

// `migrate sops` on hostile and odd input. Files
// are encrypted by the real sops binary with a throwaway age key; every run
// is a dry run or writes manifests only (no cluster), and none may print the
// canary value.
const CANARY = 'canaryvalue8d1f4b7e'
const SECRET = `apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\n  namespace: apps\ntype: Opaque\nstringData:\n  password: ${CANARY}\n`
const ONLY_DATA = ['--encrypted-regex', '^(data|stringData)$']

let dir: string
let key: AgeKeyPair
let env: NodeJS.ProcessEnv

beforeAll(async () => {
  dir = privateDir('migrate-input-')
  key = await newAgeKey(dir, 'key')
  const home = join(dir, 'home')
  mkdirSync(home)
  const config = join(dir, 'secrets-toolkit.yaml')
  writeFileSync(config, 'regions:\n  - name: region1\n    clusterSecretStore: vault-region1\n    vault: {address: "http://127.0.0.1:9", auth: {method: token}}\n')
  env = {HOME: home, KUBECONFIG: '', VAULT_ADDR: '', VAULT_TOKEN: '', SECRETS_TOOLKIT_CONFIG: config, SOPS_AGE_KEY: key.identity, SOPS_AGE_KEY_FILE: '', SOPS_BIN: requireBinary('sops')}
  builtCli()
})
afterAll(() => rmSync(dir, {recursive: true, force: true}))

/** A fresh directory under the test's private one. */
function tree(name: string): string {
  const path = join(dir, name)
  mkdirSync(path, {recursive: true})
  return path
}

/** A real SOPS file (the Secret manifest above unless told otherwise) at `where/name`. */
function encrypted(where: string, name: string, plaintext = SECRET, args = ONLY_DATA, format: 'yaml' | 'json' = 'yaml'): string {
  const scratch = tree('scratch')
  const path = sopsEncrypt(scratch, 'file', plaintext, format, ['--age', key.recipient, ...args])
  const target = join(where, name)
  renameSync(path, target)
  return target
}

async function migrate(args: string[], options: {cwd?: string; timeoutMs?: number} = {}): Promise<CliResult> {
  const result = await runCli(['migrate', 'sops', ...args], {env, cwd: options.cwd ?? dir, timeoutMs: options.timeoutMs ?? 60_000})
  expect(result.stdout + result.stderr).not.toContain(CANARY)
  expect(result.stderr).not.toMatch(/unexpected|This is a bug/i)
  return result
}

describe('special files', () => {
  test('a FIFO named explicitly is refused at once, naming what it is', async () => {
    const where = tree('fifo-explicit')
    await new Promise<void>((resolve, reject) => spawn('mkfifo', [join(where, 'secret.enc.yaml')]).on('close', (code) => (code === 0 ? resolve() : reject(new Error('mkfifo failed')))))
    for (const engine of ['sops', 'builtin']) {
      const result = await migrate([join(where, 'secret.enc.yaml'), '--dry-run', '--engine', engine], {timeoutMs: 30_000})
      expect(result.code).toBe(2)
      expect(result.stderr).toContain('secret.enc.yaml is a FIFO')
    }
  })

  test('/dev/zero named explicitly is refused at once', async () => {
    const result = await migrate(['/dev/zero', '--dry-run'], {timeoutMs: 30_000})
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('/dev/zero is a character device')
  })

  test('in a directory, FIFOs, sockets and symbolic links are named and skipped; the SOPS file is migrated', async () => {
    const where = tree('special-walk')
    encrypted(where, 'secret.enc.yaml')
    await new Promise<void>((resolve, reject) => spawn('mkfifo', [join(where, 'pipe.json')]).on('close', (code) => (code === 0 ? resolve() : reject(new Error('mkfifo failed')))))
    symlinkSync('/dev/zero', join(where, 'zero.yaml'))
    symlinkSync(join(where, 'secret.enc.yaml'), join(where, 'link.enc.yaml'))
    const server: Server = createServer()
    await new Promise<void>((resolve) => server.listen(join(where, 'agent.sock'), resolve))
    try {
      const result = await migrate([where, '--dry-run'], {timeoutMs: 30_000})
      expect(result.code).toBe(0)
      expect(result.stdout).toContain('Secret apps/app')
      expect(result.stdout).toMatch(/note: skipped \S*pipe\.json: a FIFO/)
      expect(result.stdout).toMatch(/note: skipped \S*agent\.sock: a socket/)
      expect(result.stdout).toMatch(/note: skipped \S*zero\.yaml: a symbolic link, not followed/)
      expect(result.stdout).toMatch(/note: skipped \S*link\.enc\.yaml: a symbolic link, not followed/)
      const json = await migrate([where, '--dry-run', '--json'], {timeoutMs: 30_000})
      const report = JSON.parse(json.stdout) as {files: unknown[]; skipped: {path: string; reason: string}[]}
      expect(report.files).toEqual([expect.objectContaining({format: 'yaml'})])
      // What the human report names is in --json too.
      expect(report.skipped.map((entry) => entry.path.split('/').pop()).sort()).toEqual(['agent.sock', 'link.enc.yaml', 'pipe.json', 'zero.yaml'])
    } finally {
      server.close()
    }
  })
})

describe('names with control characters', () => {
  const smuggled = 'x\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: smuggled, namespace: kube-system}\n# .yaml'

  test('a file name holding a newline and YAML is refused and shown escaped; no manifest carries it', async () => {
    const where = tree('newline-name')
    encrypted(where, smuggled)
    encrypted(where, 'good.enc.yaml', SECRET.replace('name: app', 'name: good'))
    const out = join(dir, 'newline-out')
    const result = await migrate([where, '--no-apply', '--output-dir', out, '--yes', '--continue-on-error'])
    expect(result.code).toBe(1)
    expect(result.stdout).toContain('x\\n---\\napiVersion: v1\\nkind: Secret')
    expect(result.stdout).toContain('control characters')
    expect(result.stdout).not.toContain('\nkind: Secret\nmetadata: {name: smuggled')
    const written = readdirSync(out, {recursive: true}).map(String).filter((name) => name.endsWith('.yaml'))
    expect(written).toEqual(['apps/good.pushsecret.yaml'])
    const manifest = readFileSync(join(out, 'apps/good.pushsecret.yaml'), 'utf8')
    expect(manifest).not.toContain('smuggled')
    expect(manifest.split('\n')[0]).toMatch(/^# Generated by secrets-toolkit from \S*good\.enc\.yaml\. Holds no secret value\.$/)

    const strict = await migrate([where, '--dry-run'])
    expect(strict.code).toBe(2)
    expect(strict.stderr).toContain('x\\n---\\napiVersion')
    expect(strict.stderr).not.toContain('\nkind: Secret\nmetadata: {name: smuggled')
  })

  test('terminal escapes in a file name never reach the terminal raw', async () => {
    const where = tree('escape-name')
    encrypted(where, '\u001b[2J\u001b[31mred.enc.yaml')
    mkdirSync(join(where, 'link-dir'))
    symlinkSync('/etc/hostname', join(where, 'link-dir', '\u001b]0;title\u0007.yaml'))
    const result = await migrate([where, '--dry-run', '--continue-on-error'])
    expect(result.stdout + result.stderr).not.toContain('\u001b')
    expect(result.stdout + result.stderr).not.toContain('\u0007')
    expect(result.stdout).toContain('\\x1b[2J\\x1b[31mred.enc.yaml')
    expect(result.stdout).toContain('\\x1b]0;title\\x07.yaml: a symbolic link')
  })
})

describe('deep nesting', () => {
  const deepYaml = (levels: number, leaf: string) => {
    let text = ''
    for (let level = 0; level < levels; level++) text += `${' '.repeat(level)}k${level}:\n`
    return `${text}${' '.repeat(levels)}${leaf}\n`
  }

  test('3,000 levels with a real sops block: a per-file error naming the file; --continue-on-error migrates the rest', async () => {
    const where = tree('deep-3000')
    const real = readFileSync(encrypted(where, 'good.enc.yaml'), 'utf8')
    writeFileSync(join(where, 'deep.enc.yaml'), deepYaml(3000, 'ENC[AES256_GCM,data:AAAA,iv:AAAAAAAAAAAAAAAAAAAAAA==,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]') + real.slice(real.search(/^sops:/m)))
    for (const engine of ['sops', 'builtin']) {
      const result = await migrate([where, '--dry-run', '--continue-on-error', '--engine', engine])
      expect(result.code).toBe(1)
      expect(result.stdout).toContain('Secret apps/app')
      expect(result.stdout).toMatch(/Skipped 1 file\(s\)[^]*deep\.enc\.yaml/)
      const strict = await migrate([where, '--dry-run', '--engine', engine])
      expect(strict.code).toBe(2)
      expect(strict.stderr).toContain('deep.enc.yaml')
    }
    const builtin = await migrate([where, '--dry-run', '--continue-on-error', '--engine', 'builtin'])
    expect(builtin.stdout).toMatch(/deep\.enc\.yaml nests YAML deeper than 512 levels/)
  })

  test('a value nested 600 levels deep is an error with both engines, never a null that migrates as empty', async () => {
    const where = tree('deep-600')
    encrypted(where, 'deep.enc.yaml', deepYaml(600, CANARY), [])
    for (const engine of ['sops', 'builtin']) {
      const result = await migrate([where, '--dry-run', '--namespace', 'apps', '--engine', engine])
      expect(result.code).toBe(2)
      expect(result.stderr).toMatch(/deep\.enc\.yaml nests (YAML|values) deeper than 512 levels/)
    }
  })

  test("a nested map under a Secret's data: is an error, not an empty value", async () => {
    const where = tree('nested-data')
    encrypted(where, 'secret.enc.yaml', `apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\n  namespace: apps\ndata:\n  cert:\n    pem: ${CANARY}\n`)
    for (const engine of ['sops', 'builtin']) {
      const result = await migrate([where, '--dry-run', '--engine', engine])
      expect(result.code).toBe(2)
      expect(result.stderr).toContain('data.cert is a nested map, not a base64 string')
    }
  })
})

describe('detection', () => {
  test('a top-level key written "sops": or \'sops\': is a SOPS file, decrypted by both engines', async () => {
    for (const [name, spelling] of [['double', '"sops":'], ['single', "'sops':"]]) {
      const where = tree(`quoted-${name}`)
      const path = encrypted(where, 'secret.enc.yaml')
      writeFileSync(path, readFileSync(path, 'utf8').replace(/^sops:/m, spelling))
      for (const engine of ['sops', 'builtin']) {
        const result = await migrate([where, '--dry-run', '--engine', engine])
        expect(result.code).toBe(0)
        expect(result.stdout).toContain('Found 1 SOPS file(s)')
        expect(result.stdout).toContain('Secret apps/app')
      }
    }
  })

  test('pages that show a SOPS example are not SOPS files: only the real one is migrated', async () => {
    const where = tree('examples')
    const real = readFileSync(encrypted(where, 'secret.enc.yaml'), 'utf8')
    writeFileSync(join(where, 'runbook.md'), `# Rotating the password\n\nAfter \`sops encrypt\` the file reads:\n\n\`\`\`yaml\n${real}\`\`\`\n\nCommit it.\n`)
    writeFileSync(join(where, 'README.md'), `Example:\n\n    ${real.replaceAll('\n', '\n    ')}\n`)
    writeFileSync(join(where, 'docs.yaml'), `kind: Documentation\nexample: |\n  ${real.replaceAll('\n', '\n  ')}\n`)
    const result = await migrate([where, '--dry-run'])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('Found 1 SOPS file(s)')
    const only = await migrate([join(where, 'runbook.md'), '--dry-run'])
    expect(only.code).toBe(0)
    expect(only.stdout).toContain('No SOPS file to migrate')
  })
})

describe('catastrophic patterns', () => {
  test('encrypted_regex ^(a+)+$ with a 40-character key decrypts at once with the built-in engine', async () => {
    const where = tree('regex')
    encrypted(where, 'values.enc.yaml', `${'a'.repeat(40)}_b: plain\naaaa: ${CANARY}\n`, ['--encrypted-regex', '^(a+)+$'])
    const started = Date.now()
    const result = await migrate([where, '--dry-run', '--namespace', 'apps', '--engine', 'builtin'], {timeoutMs: 60_000})
    expect(result.code).toBe(0)
    expect(result.stdout).toContain(`keys: aaaa, ${'a'.repeat(40)}_b`)
    expect(Date.now() - started).toBeLessThan(30_000)
  })

  test('a pattern RE2 cannot compile is a per-file error naming the file and the field', async () => {
    const where = tree('regex-invalid')
    const path = encrypted(where, 'values.enc.yaml', `password: ${CANARY}\n`, ['--encrypted-regex', '^password$'])
    writeFileSync(path, readFileSync(path, 'utf8').replace(/encrypted_regex: .*/, "encrypted_regex: '(?=password)'"))
    const result = await migrate([where, '--dry-run', '--namespace', 'apps', '--engine', 'builtin'])
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/values\.enc\.yaml has a sops encrypted_regex that is not a valid RE2/)
  })

  test('a crafted 10 KB ENC[...] value is rejected at once', async () => {
    const where = tree('enc-value')
    const path = encrypted(where, 'values.enc.yaml', `password: ${CANARY}\n`, [])
    writeFileSync(path, readFileSync(path, 'utf8').replace(/^password: ENC\[.*$/m, `password: "ENC[AES256_GCM,data:${',iv:,tag:,type:'.repeat(700)}"`))
    const result = await migrate([where, '--dry-run', '--namespace', 'apps', '--engine', 'builtin'], {timeoutMs: 60_000})
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('the value at password in')
  })
})

describe('large files', () => {
  // How much memory stays reachable over many such files: test/local/hardening/migrate-memory.test.ts.
  test('a SOPS-marked file over 8 MiB is a per-file error naming it; --continue-on-error migrates the rest', async () => {
    const where = tree('large')
    const real = readFileSync(encrypted(where, 'secret.enc.yaml'), 'utf8')
    writeFileSync(join(where, 'huge.yaml'), `padding: ${'x'.repeat(9 * 1024 * 1024)}\n${real.slice(real.search(/^sops:/m))}`)
    writeFileSync(join(where, 'video.bin'), Buffer.alloc(9 * 1024 * 1024, 1))
    const result = await migrate([where, '--dry-run', '--continue-on-error'])
    expect(result.code).toBe(1)
    expect(result.stdout).toContain('Secret apps/app')
    expect(result.stdout).toMatch(/huge\.yaml is 9(\.0)? MiB, over the 8 MiB limit for a SOPS file \[FILE_TOO_LARGE\]/)
    expect(result.stdout).toMatch(/note: skipped \S*video\.bin: 9 MiB, over the 8 MiB limit for a SOPS file \(no sops marks/)
    const strict = await migrate([where, '--dry-run'])
    expect(strict.code).toBe(2)
    expect(strict.stderr).toMatch(/huge\.yaml is 9(\.0)? MiB, over the 8 MiB limit for a SOPS file/)
  })
})
