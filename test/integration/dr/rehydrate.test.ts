// Cluster loss, for real: Secrets migrated from SOPS (manifests with labels, a
// dockerconfigjson, per-key remote keys) and a bootstrap-generated password
// live in cluster A and both Vaults; cluster A is stopped and a new cluster B
// starts on an empty etcd with only the GitOps manifests applied; `dr
// rehydrate --source` brings every Secret back — values, type, labels, and
// the generated password from before the loss, which ESO (started after)
// keeps. Then drift between the regions, with and without --from.
import {randomBytes} from 'node:crypto'
import {mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

import {parseAllDocuments} from 'yaml'

import {EXTERNAL_SECRET_API_VERSION} from '../../../src/lib/eso/api.js'
import type {KubeClient, KubeObject} from '../../../src/lib/kube/client.js'
import {SecretValue} from '../../../src/lib/secret/secret-value.js'
import {startFreshCluster, type FreshCluster} from '../../env/cluster.js'
import {runCli, type CliResult} from '../../helpers/cli.js'
import {testEnv} from '../../helpers/env.js'
import {newAgeKey, sopsEncrypt} from '../../helpers/sops-files.js'
import {requireBuiltCli, store, workDir, writeConfig} from './fixture.js'
import {expectExit, watchProcessArguments} from './rehydrate-fixture.js'

const TIMEOUT_MS = 900_000


const run = randomBytes(3).toString('hex')
const MARK = `canary${run}`
const canary = (name: string) => `${MARK}-${name}`
const NS = `rh-${run}`
const NS_KEYS = `rh-${run}-k`
const NS_GEN = `rh-${run}-g`

function manifestFiles(dir: string): string[] {
  return readdirSync(dir, {recursive: true, withFileTypes: true})
    .filter((entry) => entry.isFile() && /\.ya?ml$/.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name))
}

async function secretStrings(kube: KubeClient, namespace: string, name: string): Promise<Record<string, string> | undefined> {
  const secret = await kube.getSecret(namespace, name)
  return secret ? Object.fromEntries([...secret.data].map(([key, value]) => [key, value.revealString()])) : undefined
}

describe('dr rehydrate: a lost cluster rebuilt from the regional Vaults (real environment)', () => {
  const env = testEnv()
  const region1 = env.regions.find((region) => region.name === 'region1')!
  const region2 = env.regions.find((region) => region.name === 'region2')!
  const stores = env.regions.map((region) => ({storeName: region.clusterSecretStore, address: region.address, mount: region.mount, token: region.token}))
  const binaries = {etcd: env.binaries.etcd, kubeApiServer: env.binaries['kube-apiserver'], eso: env.binaries.eso}
  const dir = workDir('rehydrate')
  const gitops = join(dir, 'gitops')
  const {config, env: tokenEnv} = writeConfig(dir, env.regions)
  const outputs: CliResult[] = []
  const processArguments = watchProcessArguments()
  let keyFile = ''
  let clusterA: FreshCluster | undefined
  let clusterB: FreshCluster | undefined
  const before: Record<string, Record<string, string>> = {}

  const cli = async (cluster: FreshCluster, args: string[]) => {
    const result = await runCli([...args, '--config', config, '--kubeconfig', cluster.kubeconfig], {env: {...tokenEnv, SOPS_AGE_KEY_FILE: keyFile}})
    outputs.push(result)
    return result
  }

  beforeAll(async () => {
    requireBuiltCli()
    const key = await newAgeKey()
    keyFile = join(dir, 'age-key.txt')
    writeFileSync(keyFile, `${key.identity}\n`, {mode: 0o600})
    // Outside test-output/: migrate honours .gitignore, which hides the run directory.
    const sources = join(mkdtempSync(join(tmpdir(), 'secrets-rehydrate-it-')), 'sops')
    const put = (path: string, content: Buffer | string) => {
      mkdirSync(resolve(sources, path, '..'), {recursive: true})
      writeFileSync(join(sources, path), content)
    }
    const regex = '^(data|stringData)$'
    const dockerConfig = JSON.stringify({auths: {'registry.example.com': {auth: Buffer.from(`robot:${canary('registry')}`).toString('base64')}}})
    put(
      'apps/secrets.yaml',
      sopsEncrypt(
        `apiVersion: v1\nkind: Secret\nmetadata:\n  name: app-db\n  namespace: ${NS}\n  labels: {app: db, tier: data}\ntype: Opaque\nstringData:\n  username: ${canary('db-user')}\n  password: ${canary('db-password')}\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: registry\n  namespace: ${NS}\n  labels: {app: registry}\ntype: kubernetes.io/dockerconfigjson\nstringData:\n  .dockerconfigjson: '${dockerConfig}'\n`,
        {recipient: key.recipient, type: 'yaml', encryptedRegex: regex},
      ),
    )
    put('keys/api.enc.json', sopsEncrypt(JSON.stringify({api_key: canary('api'), webhook: canary('webhook')}), {recipient: key.recipient, type: 'json'}))
    const spec = join(dir, 'bootstrap.yaml')
    writeFileSync(spec, `secrets:\n  - namespace: ${NS_GEN}\n    name: db-generated\n    generatedInCluster: true\n    keys:\n      - {key: password, source: generate, generate: {length: 40, digits: 10, symbols: 0}}\n`)

    clusterA = await startFreshCluster({name: `cluster-a-${run}`, parentDir: dir, binaries, stores})
    const migrated = await cli(clusterA, ['migrate', 'sops', join(sources, 'apps'), '--output-dir', join(gitops, 'apps'), '--create-namespaces', '--yes'])
    expectExit(migrated, 0)
    if (!(await clusterA.kube.getSecret(NS, 'app-db'))) throw new Error(`migrate sops wrote no Secret app-db:\n${migrated.stdout}\n${migrated.stderr}`)
    expect(
      await cli(clusterA, ['migrate', 'sops', join(sources, 'keys'), '--namespace', NS_KEYS, '--remote-key-template', '{namespace}/{name}/{key}', '--output-dir', join(gitops, 'keys'), '--create-namespaces', '--yes']),
    ).toMatchObject({code: 0})
    expectExit(await cli(clusterA, ['bootstrap', '--spec', spec, '--output-dir', join(gitops, 'generated')]), 0)
    await clusterA.kube.ensureNamespace(NS_GEN)
    for (const file of manifestFiles(join(gitops, 'generated'))) for (const document of parseAllDocuments(readFileSync(file, 'utf8'))) await clusterA.kube.apply(document.toJS())
    for (const deadline = Date.now() + 120_000; Date.now() < deadline && !(await secretStrings(clusterA.kube, NS_GEN, 'db-generated'))?.password; ) await sleep(500)
    const verify = await cli(clusterA, ['migrate', 'verify', `${NS}/app-db`, `${NS}/registry`, `${NS_KEYS}/api`, `${NS_GEN}/db-generated`, '--wait', '3m'])
    expectExit(verify, 0)
    for (const [namespace, name] of [[NS, 'app-db'], [NS, 'registry'], [NS_KEYS, 'api'], [NS_GEN, 'db-generated']]) before[`${namespace}/${name}`] = (await secretStrings(clusterA.kube, namespace, name))!
  }, TIMEOUT_MS)

  afterAll(async () => {
    processArguments.stop()
    await clusterA?.stop()
    await clusterB?.stop()
  }, 120_000)

  test('the cluster is replaced: rehydrate --source brings every Secret back (values, type, labels, the generated password), ESO keeps them, both Vaults unchanged', async () => {
    const secretA = await clusterA!.kube.getSecret(NS, 'registry')
    expect(secretA?.type).toBe('kubernetes.io/dockerconfigjson')
    await clusterA!.stop()
    clusterA = undefined
    // The new cluster: empty etcd, CRDs and stores, the GitOps manifests — and no ESO yet (the runbook's order).
    clusterB = await startFreshCluster({name: `cluster-b-${run}`, parentDir: dir, binaries, stores, eso: false})
    for (const namespace of [NS, NS_KEYS, NS_GEN]) await clusterB.kube.ensureNamespace(namespace)
    for (const file of manifestFiles(gitops)) for (const document of parseAllDocuments(readFileSync(file, 'utf8'))) await clusterB.kube.apply(document.toJS() as KubeObject)
    expect(await clusterB.kube.getSecret(NS, 'app-db')).toBeUndefined()

    const dryRun = await cli(clusterB, ['dr', 'rehydrate', '--source', gitops, '--dry-run', '--json'])
    expectExit(dryRun, 0)
    expect(JSON.parse(dryRun.stdout).counts).toEqual({create: 4})
    expect(await clusterB.kube.getSecret(NS, 'app-db')).toBeUndefined()

    const result = await cli(clusterB, ['dr', 'rehydrate', '--source', gitops, '--yes'])
    expectExit(result, 0)
    for (const [id, values] of Object.entries(before)) {
      const [namespace, name] = id.split('/')
      expect(await secretStrings(clusterB.kube, namespace, name)).toEqual(values)
    }
    const registry = await clusterB.kube.getSecret(NS, 'registry')
    expect(registry?.type).toBe('kubernetes.io/dockerconfigjson')
    expect(registry?.labels).toMatchObject({app: 'registry'})
    expect((await clusterB.kube.getSecret(NS, 'app-db'))?.labels).toMatchObject({app: 'db', tier: 'data'})

    // ESO starts only now: it must find the generated Secret created, not generate a new password.
    await clusterB.waitForStores()
    for (let round = 0; round < 20; round++) {
      const es = await clusterB.kube.read(EXTERNAL_SECRET_API_VERSION, 'ExternalSecret', 'db-generated', NS_GEN)
      const labels = (await clusterB.kube.getSecret(NS_GEN, 'db-generated'))?.labels ?? {}
      if (es?.metadata?.finalizers?.length || labels['reconcile.external-secrets.io/managed']) break
      await sleep(500)
    }
    await sleep(5000)
    expect(await secretStrings(clusterB.kube, NS_GEN, 'db-generated')).toEqual(before[`${NS_GEN}/db-generated`])
    const verify = await cli(clusterB, ['migrate', 'verify', `${NS}/app-db`, `${NS}/registry`, `${NS_KEYS}/api`, `${NS_GEN}/db-generated`, '--wait', '3m'])
    expectExit(verify, 0)
    for (const region of [region1, region2]) {
      const kv = store(region.name, region.address, region.token)
      expect((await kv.read(`${NS_GEN}/db-generated`))?.data.get('password')?.revealString()).toBe(before[`${NS_GEN}/db-generated`].password)
      expect((await kv.read(`${NS}/app-db`))?.data.get('password')?.revealString()).toBe(canary('db-password'))
      expect((await kv.read(`${NS_KEYS}/api/api_key`))?.data.get('api_key')?.revealString()).toBe(canary('api'))
      await kv.close()
    }
  }, TIMEOUT_MS)

  test('drift between regions: without --from exit 1 and nothing written; --from region1 restores; a re-run changes nothing', async () => {
    const kube = clusterB!.kube
    const kv2 = store('region2', region2.address, region2.token)
    const held = (await kv2.read(`${NS}/app-db`))!
    await kv2.write(`${NS}/app-db`, new Map([...held.data, ['password', SecretValue.fromString(canary('drifted'))]]))
    await kube.delete('v1', 'Secret', 'app-db', NS)

    const refused = await cli(clusterB!, ['dr', 'rehydrate', '--source', gitops, '--yes'])
    expectExit(refused, 1)
    expect(refused.stdout).toContain(`${NS}/app-db`)
    expect(refused.stdout).toMatch(/key password: region1 and region2 hold different values/)
    expect(await kube.getSecret(NS, 'app-db')).toBeUndefined()

    const fromRegion1 = await cli(clusterB!, ['dr', 'rehydrate', '--source', gitops, '--from', 'region1', '--yes'])
    expectExit(fromRegion1, 0)
    expect(fromRegion1.stdout).toMatch(/key password: differs in region region2/)
    expect((await secretStrings(kube, NS, 'app-db'))?.password).toBe(canary('db-password'))

    const again = await cli(clusterB!, ['dr', 'rehydrate', '--source', gitops, '--from', 'region1', '--yes', '--json'])
    expectExit(again, 0)
    const report = JSON.parse(again.stdout)
    expect(report.counts).toEqual({unchanged: 4})
    expect(report.applied.written).toEqual([])
    // The same map read from the cluster's PushSecrets instead of the manifests.
    const fromCluster = await cli(clusterB!, ['dr', 'rehydrate', '--from-cluster', '--from', 'region1', '--yes', '--json'])
    expectExit(fromCluster, 0)
    expect(JSON.parse(fromCluster.stdout).counts).toEqual({unchanged: 4})
    // Put region2 back as ESO would on its next refresh.
    await kv2.write(`${NS}/app-db`, held.data)
    await kv2.close()
  }, TIMEOUT_MS)

  test('no value in any output or process argument', () => {
    const values = [...Object.values(before).flatMap((secret) => Object.values(secret)), canary('drifted')]
    for (const output of outputs) {
      for (const value of values) {
        expect(output.stdout.includes(value) || output.stderr.includes(value)).toBe(false)
        expect(output.stdout.includes(Buffer.from(value).toString('base64'))).toBe(false)
      }
      expect(output.stdout + output.stderr).not.toContain(MARK)
    }
    expect(processArguments.seen().filter((args) => args.includes(MARK) || values.some((value) => args.includes(value)))).toEqual([])
    expect(processArguments.seen().length).toBeGreaterThan(0)
  })
})
