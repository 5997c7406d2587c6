import {randomBytes} from 'node:crypto'
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'

import {loadConfig} from '../../../src/lib/config/load.js'
import {PUSH_SECRET_API_VERSION} from '../../../src/lib/eso/api.js'
import {KubeClient} from '../../../src/lib/kube/client.js'
import {SecretValue} from '../../../src/lib/secret/secret-value.js'
import {connectRegion, type RegionVault} from '../../../src/lib/vault/connect.js'
import {PROJECT_ROOT} from '../../helpers/binaries.js'
import {runCli, type CliResult} from '../../helpers/cli.js'
import {testEnv} from '../../helpers/env.js'
import {expectNoCanary} from '../../helpers/canary.js'
import {newAgeKey, sopsEncrypt, type AgeKey} from '../../helpers/sops-files.js'

const run = randomBytes(3).toString('hex')
// Canaries: every secret value in this test carries the marker, so one scan finds any leak.
const MARK = `canary${run}`
const canary = (name: string) => `${MARK}-${name}`
const NS = `mig-${run}`
const NS_MANIFEST = `mig-${run}-m`
// The Secrets this file migrates: verify names them, since other files migrate into the same shared cluster.
const MIGRATED = [`${NS}/api`, `${NS}/conf`, `${NS}/values`, `${NS}/weird-name`, `${NS_MANIFEST}/db`, `${NS_MANIFEST}/first`, `${NS_MANIFEST}/second`]

function files(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir, {recursive: true, withFileTypes: true})
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
}

describe('migrate sops → ESO → both Vaults, then migrate verify (real environment)', () => {
  const env = testEnv()
  const cliEnv = {...env.tokenEnv, KUBECONFIG: env.kubeconfig}
  const config = loadConfig({path: env.configPath}).config
  const kube = KubeClient.connect({kubeconfig: env.kubeconfig})
  let key: AgeKey
  let keyFile: string
  let tree: string
  let outputDir: string
  const outputs: CliResult[] = []
  const vaults: RegionVault[] = []

  const cli = async (args: string[], extraEnv: Record<string, string> = {}) => {
    const result = await runCli([...args, '--config', env.configPath], {env: {...cliEnv, SOPS_AGE_KEY_FILE: keyFile, ...extraEnv}})
    outputs.push(result)
    return result
  }

  beforeAll(async () => {
    key = await newAgeKey()
    const work = mkdtempSync(join(tmpdir(), 'secrets-migrate-it-'))
    keyFile = join(work, 'test-age-key.txt')
    writeFileSync(keyFile, `${key.identity}\n`, {mode: 0o600})
    tree = join(work, 'gitops')
    outputDir = join(work, 'pushsecrets')
    const put = (path: string, content: Buffer | string) => {
      mkdirSync(resolve(tree, path, '..'), {recursive: true})
      writeFileSync(join(tree, path), content)
    }
    const regex = '^(data|stringData)$'
    put(
      'apps/db.sops.yaml',
      sopsEncrypt(
        `apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: ${NS_MANIFEST}\n  labels: {app: db}\ntype: Opaque\ndata:\n  username: ${Buffer.from(canary('user')).toString('base64')}\n  password: ${Buffer.from('overridden').toString('base64')}\nstringData:\n  password: ${canary('db-password')}\n`,
        {recipient: key.recipient, type: 'yaml', encryptedRegex: regex},
      ),
    )
    put(
      'apps/multi.yaml',
      sopsEncrypt(
        `apiVersion: v1\nkind: Secret\nmetadata: {name: first, namespace: ${NS_MANIFEST}}\nstringData: {token: ${canary('first')}}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: second, namespace: ${NS_MANIFEST}}\ndata: {cert: ${Buffer.from(canary('second')).toString('base64')}}\n`,
        {recipient: key.recipient, type: 'yaml', encryptedRegex: regex},
      ),
    )
    put('apps/api.enc.json', sopsEncrypt(JSON.stringify({api_key: canary('api'), nested: {webhook: canary('webhook'), retries: 3}}), {recipient: key.recipient, type: 'json'}))
    put('apps/Weird Name.env', sopsEncrypt(`PASSWORD=${canary('dotenv')}\nUSER=admin\n`, {recipient: key.recipient, type: 'dotenv'}))
    put('apps/conf.ini', sopsEncrypt(`[database]\npassword = ${canary('ini')}\n`, {recipient: key.recipient, type: 'ini'}))
    put('nested/deep/dir/values.sops.yml.j2', sopsEncrypt(`app_secret: ${canary('deep')}\n`, {recipient: key.recipient, type: 'yaml'}))
    put('ignored/skip.yaml', sopsEncrypt(`never: ${canary('ignored')}\n`, {recipient: key.recipient, type: 'yaml'}))
    put('.gitignore', 'ignored/\n')
    put('.sops.yaml', `creation_rules:\n  - age: ${key.recipient}\n`)
    put('README.md', 'not a secret\n')
    for (const region of config.regions) vaults.push(await connectRegion(region, {env: env.tokenEnv}))
  })

  afterAll(async () => {
    await Promise.all(vaults.map((vault) => vault.close()))
    // Every output of every run, and every file the runs wrote, is free of values.
    expectNoCanary(outputs.flatMap((output) => [output.stdout, output.stderr]), [MARK])
    expectNoCanary(files(outputDir).map((file) => readFileSync(file, 'utf8')), [MARK])
  })

  test('--dry-run prints the plan (names only) and contacts nothing', async () => {
    const result = await cli(['migrate', 'sops', tree, '--namespace', NS, '--dry-run'])
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    expect(result.stdout).toContain(`Secret ${NS_MANIFEST}/db (Opaque), keys: password, username`)
    expect(result.stdout).toContain(`Secret ${NS}/weird-name (Opaque), keys: PASSWORD, USER`)
    expect(result.stdout).toContain(`region2 (vault-region2): secret/${NS}/api [api_key, nested]`)
    expect(result.stdout).toContain('.sops.yaml')
    expect(result.stdout).not.toContain('skip')
    expect(await kube.namespaceExists(NS)).toBe(false)
  })

  test('migrates every format; ESO pushes to both regions; verify exits 0', async () => {
    const result = await cli(['migrate', 'sops', tree, '--namespace', NS, '--create-namespaces', '--output-dir', outputDir, '--yes', '--json'])
    expect(result.code).toBe(0)
    const report = JSON.parse(result.stdout)
    const ids = report.secrets.map((s: {namespace: string; name: string}) => `${s.namespace}/${s.name}`).sort()
    expect(ids).toEqual([`${NS}/api`, `${NS}/conf`, `${NS}/values`, `${NS}/weird-name`, `${NS_MANIFEST}/db`, `${NS_MANIFEST}/first`, `${NS_MANIFEST}/second`].sort())
    expect(report.result.secrets.create).toBe(7)

    const db = await kube.getSecret(NS_MANIFEST, 'db')
    expect(db?.data.get('password')?.revealString()).toBe(canary('db-password'))
    expect(db?.data.get('username')?.revealString()).toBe(canary('user'))
    expect(db?.labels.app).toBe('db')
    const api = await kube.getSecret(NS, 'api')
    expect(JSON.parse(api!.data.get('nested')!.revealString())).toEqual({webhook: canary('webhook'), retries: 3})
    expect((await kube.getSecret(NS, 'conf'))?.data.get('database.password')?.revealString()).toBe(canary('ini'))
    const pushSecret = await kube.read(PUSH_SECRET_API_VERSION, 'PushSecret', 'db', NS_MANIFEST)
    expect((pushSecret?.spec?.secretStoreRefs as {name: string}[]).map((ref) => ref.name).sort()).toEqual(['vault-region1', 'vault-region2'])
    expect(files(outputDir)).toHaveLength(7)

    const verify = await cli(['migrate', 'verify', ...MIGRATED, '--wait', '150s', '--json'])
    const verified = JSON.parse(verify.stdout)
    expect(verified.rows.filter((row: {status: string}) => row.status !== 'in-sync')).toEqual([])
    expect(verify.code).toBe(0)
    // And the values really are in both Vaults, at {namespace}/{name}, one property per key.
    for (const vault of vaults) {
      const record = await vault.store.read(`${NS_MANIFEST}/db`)
      expect(record?.data.get('password')?.equals(SecretValue.fromString(canary('db-password')))).toBe(true)
    }
  }, 300_000)

  test('a re-run changes nothing and says so; verify --source compares with the SOPS files', async () => {
    const again = await cli(['migrate', 'sops', tree, '--namespace', NS, '--yes'])
    expect(again.code).toBe(0)
    expect(again.stdout).toContain('Nothing to change')
    const verify = await cli(['migrate', 'verify', '--source', tree, '--source-namespace', NS])
    expect(verify.code).toBe(0)
  })

  test('a value tampered in region2 makes verify exit 1, naming secret, key and region', async () => {
    const region2 = vaults.find((vault) => vault.region.name === 'region2')!
    const current = await region2.store.read(`${NS}/api`)
    const data = new Map(current!.data)
    data.set('api_key', SecretValue.fromString(canary('tampered')))
    await region2.store.write(`${NS}/api`, data)
    const verify = await cli(['migrate', 'verify', ...MIGRATED, '--json'])
    expect(verify.code).toBe(1)
    const rows = JSON.parse(verify.stdout).rows.filter((row: {status: string}) => row.status !== 'in-sync')
    expect(rows).toEqual([{secret: `${NS}/api`, where: 'region region2', status: 'value-differs', keys: ['api_key']}])
    const human = await cli(['migrate', 'verify', ...MIGRATED])
    expect(human.code).toBe(1)
    expect(human.stdout).toMatch(new RegExp(`${NS}/api\\s+region region2\\s+value-differs\\s+api_key`))
  })

  test('a changed source needs --overwrite; then ESO pushes the new value to both regions at once', async () => {
    writeFileSync(join(tree, 'apps/api.enc.json'), sopsEncrypt(JSON.stringify({api_key: canary('api-rotated'), nested: {webhook: canary('webhook'), retries: 3}}), {recipient: key.recipient, type: 'json'}))
    const refused = await cli(['migrate', 'sops', tree, '--namespace', NS, '--yes'])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain(`Secret ${NS}/api already exists with different content`)
    expect((await kube.getSecret(NS, 'api'))?.data.get('api_key')?.revealString()).toBe(canary('api'))
    const overwritten = await cli(['migrate', 'sops', tree, '--namespace', NS, '--yes', '--overwrite'])
    expect(overwritten.code).toBe(0)
    // The PushSecret's refreshInterval is 1h: only an immediate push makes this pass within the wait.
    const verify = await cli(['migrate', 'verify', '--wait', '90s', '--source', tree, '--source-namespace', NS])
    expect(verify.code).toBe(0)
    for (const vault of vaults) {
      expect((await vault.store.read(`${NS}/api`))?.data.get('api_key')?.equals(SecretValue.fromString(canary('api-rotated')))).toBe(true)
    }
  }, 200_000)

  describe('bad input stops the run before anything is written', () => {
    const cases: [string, (k: AgeKey) => Promise<Buffer>, RegExp][] = [
      [
        'a MAC mismatch',
        async () => readFileSync(resolve(PROJECT_ROOT, '..', 'shared/fixtures/sops-real/derived/flux-age.name-prefixed.mac-mismatch.yaml')),
        /MAC/,
      ],
      ['a wrong key', async () => sopsEncrypt(`k: ${canary('wrong-key')}\n`, {recipient: (await newAgeKey()).recipient, type: 'yaml'}), /NO_KEY|no key/i],
      ['a bad name', async (k) => sopsEncrypt(`apiVersion: v1\nkind: Secret\nmetadata: {name: Bad_Name, namespace: x}\nstringData: {k: ${canary('bad-name')}}\n`, {recipient: k.recipient, type: 'yaml'}), /Bad_Name/],
    ]
    test.each(cases)('%s', async (_what, make, message) => {
      const dir = mkdtempSync(join(tmpdir(), 'secrets-migrate-bad-'))
      const ns = `bad-${randomBytes(3).toString('hex')}`
      writeFileSync(join(dir, 'good.yaml'), sopsEncrypt(`ok: ${canary('good')}\n`, {recipient: key.recipient, type: 'yaml'}))
      writeFileSync(join(dir, 'bad.yaml'), await make(key))
      const fluxKey = resolve(PROJECT_ROOT, '..', 'shared/fixtures/sops-real/fluxcd__kustomize-controller/internal/controller/testdata/sops/keys/age.txt')
      const result = await cli(['migrate', 'sops', dir, '--namespace', ns, '--create-namespaces', '--output-dir', join(dir, 'out'), '--yes'], {
        SOPS_AGE_KEY: `${key.identity}\n${readFileSync(fluxKey, 'utf8')}`,
      })
      expect(result.code).toBe(2)
      expect(result.stderr).toMatch(message)
      expect(result.stderr).toContain('bad.yaml')
      expect(result.stderr).toContain('nothing was written')
      expect(await kube.namespaceExists(ns)).toBe(false)
      expect(readdirSync(dir)).toEqual(['bad.yaml', 'good.yaml'])
      rmSync(dir, {recursive: true, force: true})
    })
  })
})
