import {execFileSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {builtCli, runCli, type CliResult} from '../../helpers/cli.js'

// Credentials in parse errors and addresses, through the built CLI (`npm run build` first):
// files that can hold credentials are broken in every way the parsers
// report, with a canary where the credential sits; neither stdout nor
// stderr, human or --json, may show it. Vault addresses with a password
// are refused by field name, never printed.
const TOKEN = 'tokcanary4f2d8e1a9b'
const PASSWORD = 'pwcanary7c31e05b'

const dir = mkdtempSync(join(tmpdir(), 'leaks-cli-'))
const home = join(dir, 'home')
mkdirSync(home)

function file(name: string, text: string): string {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

// Nothing from the developer's environment decides which files are read.
const ENV: NodeJS.ProcessEnv = {HOME: home, KUBECONFIG: '', SECRETS_TOOLKIT_CONFIG: '', VAULT_ADDR: '', VAULT_TOKEN: '', SECRETS_TOOLKIT_REGION1_VAULT_TOKEN: 'not-a-real-token'}

const GOOD_CONFIG = file('good.yaml', 'regions:\n  - name: region1\n    clusterSecretStore: vault-region1\n    vault: {address: "http://127.0.0.1:9", auth: {method: token}}\n')

const KUBECONFIG_HEAD = 'apiVersion: v1\nclusters:\n- name: c\n  cluster: {server: "https://127.0.0.1:9"}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\nusers:\n- name: u\n  user:\n'
const BROKEN_KUBECONFIGS: Array<[string, string]> = [
  ['an invalid escape in the quoted token', `${KUBECONFIG_HEAD}    token: "${TOKEN}\\q"\n`],
  ['bad indentation after the token', `${KUBECONFIG_HEAD}    token: ${TOKEN}\n   password: x\n`],
  ['an unclosed quote', `${KUBECONFIG_HEAD}    token: "${TOKEN}\n`],
  ['a tab before the token', `${KUBECONFIG_HEAD}\ttoken: ${TOKEN}\n`],
  // Parses for us; the Kubernetes client's parser (js-yaml) refuses it with a code frame.
  ['an unknown tag on the token', `${KUBECONFIG_HEAD}    token: !vault ${TOKEN}\n`],
  ['a merge key that is not a mapping', `${KUBECONFIG_HEAD}    <<: ${TOKEN}\n`],
]

const BROKEN_YAML: Array<[string, string]> = [
  ['an invalid escape', `regions:\n  - name: region1\n    token: "${TOKEN}\\q"\n`],
  ['bad indentation', `regions:\n  - name: region1\n    token: ${TOKEN}\n   x: 1\n`],
  ['an unclosed flow mapping', `regions: [{name: region1, token: ${TOKEN}\n`],
  ['an undefined alias', `regions: *${TOKEN}\n`],
  ['a block scalar header with extra characters', `regions: |${TOKEN}\n  x\n`],
]

function expectNoLeak(result: CliResult, canary: string): void {
  expect(result.stdout).not.toContain(canary)
  expect(result.stderr).not.toContain(canary)
}

async function both(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{human: CliResult; json: CliResult}> {
  const [human, json] = await Promise.all([runCli(args, {env: {...ENV, ...env}, cwd: dir}), runCli([...args, '--json'], {env: {...ENV, ...env}, cwd: dir})])
  return {human, json}
}

function jsonError(result: CliResult): {code: string; message: string; hint?: string} {
  return (JSON.parse(result.stdout) as {error: {code: string; message: string; hint?: string}}).error
}



describe('a broken kubeconfig never shows its text', () => {
  test.each(BROKEN_KUBECONFIGS)('--kubeconfig with %s', async (name, text) => {
    const kubeconfig = file(`kube-${name.replaceAll(' ', '-')}.yaml`, text)
    const {human, json} = await both(['bootstrap', '--dry-run', '--config', GOOD_CONFIG, '--kubeconfig', kubeconfig])
    for (const result of [human, json]) {
      expect(result.code).toBe(2)
      expectNoLeak(result, TOKEN)
    }
    expect(human.stderr).toMatch(/Error: kubeconfig .* is not valid YAML at line 1[23], column \d+: /)
    expect(jsonError(json)).toMatchObject({code: 'KUBECONFIG_INVALID'})
    expect(jsonError(json).message).toContain(kubeconfig)
  })

  test('from $KUBECONFIG (two files, the second broken) and from ~/.kube/config', async () => {
    const good = file('kube-good.yaml', `${KUBECONFIG_HEAD}    token: fine\n`)
    const broken = file('kube-second.yaml', `apiVersion: v1\nusers:\n- name: other\n  user:\n    token: "${TOKEN}\\q"\n`)
    const fromEnv = await both(['migrate', 'verify', '--config', GOOD_CONFIG], {KUBECONFIG: `${good}:${broken}`})
    mkdirSync(join(home, '.kube'), {recursive: true})
    writeFileSync(join(home, '.kube', 'config'), `${KUBECONFIG_HEAD}    token: ${TOKEN}\n   password: x\n`)
    const fromHome = await both(['migrate', 'verify', '--config', GOOD_CONFIG])
    for (const result of [fromEnv.human, fromEnv.json, fromHome.human, fromHome.json]) {
      expect(result.code).toBe(2)
      expectNoLeak(result, TOKEN)
    }
    expect(fromEnv.human.stderr).toContain(`kubeconfig ${broken} is not valid YAML at line 5`)
    expect(fromHome.human.stderr).toContain(`kubeconfig ${join(home, '.kube', 'config')} is not valid YAML at line 13`)
  })
})

describe('a broken configuration or bootstrap spec never shows its text', () => {
  test.each(BROKEN_YAML)('--config with %s', async (name, text) => {
    const config = file(`config-${name.replaceAll(' ', '-')}.yaml`, text)
    const {human, json} = await both(['verify', 'regions', '--config', config])
    for (const result of [human, json]) {
      expect(result.code).toBe(2)
      expectNoLeak(result, TOKEN)
    }
    expect(human.stderr).toMatch(/is not valid YAML at line \d+, column \d+: /)
    expect(jsonError(json).code).toBe('CONFIG_INVALID')
  })

  test.each(BROKEN_YAML)('--spec with %s', async (name, text) => {
    const spec = file(`spec-${name.replaceAll(' ', '-')}.yaml`, text.replace('regions', 'secrets'))
    const {human, json} = await both(['bootstrap', '--spec', spec, '--dry-run', '--config', GOOD_CONFIG])
    for (const result of [human, json]) {
      expect(result.code).toBe(2)
      expectNoLeak(result, TOKEN)
    }
    expect(human.stderr).toMatch(/bootstrap spec .* is not valid YAML at line \d+, column \d+: /)
    expect(jsonError(json).code).toBe('SPEC_INVALID')
  })
})

describe('a Vault address with a password is refused by field name and never printed', () => {
  const withPassword = file('userinfo.yaml', `regions:\n  - name: region1\n    clusterSecretStore: vault-region1\n    vault: {address: "https://admin:${PASSWORD}@127.0.0.1:9", auth: {method: token}}\n`)

  test.each([
    ['verify regions', ['verify', 'regions', '--config', withPassword]],
    ['dr snapshot', ['dr', 'snapshot', '--region', 'region1', '--out', join(dir, 'snapshots'), '--config', withPassword]],
    ['bootstrap --output-dir', ['bootstrap', '--output-dir', join(dir, 'out'), '--config', withPassword]],
  ])('%s', async (_name, args) => {
    const {human, json} = await both(args)
    for (const result of [human, json]) {
      expect(result.code).toBe(2)
      expectNoLeak(result, PASSWORD)
    }
    expect(human.stderr).toContain('regions[0].vault.address: must not contain a user name or password')
    expect(jsonError(json).code).toBe('CONFIG_INVALID')
  })

  test('VAULT_ADDR with a password', async () => {
    const {human, json} = await both(['dr', 'snapshot', '--region', 'default', '--out', join(dir, 'snapshots')], {VAULT_ADDR: `https://root:${PASSWORD}@127.0.0.1:9`})
    for (const result of [human, json]) {
      expect(result.code).toBe(2)
      expectNoLeak(result, PASSWORD)
    }
    expect(human.stderr).toContain('environment (VAULT_ADDR) has 1 problem(s)')
  })

  test('bootstrap --init-vault on a terminal', () => {
    // --init-vault insists on a terminal before it reads the configuration; `script` gives it one.
    const command = [process.execPath, builtCli(), 'bootstrap', '--init-vault', 'region1', '--config', withPassword].map((arg) => `'${arg}'`).join(' ')
    let output = ''
    let code = 0
    try {
      output = execFileSync('script', ['-q', '-e', '-c', command, '/dev/null'], {cwd: dir, env: {...process.env, ...ENV, NO_COLOR: '1'}, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], input: '', timeout: 60_000})
    } catch (error) {
      const failure = error as {status: number; stdout: string; stderr: string}
      code = failure.status
      output = `${failure.stdout}${failure.stderr}`
    }
    expect(code).toBe(2)
    expect(output).toContain('regions[0].vault.address: must not contain a user name or password')
    expect(output).not.toContain(PASSWORD)
  })
})
