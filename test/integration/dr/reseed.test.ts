// Vault loss, for real: Secrets migrated to region1 (the shared server) and a
// region2 server of this test's own; region2 is then replaced by a new, empty
// Raft server and its ClusterSecretStore pointed at it. `dr reseed --region
// region2` makes ESO push everything now, waits until region2 holds every
// value, and `verify regions` then finds both regions in sync.
import {randomBytes} from 'node:crypto'
import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {applyClusterSecretStore} from '../../env/eso.js'
import {startFreshCluster, type FreshCluster} from '../../env/cluster.js'
import {runCli, type CliResult} from '../../helpers/cli.js'
import {testEnv} from '../../helpers/env.js'
import {newAgeKey, sopsEncrypt} from '../../helpers/sops-files.js'
import {startVaultServer, type VaultServerHandle} from '../../helpers/vault-server.js'
import {requireBuiltCli, store, workDir, writeConfig} from './fixture.js'
import {expectExit, watchProcessArguments} from './rehydrate-fixture.js'

const TIMEOUT_MS = 900_000

const run = randomBytes(3).toString('hex')
const MARK = `canary${run}`
const canary = (name: string) => `${MARK}-${name}`
const NS = `rs-${run}`

describe('dr reseed: a region rebuilt empty is refilled from Kubernetes (real environment)', () => {
  const env = testEnv()
  const region1 = env.regions.find((region) => region.name === 'region1')!
  const binaries = {etcd: env.binaries.etcd, kubeApiServer: env.binaries['kube-apiserver'], eso: env.binaries.eso}
  const dir = workDir('reseed')
  const outputs: CliResult[] = []
  const processArguments = watchProcessArguments()
  let cluster: FreshCluster | undefined
  let oldRegion2: VaultServerHandle | undefined
  let newRegion2: VaultServerHandle | undefined
  let keyFile = ''

  const cli = async (config: {config: string; env: Record<string, string>}, args: string[], options: {kube?: boolean} = {}) => {
    const kubeArgs = options.kube === false ? [] : ['--kubeconfig', cluster!.kubeconfig]
    const result = await runCli([...args, '--config', config.config, ...kubeArgs], {env: {...config.env, SOPS_AGE_KEY_FILE: keyFile}})
    outputs.push(result)
    return result
  }

  beforeAll(async () => {
    requireBuiltCli()
    const key = await newAgeKey()
    keyFile = join(dir, 'age-key.txt')
    writeFileSync(keyFile, `${key.identity}\n`, {mode: 0o600})
    // Outside test-output/: migrate honours .gitignore, which hides the run directory.
    const sources = join(mkdtempSync(join(tmpdir(), 'secrets-reseed-it-')), 'sops')
    mkdirSync(sources, {recursive: true})
    const regex = '^(data|stringData)$'
    writeFileSync(
      join(sources, 'secrets.yaml'),
      sopsEncrypt(
        `apiVersion: v1\nkind: Secret\nmetadata: {name: app, namespace: ${NS}}\nstringData: {user: ${canary('user')}, password: ${canary('password')}}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: tls, namespace: ${NS}}\ntype: kubernetes.io/tls\nstringData: {tls.crt: ${canary('crt')}, tls.key: ${canary('key')}}\n`,
        {recipient: key.recipient, type: 'yaml', encryptedRegex: regex},
      ),
    )
    oldRegion2 = await startVaultServer({initialize: true, name: `reseed-old-${run}`, workDir: dir})
    cluster = await startFreshCluster({
      name: `cluster-${run}`,
      parentDir: dir,
      binaries,
      stores: [
        {storeName: 'vault-region1', address: region1.address, mount: region1.mount, token: region1.token},
        {storeName: 'vault-region2', address: oldRegion2.address, mount: 'secret', token: oldRegion2.token!},
      ],
    })
    const config = writeConfig(join(dir), [
      {name: 'region1', address: region1.address, token: region1.token},
      {name: 'region2', address: oldRegion2.address, token: oldRegion2.token!},
    ])
    expectExit(await cli(config, ['migrate', 'sops', sources, '--create-namespaces', '--yes']), 0)
    const verify = await cli(config, ['migrate', 'verify', `${NS}/app`, `${NS}/tls`, '--wait', '3m'])
    expectExit(verify, 0)
  }, TIMEOUT_MS)

  afterAll(async () => {
    processArguments.stop()
    await cluster?.stop()
    await oldRegion2?.stop()
    await newRegion2?.stop()
  }, 120_000)

  test('region2 replaced by a new, empty Raft server: reseed --dry-run lists what it lacks, reseed fills it, verify regions exits 0', async () => {
    await oldRegion2!.stop()
    newRegion2 = await startVaultServer({initialize: true, name: `reseed-new-${run}`, workDir: dir})
    await applyClusterSecretStore(cluster!.kube, {storeName: 'vault-region2', address: newRegion2.address, mount: 'secret', token: newRegion2.token!})
    mkdirSync(join(dir, 'new'), {recursive: true})
    const config = writeConfig(join(dir, 'new'), [
      {name: 'region1', address: region1.address, token: region1.token},
      {name: 'region2', address: newRegion2.address, token: newRegion2.token!},
    ])
    const kv = store('region2', newRegion2.address, newRegion2.token!)
    expect(await kv.read(`${NS}/app`)).toBeUndefined()

    const dryRun = await cli(config, ['dr', 'reseed', '--region', 'region2', '--dry-run', '--json'])
    expect(dryRun.code).toBe(1)
    const planned = JSON.parse(dryRun.stdout)
    expect(planned.nudged).toBe(0)
    expect(planned.rows.filter((row: {secret: string}) => row.secret.startsWith(`${NS}/`)).map((row: {secret: string; state: string}) => [row.secret, row.state])).toEqual([
      [`${NS}/app`, 'missing'],
      [`${NS}/tls`, 'missing'],
    ])
    expect(await kv.read(`${NS}/app`)).toBeUndefined()

    const reseed = await cli(config, ['dr', 'reseed', '--region', 'region2', '--wait', '3m'])
    expectExit(reseed, 0)
    expect(reseed.stdout).toMatch(/The region holds every value \(2 Secret\(s\)\)/)
    expect((await kv.read(`${NS}/app`))?.data.get('password')?.revealString()).toBe(canary('password'))
    expect((await kv.read(`${NS}/tls`))?.data.get('tls.key')?.revealString()).toBe(canary('key'))
    await kv.close()

    const regions = await cli(config, ['verify', 'regions', '--path', NS], {kube: false})
    expectExit(regions, 0)
  }, TIMEOUT_MS)

  test('no value in any output or process argument', () => {
    for (const output of outputs) expect(output.stdout + output.stderr).not.toContain(MARK)
    expect(processArguments.seen().filter((args) => args.includes(MARK))).toEqual([])
  })
})
