// `secrets status` against the real environment: the shared regions and ESO
// (healthy, and a PushSecret ESO refuses to push), and Vault servers of its
// own for a sealed and a stopped region. Every run also writes its metrics:
// the file is parsed by the reference OpenMetrics parser and a Prometheus
// text parser, the Pushgateway push by the latter, and both are compared
// with what the run reported in --json.
import {randomBytes} from 'node:crypto'
import {existsSync, mkdtempSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import parsePrometheusTextFormat from 'parse-prometheus-text-format'

import {PUSH_SECRET_API_VERSION} from '../../../src/lib/eso/api.js'
import {readyCondition} from '../../../src/lib/eso/status.js'
import {KubeClient} from '../../../src/lib/kube/client.js'
import {SecretValue} from '../../../src/lib/secret/secret-value.js'
import type {StatusReport} from '../../../src/lib/status/output-schema.js'
import {waitFor} from '../../env/net.js'
import {PROJECT_ROOT} from '../../helpers/binaries.js'
import {canary, expectNoCanary} from '../../helpers/canary.js'
import {runCli, type CliResult} from '../../helpers/cli.js'
import {writeConfig} from '../../helpers/config.js'
import {parseOpenMetrics} from '../../helpers/openmetrics.js'
import {region, testEnv} from '../../helpers/env.js'
import {startPushReceiver, type PushReceiver} from '../../helpers/pushgateway.js'
import {startVaultServer, type VaultServerHandle} from '../../helpers/vault-server.js'

type Family = ReturnType<typeof parsePrometheusTextFormat>[number]

const env = testEnv()
const id = randomBytes(3).toString('hex')
const NS = `status-${id}`
const value = canary('status')
let kube: KubeClient
let dir: string
let shared: {config: string; env: Record<string, string>}
let receiver: PushReceiver

/** One series' value by family and labels (undefined when absent). */
function metric(families: Family[], name: string, labels: Record<string, string> = {}): number | undefined {
  const family = families.find((candidate) => candidate.name === `secrets_toolkit_${name}`)
  const found = family?.metrics.find((series) => Object.entries(labels).every(([key, wanted]) => series.labels?.[key] === wanted))
  return found?.value === undefined ? undefined : Number(found.value)
}

/**
 * The file as OpenMetrics (the reference client's strict parser) and as the
 * Prometheus text format (node-exporter's textfile collector reads that):
 * both parsers must read the same families and values.
 */
function parseFile(file: string): Family[] {
  const text = readFileSync(file, 'utf8')
  const strict = parseOpenMetrics(text)
  const families = parsePrometheusTextFormat(text)
  expect(strict.map((family) => ({name: family.name, type: family.type, values: family.samples.map((sample) => [sample.labels, sample.value])}))).toEqual(
    families.map((family) => ({name: family.name, type: family.type.toLowerCase(), values: family.metrics.map((series) => [series.labels ?? {}, Number(series.value)])})),
  )
  return families
}

async function status(args: string[], config: {config: string; env: Record<string, string>}): Promise<CliResult> {
  return runCli(['status', '--config', config.config, ...args], {env: {...config.env, KUBECONFIG: env.kubeconfig}, timeoutMs: 180_000})
}

function report(run: CliResult): StatusReport {
  return JSON.parse(run.stdout) as StatusReport
}

async function pushSecret(name: string, remoteKey: string): Promise<void> {
  await kube.applySecret({namespace: NS, name, type: 'Opaque', labels: {}, annotations: {}, data: new Map([['password', SecretValue.fromString(value)]])})
  await kube.apply({
    apiVersion: PUSH_SECRET_API_VERSION,
    kind: 'PushSecret',
    metadata: {name, namespace: NS},
    spec: {
      deletionPolicy: 'None',
      refreshInterval: '1h',
      secretStoreRefs: [{name: 'vault-region1', kind: 'ClusterSecretStore'}],
      selector: {secret: {name}},
      data: [{match: {secretKey: 'password', remoteRef: {remoteKey, property: 'password'}}}],
    },
  })
}

async function waitForReady(name: string, status: 'True' | 'False'): Promise<void> {
  await waitFor(`PushSecret ${NS}/${name} Ready=${status}`, async () => (readyCondition(await kube.read(PUSH_SECRET_API_VERSION, 'PushSecret', name, NS))?.status === status ? true : undefined), {timeoutMs: 90_000, intervalMs: 500})
}

beforeAll(async () => {
  kube = KubeClient.connect({kubeconfig: env.kubeconfig})
  await kube.ensureNamespace(NS)
  dir = mkdtempSync(join(PROJECT_ROOT, 'test-output', 'status-'))
  shared = writeConfig(dir, ['region1', 'region2'].map((name) => ({name, address: region(name).address, token: region(name).token})))
  receiver = await startPushReceiver()
  await pushSecret('pushed', `status-test/${id}/pushed`)
  await waitForReady('pushed', 'True')
})

afterAll(async () => {
  await receiver?.close()
})

describe('secrets status', () => {
  test('healthy: exit 0; the metrics file and the Pushgateway push hold what the run reported', async () => {
    const snapshots = join(dir, 'snapshots')
    for (const name of ['region1', 'region2']) {
      const snapshotMetrics = join(dir, `snapshot-${name}.prom`)
      const snap = await runCli(['dr', 'snapshot', '--config', shared.config, '--region', name, '--out', snapshots, '--no-key-counts', '--metrics-file', snapshotMetrics, '--pushgateway', receiver.url], {env: shared.env})
      expect(snap.code).toBe(0)
      const families = parseFile(snapshotMetrics)
      expect(metric(families, 'last_run_exit_code', {command: 'dr snapshot'})).toBe(0)
      expect(metric(families, 'snapshot_bytes', {region: name})).toBeGreaterThan(0)
      expect(metric(families, 'snapshot_verified', {region: name})).toBe(1)
      expect(receiver.pushes.at(-1)?.grouping).toEqual({job: 'secrets-toolkit', command: 'dr_snapshot', region: name})
    }

    const metricsFile = join(dir, 'metrics', 'status.prom')
    const pushesBefore = receiver.pushes.length
    const run = await status(['--namespace', NS, '--snapshots', snapshots, '--metrics-file', metricsFile, '--pushgateway', receiver.url, '--json'], shared)
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    const json = report(run)
    expect(json.health).toBe('healthy')
    expect(json.problems).toEqual([])
    for (const name of ['region1', 'region2']) {
      const regionStatus = json.regions.find((candidate) => candidate.region === name)!
      expect(regionStatus).toMatchObject({reachable: true, initialized: true, sealed: false, haState: 'active', token: {expires: false}})
      expect(regionStatus.raftAppliedIndex).toBeGreaterThan(0)
      expect(regionStatus.version).toMatch(/\d+\.\d+/)
      expect(regionStatus.snapshot).toMatchObject({verification: 'ok'})
    }
    expect(json.eso).toMatchObject({checked: true, pushSecrets: {total: 1, notReady: []}})
    expect(json.eso.stores).toEqual(expect.arrayContaining([expect.objectContaining({name: 'vault-region1', ready: true}), expect.objectContaining({name: 'vault-region2', ready: true})]))

    const families = parseFile(metricsFile)
    expect(metric(families, 'last_run_exit_code', {command: 'status'})).toBe(0)
    expect(metric(families, 'last_run_timestamp_seconds', {command: 'status', result: 'ok'})).toBeGreaterThan(Date.parse(json.checkedAt) / 1000 - 1)
    for (const regionStatus of json.regions) {
      const labels = {region: regionStatus.region}
      expect(metric(families, 'vault_up', labels)).toBe(1)
      expect(metric(families, 'vault_sealed', labels)).toBe(0)
      expect(metric(families, 'vault_active', labels)).toBe(1)
      expect(metric(families, 'vault_raft_applied_index', labels)).toBe(regionStatus.raftAppliedIndex)
      expect(metric(families, 'token_ttl_seconds', labels)).toBe(0)
      expect(metric(families, 'snapshot_bytes', labels)).toBe(regionStatus.snapshot!.bytes)
      expect(metric(families, 'snapshot_age_seconds', labels)).toBe(regionStatus.snapshot!.ageSeconds)
    }
    expect(metric(families, 'pushsecrets_not_ready', {store: 'vault-region1'})).toBe(0)
    expect(metric(families, 'clustersecretstore_ready', {store: 'vault-region2'})).toBe(1)

    // The same families went to the Pushgateway, as one PUT to this command's group.
    expect(receiver.pushes.length).toBe(pushesBefore + 1)
    const push = receiver.pushes.at(-1)!
    expect(push).toMatchObject({method: 'PUT', grouping: {job: 'secrets-toolkit', command: 'status'}})
    expect(push.contentType).toMatch(/^text\/plain; version=0\.0\.4/)
    expect(parsePrometheusTextFormat(push.body)).toEqual(families)
    expectNoCanary([run.stdout, run.stderr, readFileSync(metricsFile, 'utf8'), push.body], [value])
  })

  test('a PushSecret ESO cannot push: exit 1 naming it; counted per store, named in metrics only with --metrics-with-names', async () => {
    // A key that exists without ESO's managed-by metadata: ESO refuses to overwrite it.
    const remoteKey = `status-test/${id}/not-eso`
    const response = await fetch(`${region('region1').address}/v1/secret/data/${remoteKey}`, {method: 'POST', headers: {'X-Vault-Token': region('region1').token}, body: JSON.stringify({data: {password: 'someone-else'}})})
    expect(response.status).toBe(200)
    await pushSecret('refused', remoteKey)
    await waitForReady('refused', 'False')

    const metricsFile = join(dir, 'refused.prom')
    const run = await status(['--namespace', NS, '--metrics-file', metricsFile], shared)
    expect(run.code).toBe(1)
    expect(run.stdout).toContain(`PushSecret ${NS}/refused is not Ready (stores vault-region1)`)
    expect(run.stdout).toMatch(/vault-region1\s+yes\s+1/)
    const families = parseFile(metricsFile)
    expect(metric(families, 'pushsecrets_not_ready', {store: 'vault-region1'})).toBe(1)
    expect(metric(families, 'last_run_exit_code', {command: 'status'})).toBe(1)
    expect(readFileSync(metricsFile, 'utf8')).not.toContain('refused')

    const named = await status(['--namespace', NS, '--metrics-file', metricsFile, '--metrics-with-names', '--json'], shared)
    expect(named.code).toBe(1)
    expect(report(named).eso.pushSecrets.notReady).toEqual([expect.objectContaining({namespace: NS, name: 'refused', stores: ['vault-region1']})])
    expect(metric(parseFile(metricsFile), 'pushsecret_not_ready', {namespace: NS, name: 'refused', store: 'vault-region1'})).toBe(1)
    expectNoCanary([run.stdout, run.stderr, named.stdout, named.stderr, readFileSync(metricsFile, 'utf8')], [value])
    await kube.delete(PUSH_SECRET_API_VERSION, 'PushSecret', 'refused', NS)
  })

  describe('with a region of its own', () => {
    let server: VaultServerHandle
    let config: {config: string; env: Record<string, string>}

    beforeAll(async () => {
      server = await startVaultServer({initialize: true, name: 'status-own'})
      config = writeConfig(dir, [
        {name: 'region1', address: region('region1').address, token: region('region1').token},
        {name: 'own', address: server.address, token: server.token!},
      ])
    })

    afterAll(async () => {
      await server?.stop()
    })

    test('sealed: exit 1 naming the region; vault_sealed is 1', async () => {
      await server.seal()
      try {
        const metricsFile = join(dir, 'sealed.prom')
        const run = await status(['--no-eso', '--metrics-file', metricsFile], config)
        expect(run.code).toBe(1)
        expect(run.stdout).toContain(`DEGRADED region own is sealed (${server.address})`)
        expect(run.stdout).toMatch(/^own\s+SEALED/m)
        const families = parseFile(metricsFile)
        expect(metric(families, 'vault_sealed', {region: 'own'})).toBe(1)
        expect(metric(families, 'vault_sealed', {region: 'region1'})).toBe(0)
        expect(metric(families, 'last_run_timestamp_seconds', {command: 'status', result: 'findings'})).toBeGreaterThan(0)
      } finally {
        await server.unseal()
      }
    })

    test('a token under --min-token-ttl: exit 1 naming the region', async () => {
      const response = await fetch(`${server.address}/v1/auth/token/create`, {method: 'POST', headers: {'X-Vault-Token': server.token!}, body: JSON.stringify({ttl: '10m', policies: ['default']})})
      const token = ((await response.json()) as {auth: {client_token: string}}).auth.client_token
      const short = writeConfig(dir, [{name: 'own', address: server.address, token}])
      const run = await status(['--no-eso', '--min-token-ttl', '1h', '--json'], short)
      expect(run.code).toBe(1)
      const json = report(run)
      expect(json.regions[0].token).toMatchObject({expires: true, renewable: true})
      expect(json.regions[0].token!.ttlSeconds).toBeLessThanOrEqual(600)
      expect(json.problems).toEqual([expect.objectContaining({severity: 'degraded', message: expect.stringMatching(/^region own: the Vault token expires in \d+m/)})])
      expectNoCanary([run.stdout, run.stderr], [token])
    })

    test('stopped: exit 2 naming the region; the metrics are still written (vault_up 0, result error)', async () => {
      await server.stop()
      try {
        const metricsFile = join(dir, 'stopped.prom')
        const run = await status(['--no-eso', '--metrics-file', metricsFile, '--pushgateway', receiver.url], config)
        expect(run.code).toBe(2)
        expect(run.stdout).toContain(`UNKNOWN  region own is unreachable (${server.address}: ECONNREFUSED)`)
        expect(existsSync(metricsFile)).toBe(true)
        const families = parseFile(metricsFile)
        expect(metric(families, 'vault_up', {region: 'own'})).toBe(0)
        expect(metric(families, 'vault_up', {region: 'region1'})).toBe(1)
        expect(metric(families, 'last_run_exit_code', {command: 'status'})).toBe(2)
        expect(metric(families, 'last_run_timestamp_seconds', {command: 'status', result: 'error'})).toBeGreaterThan(0)
        expect(parsePrometheusTextFormat(receiver.pushes.at(-1)!.body)).toEqual(families)
      } finally {
        await server.restart()
      }
    })
  })

  test('a Pushgateway that refuses: exit 2 with the reason, and the metrics file is still written', async () => {
    receiver.failWith = 500
    try {
      const metricsFile = join(dir, 'push-refused.prom')
      const run = await status(['--no-eso', '--region', 'region1', '--metrics-file', metricsFile, '--pushgateway', receiver.url], shared)
      expect(run.code).toBe(2)
      expect(run.stderr).toContain(`cannot push metrics to the Pushgateway ${receiver.url}/ (HTTP 500)`)
      expect(metric(parseFile(metricsFile), 'last_run_exit_code', {command: 'status'})).toBe(0)
    } finally {
      receiver.failWith = undefined
    }
  })
})
