// Each CronJob of the chart, run out of cluster against the real environment
// with the arguments and environment its container declares: its volumes are
// directories here, its Kubernetes identity is a token of its own
// ServiceAccount (installed from the rendered chart, RBAC included), and Vault
// logs it in through the kubernetes auth method of the real OpenBao regions,
// which validate that token with the real kube-apiserver's TokenReview.
import {randomBytes} from 'node:crypto'
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import parsePrometheusTextFormat from 'parse-prometheus-text-format'
import {parse as parseYaml} from 'yaml'

import {expectNoCanary} from '../../helpers/canary.js'
import {runCli, type CliResult} from '../../helpers/cli.js'
import {requireBinary} from '../../helpers/binaries.js'
import {testEnv} from '../../helpers/env.js'
import {parseOpenMetrics} from '../../helpers/openmetrics.js'
import {startPushReceiver, type PushReceiver} from '../../helpers/pushgateway.js'
import {newAgeKey, sopsEncrypt} from '../../helpers/sops-files.js'
import {CHART, cronJobs, helmRunner, jobContainer, kubectlRunner, mapContainer, ok, parseManifests, runMapped, serviceAccountKubeconfig, writeValues, type KubeObject, type RunResult} from './chart-helpers.js'
import {disableKubernetesAuth, enableKubernetesAuth, type KubernetesAuthSetup} from './vault-kubernetes-auth.js'

const run = randomBytes(3).toString('hex')
const NS = `chart-jobs-${run}`
const APPS = `chart-jobs-${run}-apps`
const RELEASE = 'nightly'
const FULL = `${RELEASE}-secrets-toolkit`
const AUTH_MOUNT = `k8s-chart-${run}`
const POLICY = `secrets-toolkit-chart-${run}`
const ROLE = 'secrets-toolkit'
const AUDIENCE = 'vault'
const CANARY = `canary-chart-${randomBytes(8).toString('hex')}`

/** The admin kubeconfig's cluster: where Vault's TokenReviews go, and the CA that signs the API server. */
function clusterOf(kubeconfig: string): {server: string; caPem: string} {
  const config = parseYaml(readFileSync(kubeconfig, 'utf8'))
  const cluster = config.clusters[0].cluster
  const caPem = cluster['certificate-authority-data'] ? Buffer.from(cluster['certificate-authority-data'], 'base64').toString('utf8') : readFileSync(cluster['certificate-authority'], 'utf8')
  return {server: cluster.server, caPem}
}

describe('the chart\'s CronJobs, run out of cluster against the real environment', () => {
  const env = testEnv()
  const helm = helmRunner(requireBinary('helm'))
  const kubectl = kubectlRunner(env.binaries.kubectl ?? requireBinary('kubectl'), env.kubeconfig)
  const work = join(env.workDir, `chart-jobs-${run}`)
  const claims = join(work, 'claims')
  const outputs: string[] = []
  const authSetups: KubernetesAuthSetup[] = []
  let objects: KubeObject[] = []
  let receiver: PushReceiver
  let caFile: string
  let cluster: {server: string; caPem: string}
  const results = new Map<string, RunResult>()

  const admin = async (args: string[], extraEnv: Record<string, string> = {}): Promise<CliResult> => {
    const result = await runCli([...args, '--config', env.configPath], {env: {...env.tokenEnv, KUBECONFIG: env.kubeconfig, ...extraEnv}})
    outputs.push(result.stdout, result.stderr)
    return result
  }

  const token = (serviceAccount: string, audience?: string, seconds = 3600) =>
    ok(kubectl(['create', 'token', serviceAccount, '-n', NS, '--duration', `${seconds}s`, ...(audience ? ['--audience', audience] : [])]), `kubectl create token ${serviceAccount}`).trim()

  /** Runs one CronJob's container; `projectedAs` replaces the ServiceAccount whose token Vault sees. */
  const runJob = async (name: string, options: {projectedAs?: string} = {}): Promise<RunResult> => {
    const cronJob = cronJobs(objects).find((object) => object.metadata.name === name)
    if (!cronJob) throw new Error(`the chart rendered no CronJob ${name}`)
    const mapped = mapContainer(
      cronJob,
      {
        configMaps: new Map(objects.filter((object) => object.kind === 'ConfigMap').map((object) => [object.metadata.name, object.data])),
        projectedToken: (serviceAccount, audience, seconds) => token(options.projectedAs ?? serviceAccount, audience, seconds),
        claim: (claim) => {
          const dir = join(claims, claim)
          mkdirSync(dir, {recursive: true})
          return dir
        },
        other: (volume) => {
          const dir = join(work, 'volumes', volume)
          mkdirSync(dir, {recursive: true})
          return dir
        },
      },
      (serviceAccount) => serviceAccountKubeconfig(work, {server: cluster.server, caFile}, token(serviceAccount), serviceAccount),
    )
    const result = await runMapped(mapped)
    outputs.push(result.stdout, result.stderr)
    return result
  }

  beforeAll(async () => {
    mkdirSync(claims, {recursive: true})
    cluster = clusterOf(env.kubeconfig)
    caFile = join(work, 'kube-ca.pem')
    writeFileSync(caFile, cluster.caPem)
    ok(kubectl(['create', 'namespace', NS]), 'create namespace')
    ok(kubectl(['create', 'namespace', APPS]), 'create namespace')

    // Something for the drift checks to check: one Secret migrated from SOPS into APPS, pushed to both regions.
    const key = await newAgeKey()
    const keyFile = join(work, 'age-key.txt')
    writeFileSync(keyFile, `${key.identity}\n`, {mode: 0o600})
    // Outside the project: test-output/ is git-ignored, and migrate sops honours .gitignore.
    const tree = mkdtempSync(join(tmpdir(), 'secrets-chart-gitops-'))
    writeFileSync(join(tree, 'db.sops.yaml'), sopsEncrypt(`password: ${CANARY}\n`, {recipient: key.recipient, type: 'yaml'}))
    const migrated = await admin(['migrate', 'sops', tree, '--namespace', APPS, '--yes'], {SOPS_AGE_KEY_FILE: keyFile})
    if (migrated.code !== 0 || !migrated.stdout.includes(`${APPS}/db`)) throw new Error(`migrate sops exited ${migrated.code}: ${migrated.stdout}\n${migrated.stderr}`)
    const verified = await admin(['migrate', 'verify', '--namespace', APPS, '--wait', '3m'])
    if (verified.code !== 0) throw new Error(`migrate verify exited ${verified.code}: ${verified.stdout}\n${verified.stderr}`)

    receiver = await startPushReceiver()
    const values = {
      config: {regions: env.regions.map((region) => ({name: region.name, clusterSecretStore: region.clusterSecretStore, vault: {address: region.address, mount: region.mount}}))},
      vaultAuth: {mount: AUTH_MOUNT, role: ROLE, audience: AUDIENCE},
      snapshot: {keep: 2},
      verifyRegions: {path: APPS},
      migrateVerify: {namespace: APPS},
      status: {namespaces: [APPS], maxSnapshotAge: '1h', minTokenTtl: '5m'},
      metrics: {pushgateway: {url: receiver.url}, textfile: {enabled: true}},
    }
    objects = parseManifests(ok(helm(['template', RELEASE, CHART, '--namespace', NS, '--values', writeValues(work, values)]), 'helm template'))
    ok(kubectl(['apply', '-f', '-'], ok(helm(['template', RELEASE, CHART, '--namespace', NS, '--values', writeValues(work, values)]), 'helm template')), 'install the rendered chart')

    // Vault's side, as docs/operations.md tells an operator: a TokenReview identity, the auth method, the policy the chart ships, the role.
    ok(kubectl(['create', 'serviceaccount', 'vault-token-reviewer', '-n', NS]), 'create the reviewer')
    ok(kubectl(['create', 'clusterrolebinding', `${NS}-vault-token-reviewer`, '--clusterrole=system:auth-delegator', `--serviceaccount=${NS}:vault-token-reviewer`]), 'bind the reviewer')
    const reviewerJwt = token('vault-token-reviewer', undefined, 7200)
    const serviceAccounts = objects.filter((object) => object.kind === 'ServiceAccount').map((object) => object.metadata.name)
    for (const region of env.regions) {
      const setup: KubernetesAuthSetup = {
        address: region.address,
        token: region.token,
        mount: AUTH_MOUNT,
        kubernetesHost: cluster.server,
        kubernetesCaPem: cluster.caPem,
        reviewerJwt,
        policyName: POLICY,
        policyHcl: readFileSync(join(CHART, 'files/vault-policy.hcl'), 'utf8'),
        role: ROLE,
        serviceAccounts,
        namespace: NS,
        audience: AUDIENCE,
      }
      authSetups.push(setup)
      await enableKubernetesAuth(setup)
    }
  }, 600_000)

  afterAll(async () => {
    for (const setup of authSetups) await disableKubernetesAuth(setup)
    await receiver?.close()
    const clusterScoped = objects.filter((object) => object.kind === 'ClusterRole' || object.kind === 'ClusterRoleBinding').map((object) => `${object.kind.toLowerCase()}/${object.metadata.name}`)
    kubectl(['delete', '--ignore-not-found', `clusterrolebinding/${NS}-vault-token-reviewer`, ...clusterScoped])
    // No value in any output, metrics file, pushed body or snapshot manifest.
    const files = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir, {recursive: true, withFileTypes: true}).filter((entry) => entry.isFile() && !entry.name.endsWith('.snap')).map((entry) => readFileSync(join(entry.parentPath, entry.name), 'utf8')) : [])
    expectNoCanary([...outputs, ...(receiver?.pushes ?? []).map((push) => push.body), ...files(join(work, 'volumes')), ...files(claims)], [CANARY])
  })

  test('every CronJob exits 0: dr snapshot per region, verify regions, migrate verify, status', async () => {
    const names = cronJobs(objects).map((job) => job.metadata.name)
    expect(names.sort()).toEqual([`${FULL}-migrate-verify`, `${FULL}-snapshot-region1`, `${FULL}-snapshot-region2`, `${FULL}-status`, `${FULL}-verify-regions`].sort())
    // status checks the snapshots, so they come first.
    for (const name of [`${FULL}-snapshot-region1`, `${FULL}-snapshot-region2`, `${FULL}-verify-regions`, `${FULL}-migrate-verify`, `${FULL}-status`]) {
      const result = await runJob(name)
      results.set(name, result)
      const cronJob = cronJobs(objects).find((object) => object.metadata.name === name)!
      if (result.code !== 0) throw new Error(`${name} (secrets ${jobContainer(cronJob).container.args.join(' ')}) exited ${result.code}:\n${result.stdout}\n${result.stderr}`)
    }
  }, 900_000)

  test('dr snapshot wrote verified snapshots into the claim, and --keep prunes the older ones', async () => {
    for (let again = 0; again < 2; again++) expect((await runJob(`${FULL}-snapshot-region1`)).code).toBe(0)
    const dir = join(claims, `${FULL}-snapshots`)
    const snaps = readdirSync(dir).filter((name) => name.endsWith('.snap'))
    expect(snaps.filter((name) => name.endsWith('-region1.snap'))).toHaveLength(2)
    expect(snaps.filter((name) => name.endsWith('-region2.snap'))).toHaveLength(1)
    const listed = await admin(['dr', 'list', dir])
    expect(listed.code).toBe(0)
  }, 600_000)

  test('each job wrote its metrics to the textfile volume and pushed the same to the Pushgateway, as the runs saw it', () => {
    const metricsDir = join(work, 'volumes', 'metrics')
    const written = readdirSync(metricsDir).filter((name) => name.endsWith('.prom')).sort()
    expect(written).toEqual([`${FULL}-migrate-verify.prom`, `${FULL}-snapshot-region1.prom`, `${FULL}-snapshot-region2.prom`, `${FULL}-status.prom`, `${FULL}-verify-regions.prom`].sort())
    // The textfiles through the reference (strict) OpenMetrics parser; the pushes are Prometheus' text format.
    type Sample = {labels?: Record<string, string>; value?: string | number}
    const openMetrics = (text: string) => new Map<string, Sample[]>(parseOpenMetrics(text).map((family) => [family.name, family.samples]))
    const pushedText = (text: string) => new Map<string, Sample[]>(parsePrometheusTextFormat(text).map((family) => [family.name, family.metrics]))
    const value = (families: Map<string, Sample[]>, name: string, labels: Record<string, string> = {}) =>
      Number(families.get(`secrets_toolkit_${name}`)?.find((sample) => Object.entries(labels).every(([key, wanted]) => sample.labels?.[key] === wanted))?.value)
    const files = new Map(written.map((file) => [file, openMetrics(readFileSync(join(metricsDir, file), 'utf8'))]))
    for (const [file, families] of files) expect([file, value(families, 'last_run_exit_code')]).toEqual([file, 0])
    // dr snapshot: the size of the snapshot it saved last (region1 ran three times; --keep 2 left the newest two).
    const dir = join(claims, `${FULL}-snapshots`)
    for (const region of ['region1', 'region2']) {
      const newest = readdirSync(dir).filter((name) => name.endsWith(`-${region}.snap`)).sort().at(-1)!
      const families = files.get(`${FULL}-snapshot-${region}.prom`)!
      expect(value(families, 'snapshot_bytes', {region})).toBe(statSync(join(dir, newest)).size)
    }
    // status: both regions unsealed, and the token it logged in with through the kubernetes method has a TTL (the role's 1h).
    const status = files.get(`${FULL}-status.prom`)!
    for (const region of ['region1', 'region2']) {
      expect(value(status, 'vault_sealed', {region})).toBe(0)
      expect(value(status, 'token_ttl_seconds', {region})).toBeGreaterThan(0)
      expect(value(status, 'token_ttl_seconds', {region})).toBeLessThanOrEqual(3600)
    }
    // The same families reached the Pushgateway, one group per command (and region for dr snapshot).
    const groups = receiver.pushes.filter((push) => push.method === 'PUT').map((push) => push.path)
    expect(groups).toEqual(
      expect.arrayContaining([
        '/metrics/job/secrets-toolkit/command/status',
        '/metrics/job/secrets-toolkit/command/verify_regions',
        '/metrics/job/secrets-toolkit/command/migrate_verify',
        '/metrics/job/secrets-toolkit/command/dr_snapshot/region/region1',
        '/metrics/job/secrets-toolkit/command/dr_snapshot/region/region2',
      ]),
    )
    for (const push of receiver.pushes) expect(value(pushedText(push.body), 'last_run_exit_code')).toBe(0)
  })

  test('the jobs log in to Vault as their own ServiceAccount: a token of one the role does not bind is refused (exit 2)', async () => {
    const pushedBefore = receiver.pushes.length
    const refused = await runJob(`${FULL}-verify-regions`, {projectedAs: 'vault-token-reviewer'})
    expect(refused.code).toBe(2)
    expect(`${refused.stdout}${refused.stderr}`).toMatch(/region1|region2/)
    // A failed run still publishes: exit 2 in the textfile and at the Pushgateway, which is what SecretsToolkitRunFailed reads.
    expect(readFileSync(join(work, 'volumes', 'metrics', `${FULL}-verify-regions.prom`), 'utf8')).toContain('secrets_toolkit_last_run_exit_code{command="verify regions"} 2')
    expect(receiver.pushes.slice(pushedBefore).map((push) => push.body).join('')).toContain('secrets_toolkit_last_run_exit_code{command="verify regions"} 2')
  }, 300_000)
})
