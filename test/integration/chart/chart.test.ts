// The Helm chart: lint, rendering with the default values and with every
// option set, its values schema, and every rendered object accepted by the
// real kube-apiserver (server-side dry run, and the RBAC checked by asking
// the API server what each job's ServiceAccount may do).
import {randomBytes} from 'node:crypto'
import {mkdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {z} from 'zod'

import {parseConfig} from '../../../src/lib/config/load.js'
import {configSchema} from '../../../src/lib/config/schema.js'
import {METRIC_FAMILIES, METRIC_PREFIX} from '../../../src/lib/metrics/run-metrics.js'
import {requireBinary} from '../../helpers/binaries.js'
import {testEnv} from '../../helpers/env.js'
import {CHART, cronJobs, helmRunner, jobContainer, kubectlRunner, ok, parseManifests, writeValues, type KubeObject} from './chart-helpers.js'
import {prometheusRuleCrd} from './prometheus-crd.js'
import {promqlProblems} from './promql.js'

const run = randomBytes(3).toString('hex')
const NS = `chart-${run}`
const TARGET_NS = `chart-${run}-apps`
const RELEASE = 'ops'

/** Every option away from its default. */
const CUSTOM_VALUES = {
  image: {repository: 'registry.example.com/platform/secrets-toolkit', digest: `sha256:${'a'.repeat(64)}`},
  config: {
    kubernetes: {},
    regions: [
      {name: 'eu-west', clusterSecretStore: 'vault-eu-west', vault: {address: 'https://vault.eu-west.example.com:8200', mount: 'kv', auth: {method: 'kubernetes', role: 'toolkit-eu'}}},
      {name: 'us-east', clusterSecretStore: 'vault-us-east', vault: {address: 'https://vault.us-east.example.com:8200', auth: {method: 'approle', roleId: 'toolkit'}, tls: {caCert: '/etc/ssl/vault-ca.pem'}}},
    ],
  },
  vaultAuth: {mount: 'k8s-prod', role: 'ignored-where-a-region-names-its-own', audience: 'vault.example.com', tokenExpirationSeconds: 1800, tokenPath: '/var/run/secrets/tokens/vault'},
  env: [{name: 'SECRETS_TOOLKIT_US_EAST_VAULT_SECRET_ID', valueFrom: {secretKeyRef: {name: 'toolkit-approle', key: 'secret-id'}}}],
  jobs: {timeZone: 'Etc/UTC', backoffLimit: 1, podLabels: {team: 'platform'}, nodeSelector: {'kubernetes.io/os': 'linux'}},
  snapshot: {regions: ['eu-west'], keep: 0, keepWithin: '7d', encryptTo: ['age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p'], keyCounts: false, persistence: {enabled: false}, volume: {nfs: {server: 'nfs.example.com', path: '/backups/vault'}}},
  verifyRegions: {schedule: '0 */6 * * *', regions: 'eu-west,us-east', path: 'apps', exclude: ['apps/**/tmp']},
  migrateVerify: {namespace: TARGET_NS},
  status: {maxSnapshotAge: '26h', minTokenTtl: '12h', maxIndexLag: 500, namespaces: [TARGET_NS]},
  metrics: {pushgateway: {url: 'http://pushgateway.monitoring:9091'}, textfile: {enabled: true, volume: {hostPath: {path: '/var/lib/node-exporter/textfile', type: 'Directory'}}}, withNames: true},
  prometheusRule: {enabled: true, labels: {release: 'kube-prometheus-stack'}, snapshotMaxAgeSeconds: 93600},
}

const COMPONENTS_WITH_KUBE = new Set(['migrate-verify', 'status'])

function args(cronJob: KubeObject): string[] {
  return jobContainer(cronJob).container.args
}

function byName(objects: KubeObject[], kind: string, name: string): KubeObject {
  const found = objects.find((object) => object.kind === kind && object.metadata.name === name)
  if (!found) throw new Error(`no ${kind} ${name} among ${objects.map((object) => `${object.kind}/${object.metadata.name}`).join(', ')}`)
  return found
}

describe('the Helm chart (real helm, real kube-apiserver)', () => {
  const env = testEnv()
  const helm = helmRunner(requireBinary('helm'))
  const kubectl = kubectlRunner(env.binaries.kubectl ?? requireBinary('kubectl'), env.kubeconfig)
  const work = join(env.workDir, `chart-${run}`)
  mkdirSync(work, {recursive: true})
  const customValues = writeValues(work, CUSTOM_VALUES)
  const render = (...extra: string[]) => parseManifests(ok(helm(['template', RELEASE, CHART, '--namespace', NS, ...extra]), 'helm template'))
  let defaults: KubeObject[]
  let custom: KubeObject[]

  beforeAll(() => {
    defaults = render()
    custom = render('--values', customValues)
  })

  afterAll(() => {
    // Cluster-scoped objects this test made; the namespaces stay (no namespace controller runs here).
    kubectl(['delete', 'clusterrole,clusterrolebinding', '--ignore-not-found', '-l', `app.kubernetes.io/instance=${RELEASE}-${run}`])
  })

  test('helm lint --strict passes with the default values and with every option set', () => {
    expect(ok(helm(['lint', '--strict', CHART]), 'helm lint')).toContain('0 chart(s) failed')
    expect(ok(helm(['lint', '--strict', CHART, '--values', customValues]), 'helm lint (custom values)')).toContain('0 chart(s) failed')
  })

  test.each([
    ['a region name the toolkit refuses', {config: {regions: [{name: 'Region_1', clusterSecretStore: 's', vault: {address: 'https://v:8200'}}]}}, 'regions/0/name'],
    ['an unknown key in a region (a typo)', {config: {regions: [{name: 'r1', clusterSecretStore: 's', vault: {address: 'https://v:8200', adress: 'x'}}]}}, 'adress'],
    ['an auth method that does not exist', {config: {regions: [{name: 'r1', clusterSecretStore: 's', vault: {address: 'https://v:8200', auth: {method: 'ldap'}}}]}}, 'regions/0/vault/auth'],
    ['no region', {config: {regions: []}}, 'regions'],
    ['a writable root filesystem', {securityContext: {readOnlyRootFilesystem: false, allowPrivilegeEscalation: false}}, 'readOnlyRootFilesystem'],
    ['running as root allowed', {podSecurityContext: {runAsNonRoot: false}}, 'runAsNonRoot'],
    ['a projected token Kubernetes would refuse', {vaultAuth: {tokenExpirationSeconds: 60}}, 'tokenExpirationSeconds'],
    ['a duration the CLI would refuse', {snapshot: {keepWithin: '7 days'}}, 'keepWithin'],
    ['a misspelt top-level key', {snapshots: {keep: 3}}, 'snapshots'],
  ])('the values schema refuses %s, naming it', (_what, values, where) => {
    const result = helm(['template', RELEASE, CHART, '--values', writeValues(work, values)])
    expect(result.code).not.toBe(0)
    expect(result.stderr).toContain("values don't meet the specifications of the schema")
    expect(result.stderr).toContain(where)
  })

  test('a snapshot region that is not configured is refused, naming the configured ones', () => {
    const result = helm(['template', RELEASE, CHART, '--set', 'snapshot.regions={region3}'])
    expect(result.code).not.toBe(0)
    expect(result.stderr).toContain('snapshot.regions names "region3", which is not a region in config.regions (region1, region2)')
  })

  test('the values schema describes the configuration file exactly as src/lib/config/schema.ts does (npm run schemas regenerates it)', () => {
    const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8'))
    const {$schema: _ignored, ...expected} = z.toJSONSchema(configSchema, {io: 'input'}) as Record<string, unknown>
    const {description: _description, ...actual} = schema.properties.config
    expect(actual).toEqual(expected)
  })

  test('default values: a CronJob per job (dr snapshot per region), non-root, read-only, failing the Job on exit 1 and retrying exit 2', () => {
    const jobs = cronJobs(defaults)
    expect(jobs.map((job) => job.metadata.name).sort()).toEqual(
      [`${RELEASE}-secrets-toolkit-migrate-verify`, `${RELEASE}-secrets-toolkit-snapshot-region1`, `${RELEASE}-secrets-toolkit-snapshot-region2`, `${RELEASE}-secrets-toolkit-status`, `${RELEASE}-secrets-toolkit-verify-regions`].sort(),
    )
    for (const job of jobs) {
      const {pod, container} = jobContainer(job)
      const component = job.metadata.labels!['app.kubernetes.io/component']
      expect(job.spec.concurrencyPolicy).toBe('Forbid')
      expect(job.spec.jobTemplate.spec.backoffLimit).toBe(2)
      expect(job.spec.jobTemplate.spec.podFailurePolicy.rules[0]).toEqual({action: 'FailJob', onExitCodes: {containerName: 'secrets-toolkit', operator: 'In', values: [1]}})
      expect(pod.restartPolicy).toBe('Never')
      expect(pod.securityContext).toMatchObject({runAsNonRoot: true, runAsUser: 10001, seccompProfile: {type: 'RuntimeDefault'}})
      expect(container.securityContext).toEqual({allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, privileged: false, capabilities: {drop: ['ALL']}})
      expect(container.command).toEqual(['secrets'])
      expect(container.image).toBe('ghcr.io/secrets-toolkit/secrets-toolkit:0.1.0')
      expect(pod.serviceAccountName).toBe(`${RELEASE}-secrets-toolkit-${component}`)
      // Only the jobs that read Kubernetes objects get an API token.
      expect(pod.automountServiceAccountToken).toBe(COMPONENTS_WITH_KUBE.has(component))
      // Vault's token: projected, audience-bound, at the path the configuration names.
      const token = pod.volumes.find((volume: any) => volume.name === 'vault-token')
      expect(token.projected.sources).toEqual([{serviceAccountToken: {audience: 'vault', expirationSeconds: 3600, path: 'token'}}])
      // The only writable places: /tmp and (dr snapshot) the snapshot volume.
      const writable = container.volumeMounts.filter((mount: any) => !mount.readOnly).map((mount: any) => mount.mountPath)
      expect(writable).toEqual(component === 'snapshot' ? ['/tmp', '/snapshots'] : ['/tmp'])
    }
    expect(args(byName(defaults, 'CronJob', `${RELEASE}-secrets-toolkit-snapshot-region1`))).toEqual(['dr', 'snapshot', '--region', 'region1', '--out', '/snapshots', '--keep', '14'])
    expect(args(byName(defaults, 'CronJob', `${RELEASE}-secrets-toolkit-verify-regions`))).toEqual(['verify', 'regions'])
    expect(args(byName(defaults, 'CronJob', `${RELEASE}-secrets-toolkit-migrate-verify`))).toEqual(['migrate', 'verify'])
    expect(args(byName(defaults, 'CronJob', `${RELEASE}-secrets-toolkit-status`))).toEqual(['status', '--snapshots', '/snapshots', '--max-snapshot-age', '36h', '--min-token-ttl', '24h'])
    expect(defaults.some((object) => object.kind === 'PrometheusRule')).toBe(false)
    expect(byName(defaults, 'PersistentVolumeClaim', `${RELEASE}-secrets-toolkit-snapshots`).metadata.annotations).toEqual({'helm.sh/resource-policy': 'keep'})
  })

  test('default values: the ConfigMap is a configuration the toolkit loads, every region logging in with the projected token', () => {
    const text = byName(defaults, 'ConfigMap', `${RELEASE}-secrets-toolkit-config`).data['secrets-toolkit.yaml']
    const config = parseConfig(text, 'the rendered ConfigMap')
    expect(config.regions.map((region) => region.name)).toEqual(['region1', 'region2'])
    for (const region of config.regions) {
      expect(region.vault.auth).toEqual({method: 'kubernetes', mount: 'kubernetes', role: 'secrets-toolkit', tokenFile: '/var/run/secrets/vault/token'})
    }
  })

  test('default values: RBAC only reads, and only what each job reads', () => {
    const rules = (name: string) => byName(defaults, 'ClusterRole', name).rules
    const fluxReads = [
      {apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], resourceNames: ['kustomizations.kustomize.toolkit.fluxcd.io'], verbs: ['get']},
      {apiGroups: ['kustomize.toolkit.fluxcd.io'], resources: ['kustomizations'], verbs: ['list']},
    ]
    expect(rules(`${NS}-${RELEASE}-secrets-toolkit-migrate-verify`)).toEqual([
      {apiGroups: [''], resources: ['namespaces'], verbs: ['get']},
      ...fluxReads,
      {apiGroups: [''], resources: ['secrets', 'configmaps'], verbs: ['get', 'list']},
      {apiGroups: ['external-secrets.io'], resources: ['pushsecrets'], verbs: ['get', 'list']},
    ])
    expect(rules(`${NS}-${RELEASE}-secrets-toolkit-status`)).toEqual([{apiGroups: ['external-secrets.io'], resources: ['pushsecrets', 'clustersecretstores'], verbs: ['get', 'list']}])
    const bound = defaults.filter((object) => object.kind.endsWith('Binding')).flatMap((binding) => binding.subjects.map((subject: any) => subject.name))
    expect(bound.sort()).toEqual([`${RELEASE}-secrets-toolkit-migrate-verify`, `${RELEASE}-secrets-toolkit-status`])
  })

  test('every option set: flags, metrics, the namespace-scoped Role, the volumes and the PrometheusRule', () => {
    const jobs = cronJobs(custom)
    expect(jobs.map((job) => job.metadata.name).sort()).toEqual([`${RELEASE}-secrets-toolkit-migrate-verify`, `${RELEASE}-secrets-toolkit-snapshot-eu-west`, `${RELEASE}-secrets-toolkit-status`, `${RELEASE}-secrets-toolkit-verify-regions`].sort())
    const metrics = (file: string) => ['--metrics-file', `/metrics/${RELEASE}-secrets-toolkit-${file}.prom`, '--pushgateway', 'http://pushgateway.monitoring:9091', '--metrics-with-names']
    const snapshot = byName(custom, 'CronJob', `${RELEASE}-secrets-toolkit-snapshot-eu-west`)
    expect(args(snapshot)).toEqual(['dr', 'snapshot', '--region', 'eu-west', '--out', '/snapshots', '--keep-within', '7d', '--encrypt-to', CUSTOM_VALUES.snapshot.encryptTo[0], '--no-key-counts', ...metrics('snapshot-eu-west')])
    expect(jobContainer(snapshot).pod.volumes.find((volume: any) => volume.name === 'snapshots')).toEqual({name: 'snapshots', nfs: {server: 'nfs.example.com', path: '/backups/vault'}})
    expect(args(byName(custom, 'CronJob', `${RELEASE}-secrets-toolkit-verify-regions`))).toEqual(['verify', 'regions', '--regions', 'eu-west,us-east', '--path', 'apps', '--exclude', 'apps/**/tmp', ...metrics('verify-regions')])
    expect(args(byName(custom, 'CronJob', `${RELEASE}-secrets-toolkit-migrate-verify`))).toEqual(['migrate', 'verify', '--namespace', TARGET_NS, ...metrics('migrate-verify')])
    expect(args(byName(custom, 'CronJob', `${RELEASE}-secrets-toolkit-status`))).toEqual(['status', '--snapshots', '/snapshots', '--max-snapshot-age', '26h', '--min-token-ttl', '12h', '--max-index-lag', '500', '--namespace', TARGET_NS, ...metrics('status')])
    for (const job of jobs) {
      const {pod, container} = jobContainer(job)
      expect(job.spec.timeZone).toBe('Etc/UTC')
      expect(container.image).toBe(`registry.example.com/platform/secrets-toolkit@sha256:${'a'.repeat(64)}`)
      expect(pod.volumes.find((volume: any) => volume.name === 'metrics')).toEqual({name: 'metrics', hostPath: {path: '/var/lib/node-exporter/textfile', type: 'Directory'}})
      expect(container.env).toContainEqual(CUSTOM_VALUES.env[0])
      expect(pod.volumes.find((volume: any) => volume.name === 'vault-token').projected.sources[0].serviceAccountToken).toEqual({audience: 'vault.example.com', expirationSeconds: 1800, path: 'vault'})
      expect(container.volumeMounts).toContainEqual({name: 'vault-token', mountPath: '/var/run/secrets/tokens', readOnly: true})
    }
    // A region's own auth is kept; a kubernetes one without tokenFile gets the projected token.
    const config = parseConfig(byName(custom, 'ConfigMap', `${RELEASE}-secrets-toolkit-config`).data['secrets-toolkit.yaml'], 'the rendered ConfigMap')
    expect(config.regions[0].vault.auth).toEqual({method: 'kubernetes', mount: 'kubernetes', role: 'toolkit-eu', tokenFile: '/var/run/secrets/tokens/vault'})
    expect(config.regions[1].vault.auth).toEqual({method: 'approle', mount: 'approle', roleId: 'toolkit'})
    expect(custom.some((object) => object.kind === 'PersistentVolumeClaim')).toBe(false)
    // migrateVerify.namespace: the reads of Secrets move into a Role there.
    expect(byName(custom, 'Role', `${RELEASE}-secrets-toolkit-migrate-verify`).metadata.namespace).toBe(TARGET_NS)
    expect(byName(custom, 'ClusterRole', `${NS}-${RELEASE}-secrets-toolkit-migrate-verify`).rules).toEqual([
      {apiGroups: [''], resources: ['namespaces'], verbs: ['get']},
      {apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], resourceNames: ['kustomizations.kustomize.toolkit.fluxcd.io'], verbs: ['get']},
      {apiGroups: ['kustomize.toolkit.fluxcd.io'], resources: ['kustomizations'], verbs: ['list']},
    ])
    const rule = byName(custom, 'PrometheusRule', `${RELEASE}-secrets-toolkit`)
    expect(rule.metadata.labels!.release).toBe('kube-prometheus-stack')
    const alerts = rule.spec.groups[0].rules.map((entry: any) => entry.alert)
    expect(alerts).toEqual(
      expect.arrayContaining(['SecretsToolkitVaultSealed', 'SecretsToolkitPushSecretsNotReady', 'SecretsToolkitVaultTokenExpiring', 'SecretsToolkitSnapshotTooOld', 'SecretsToolkitSnapshotMissing', 'SecretsToolkitDrift', 'SecretsToolkitRunFailed', 'SecretsToolkitJobFailed']),
    )
    expect(rule.spec.groups[0].rules.find((entry: any) => entry.alert === 'SecretsToolkitSnapshotTooOld').expr).toContain('> 93600')
    expect(rule.spec.groups[0].rules.filter((entry: any) => entry.alert === 'SecretsToolkitSnapshotMissing').map((entry: any) => entry.labels.region)).toEqual(['eu-west'])
  })

  test('jobs switch off cleanly: no snapshots (status then checks none), status without ESO (no API token, no RBAC), nothing at all', () => {
    const noSnapshots = render('--set', 'snapshot.enabled=false')
    expect(cronJobs(noSnapshots).map((job) => job.metadata.name).sort()).toEqual([`${RELEASE}-secrets-toolkit-migrate-verify`, `${RELEASE}-secrets-toolkit-status`, `${RELEASE}-secrets-toolkit-verify-regions`])
    expect(noSnapshots.some((object) => object.kind === 'PersistentVolumeClaim')).toBe(false)
    const status = jobContainer(byName(noSnapshots, 'CronJob', `${RELEASE}-secrets-toolkit-status`))
    expect(status.container.args).toEqual(['status', '--min-token-ttl', '24h'])
    expect(status.pod.volumes.map((volume: any) => volume.name)).toEqual(['config', 'vault-token', 'tmp'])

    const noEso = render('--set', 'status.eso=false')
    const statusNoEso = jobContainer(byName(noEso, 'CronJob', `${RELEASE}-secrets-toolkit-status`))
    expect(statusNoEso.container.args.at(-1)).toBe('--no-eso')
    expect(statusNoEso.pod.automountServiceAccountToken).toBe(false)
    expect(noEso.filter((object) => object.kind === 'ClusterRole').map((object) => object.metadata.name)).toEqual([`${NS}-${RELEASE}-secrets-toolkit-migrate-verify`])

    const nothing = render('--set', 'snapshot.enabled=false', '--set', 'verifyRegions.enabled=false', '--set', 'migrateVerify.enabled=false', '--set', 'status.enabled=false')
    expect(nothing.map((object) => object.kind)).toEqual(['ConfigMap'])
  })

  test("every alert's expression parses with Prometheus' own PromQL parser, and every family it reads is one the toolkit writes", () => {
    const rules = byName(custom, 'PrometheusRule', `${RELEASE}-secrets-toolkit`).spec.groups[0].rules as Array<{alert: string; expr: string; labels?: Record<string, string>}>
    const exprs = Object.fromEntries(rules.map((rule) => [`${rule.alert}${rule.labels?.region ? `{${rule.labels.region}}` : ''}`, rule.expr]))
    expect(promqlProblems(exprs)).toEqual([])
    expect(promqlProblems({broken: 'max by (region) (secrets_toolkit_vault_sealed'})).toHaveLength(1)
    const families = new Set(Object.keys(METRIC_FAMILIES).map((family) => `${METRIC_PREFIX}${family}`))
    for (const rule of rules) {
      for (const name of rule.expr.match(/secrets_toolkit_[a-z_]+/g) ?? []) expect([rule.alert, families.has(name)]).toEqual([rule.alert, true])
    }
  })

  test('the real kube-apiserver accepts every rendered object (server-side dry run), default and custom values', () => {
    ok(kubectl(['create', 'namespace', NS]), 'create namespace')
    ok(kubectl(['create', 'namespace', TARGET_NS]), 'create namespace')
    // The PrometheusRule CRD, generated from prometheus-operator's published API types.
    ok(kubectl(['apply', '--server-side', '-f', prometheusRuleCrd()]), 'apply the PrometheusRule CRD')
    ok(kubectl(['wait', '--for=condition=Established', '--timeout=120s', 'crd/prometheusrules.monitoring.coreos.com']), 'wait for the CRD')
    for (const [name, objects, values] of [['default', defaults, []], ['custom', custom, ['--values', customValues]]] as const) {
      const manifest = ok(helm(['template', RELEASE, CHART, '--namespace', NS, ...values]), 'helm template')
      const result = kubectl(['apply', '--dry-run=server', '-f', '-'], manifest)
      if (result.code !== 0) throw new Error(`the API server refused the ${name} rendering:\n${result.stderr}`)
      const accepted = result.stdout.split('\n').filter((line) => line.endsWith('(server dry run)'))
      expect(accepted).toHaveLength(objects.length)
    }
  })

  test("each job's ServiceAccount may read what its job reads and nothing more (the API server's answer)", () => {
    // Installed for real (labelled so afterAll removes the cluster-scoped part); no controller runs the CronJobs here.
    const manifest = ok(helm(['template', RELEASE, CHART, '--namespace', NS, '--values', customValues, '--set', `fullnameOverride=${RELEASE}-${run}`, '--set', 'prometheusRule.enabled=false']), 'helm template')
    const relabelled = manifest.replaceAll(`app.kubernetes.io/instance: ${RELEASE}`, `app.kubernetes.io/instance: ${RELEASE}-${run}`)
    ok(kubectl(['apply', '-f', '-'], relabelled), 'kubectl apply')
    const can = (job: string, verb: string, resource: string, namespace?: string) => {
      const result = kubectl(['auth', 'can-i', verb, resource, `--as=system:serviceaccount:${NS}:${RELEASE}-${run}-${job}`, ...(namespace ? ['-n', namespace] : ['--all-namespaces'])])
      return result.stdout.trim()
    }
    // migrate verify, limited to TARGET_NS: reads there, nowhere else, never writes.
    expect(can('migrate-verify', 'list', 'secrets', TARGET_NS)).toBe('yes')
    expect(can('migrate-verify', 'list', 'configmaps', TARGET_NS)).toBe('yes')
    expect(can('migrate-verify', 'list', 'pushsecrets.external-secrets.io', TARGET_NS)).toBe('yes')
    expect(can('migrate-verify', 'get', 'namespaces')).toBe('yes')
    expect(can('migrate-verify', 'list', 'secrets', NS)).toBe('no')
    expect(can('migrate-verify', 'list', 'secrets')).toBe('no')
    for (const verb of ['create', 'update', 'patch', 'delete']) expect(can('migrate-verify', verb, 'secrets', TARGET_NS)).toBe('no')
    // status: PushSecrets and ClusterSecretStores, read-only; never a Secret.
    expect(can('status', 'list', 'pushsecrets.external-secrets.io')).toBe('yes')
    expect(can('status', 'list', 'clustersecretstores.external-secrets.io')).toBe('yes')
    expect(can('status', 'get', 'secrets', TARGET_NS)).toBe('no')
    expect(can('status', 'patch', 'pushsecrets.external-secrets.io', TARGET_NS)).toBe('no')
    // dr snapshot and verify regions read nothing from Kubernetes.
    for (const job of ['snapshot', 'verify-regions']) {
      expect(can(job, 'get', 'secrets', TARGET_NS)).toBe('no')
      expect(can(job, 'list', 'pushsecrets.external-secrets.io')).toBe('no')
      expect(can(job, 'get', 'configmaps', NS)).toBe('no')
    }
  })
})
