// The other scheduled commands publish the same way as status: verify regions
// and migrate verify write their metrics file (checked by the reference
// OpenMetrics parser), and the numbers are the ones their --json reported.
import {randomBytes} from 'node:crypto'
import {mkdtempSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {PUSH_SECRET_API_VERSION} from '../../../src/lib/eso/api.js'
import {readyCondition} from '../../../src/lib/eso/status.js'
import {KubeClient} from '../../../src/lib/kube/client.js'
import {SecretValue} from '../../../src/lib/secret/secret-value.js'
import {waitFor} from '../../env/net.js'
import {PROJECT_ROOT} from '../../helpers/binaries.js'
import {canary, expectNoCanary} from '../../helpers/canary.js'
import {runCli} from '../../helpers/cli.js'
import {writeConfig} from '../../helpers/config.js'
import {region, testEnv} from '../../helpers/env.js'
import {type OpenMetricsFamily, parseOpenMetrics} from '../../helpers/openmetrics.js'
import {startVaultServer, type VaultServerHandle} from '../../helpers/vault-server.js'

const env = testEnv()
const id = randomBytes(3).toString('hex')
const NS = `metrics-${id}`
const value = canary('metrics')
let dir: string
let own: VaultServerHandle

function sampleValue(families: OpenMetricsFamily[], name: string, labels: Record<string, string>): number | undefined {
  return families.find((family) => family.name === `secrets_toolkit_${name}`)?.samples.find((sample) => Object.entries(labels).every(([key, wanted]) => sample.labels[key] === wanted))?.value
}

beforeAll(async () => {
  dir = mkdtempSync(join(PROJECT_ROOT, 'test-output', 'command-metrics-'))
  own = await startVaultServer({initialize: true, name: 'metrics-own'})
})

afterAll(async () => {
  await own?.stop()
})

test('verify regions: drift_keys per class and region are the counts of its report; a failed run writes its metrics too', async () => {
  // region1 holds what other tests wrote; the fresh server holds one key of its own.
  await fetch(`${own.address}/v1/secret/data/only-here-${id}`, {method: 'POST', headers: {'X-Vault-Token': own.token!}, body: JSON.stringify({data: {password: value}})})
  const config = writeConfig(dir, [
    {name: 'region1', address: region('region1').address, token: region('region1').token},
    {name: 'own', address: own.address, token: own.token!},
  ])
  const metricsFile = join(dir, 'verify-regions.prom')
  const run = await runCli(['verify', 'regions', '--config', config.config, '--json', '--metrics-file', metricsFile], {env: config.env})
  expect(run.code).toBe(1)
  const report = JSON.parse(run.stdout) as {counts: Record<string, number>; keysCompared: number; keysWithDrift: number}
  const families = parseOpenMetrics(readFileSync(metricsFile, 'utf8'))
  expect(sampleValue(families, 'drift_keys', {class: 'only-in', region: 'own'})).toBe(report.counts['only-in-own'])
  expect(sampleValue(families, 'drift_keys', {class: 'only-in', region: 'region1'})).toBe(report.counts['only-in-region1'] ?? 0)
  expect(sampleValue(families, 'drift_keys', {class: 'in-sync', region: 'region1,own'})).toBe(report.keysCompared - report.keysWithDrift)
  expect(sampleValue(families, 'last_run_exit_code', {command: 'verify regions'})).toBe(1)
  expect(sampleValue(families, 'last_run_timestamp_seconds', {command: 'verify regions', result: 'findings'})).toBeGreaterThan(0)

  await own.stop()
  try {
    const failed = await runCli(['verify', 'regions', '--config', config.config, '--metrics-file', metricsFile], {env: config.env})
    expect(failed.code).toBe(2)
    const after = parseOpenMetrics(readFileSync(metricsFile, 'utf8'))
    expect(sampleValue(after, 'last_run_exit_code', {command: 'verify regions'})).toBe(2)
    expect(sampleValue(after, 'last_run_timestamp_seconds', {command: 'verify regions', result: 'error'})).toBeGreaterThan(0)
  } finally {
    await own.restart()
  }
  expectNoCanary([run.stdout, run.stderr, readFileSync(metricsFile, 'utf8')], [value])
})

test('migrate verify: checks by status as its report counts them; the Secret is named only with --metrics-with-names', async () => {
  const kube = KubeClient.connect({kubeconfig: env.kubeconfig})
  await kube.ensureNamespace(NS)
  await kube.applySecret({namespace: NS, name: 'db', type: 'Opaque', labels: {}, annotations: {}, data: new Map([['password', SecretValue.fromString(value)]])})
  // Pushed to region1 only: region2 lacks it, so migrate verify finds a difference.
  await kube.apply({
    apiVersion: PUSH_SECRET_API_VERSION,
    kind: 'PushSecret',
    metadata: {name: 'db', namespace: NS},
    spec: {
      deletionPolicy: 'None',
      refreshInterval: '1h',
      secretStoreRefs: [{name: 'vault-region1', kind: 'ClusterSecretStore'}],
      selector: {secret: {name: 'db'}},
      data: [{match: {secretKey: 'password', remoteRef: {remoteKey: `${NS}/db`, property: 'password'}}}],
    },
  })
  await waitFor('PushSecret Ready', async () => (readyCondition(await kube.read(PUSH_SECRET_API_VERSION, 'PushSecret', 'db', NS))?.status === 'True' ? true : undefined), {timeoutMs: 90_000, intervalMs: 500})
  const config = writeConfig(dir, ['region1', 'region2'].map((name) => ({name, address: region(name).address, token: region(name).token})))
  const metricsFile = join(dir, 'migrate-verify.prom')
  const run = await runCli(['migrate', 'verify', `${NS}/db`, '--config', config.config, '--json', '--metrics-file', metricsFile], {env: {...config.env, KUBECONFIG: env.kubeconfig}})
  expect(run.code).toBe(1)
  const report = JSON.parse(run.stdout) as {counts: Record<string, number>}
  const text = readFileSync(metricsFile, 'utf8')
  const families = parseOpenMetrics(text)
  for (const [status, count] of Object.entries(report.counts)) expect(sampleValue(families, 'migrate_checks', {status})).toBe(count)
  expect(sampleValue(families, 'migrate_complete', {})).toBe(0)
  expect(text).not.toContain(`${NS}/db`)

  const named = await runCli(['migrate', 'verify', `${NS}/db`, '--config', config.config, '--metrics-file', metricsFile, '--metrics-with-names'], {env: {...config.env, KUBECONFIG: env.kubeconfig}})
  expect(named.code).toBe(1)
  expect(parseOpenMetrics(readFileSync(metricsFile, 'utf8')).find((family) => family.name === 'secrets_toolkit_migrate_problem')?.samples).toEqual(
    expect.arrayContaining([expect.objectContaining({labels: expect.objectContaining({secret: `${NS}/db`, where: 'region region2'})})]),
  )
  expectNoCanary([run.stdout, run.stderr, named.stdout, named.stderr, readFileSync(metricsFile, 'utf8')], [value])
})
