import {existsSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'

import {Flags} from '@oclif/core'

import {BaseCommand} from '../lib/cli/base-command.js'
import {durationFlag} from '../lib/cli/duration.js'
import {connectKube, kubeFlags} from '../lib/cli/kube-flags.js'
import {metricsFlags, startMetrics} from '../lib/cli/metrics-flags.js'
import {findRegion} from '../lib/config/load.js'
import {readCatalog, verdict} from '../lib/dr/catalog.js'
import {verifySnapshotFile} from '../lib/dr/verify.js'
import {ExitCode} from '../lib/errors/errors.js'
import type {KubeClient} from '../lib/kube/client.js'
import {recordStatusMetrics} from '../lib/status/metrics.js'
import type {StatusReport} from '../lib/status/output-schema.js'
import {renderStatus} from '../lib/status/render.js'
import {checkStatus, type SnapshotFact} from '../lib/status/status.js'

/** The newest snapshot of a region in a directory, verified (dr's catalog and check: one integrity checker). */
async function newestSnapshot(directory: string, region: string): Promise<SnapshotFact | undefined> {
  const catalog = await readCatalog(directory, {verify: false, region})
  const newest = catalog.entries.filter((entry) => entry.kind === 'snapshot').at(-1)
  if (!newest) return undefined
  try {
    newest.verify = await verifySnapshotFile(newest.file)
  } catch (error) {
    newest.verifyError = (error as Error).message
  }
  const word = verdict(newest)
  const problem = newest.verifyError ?? newest.manifestError ?? newest.verify?.problems.map((problem) => problem.message).join('; ')
  return {
    file: newest.file,
    createdAt: newest.createdAt,
    bytes: newest.size,
    verification: word === 'ok' ? 'ok' : word === 'ok (hash only)' ? 'hash-only' : 'failed',
    problem: word === 'FAILED' ? problem || undefined : undefined,
  }
}

export default class Status extends BaseCommand<typeof Status> {
  static override summary = 'One health view of the regions\' Vaults, their tokens and snapshots, and ESO — for a human, a probe or a CronJob.'

  static override description = `Per region: each node reachable, initialized, sealed, the active node (vault.addresses lists several nodes), server version, Raft applied index and autopilot health (when the token may read them), the token's remaining TTL and renewability, the applied-index lag between the regions, and with --snapshots the age, size and verification of the region's newest snapshot (dr's check). With a kubeconfig: every configured ClusterSecretStore's Ready condition and every PushSecret that is not Ready (namespace/name, stores, ESO's message), counted per store. Names, states and numbers only — never a value.

--metrics-file / --pushgateway publish the same facts as Prometheus gauges (secrets_toolkit_vault_sealed{region}, …_token_ttl_seconds, …_pushsecrets_not_ready{store}, …_snapshot_age_seconds; see docs/operations.md), also when the run fails.

Exit codes: 0 healthy; 1 degraded — a region sealed, uninitialized or with only standby nodes answering, a node unreachable or sealed, a token under --min-token-ttl, Raft autopilot unhealthy, a newest snapshot missing, failing verification or older than --max-snapshot-age, an applied-index lag above --max-index-lag, a ClusterSecretStore or PushSecret not Ready; 2 could not check — a region with no reachable node, a login or read that failed, Kubernetes unreachable, a bad configuration. The report names each problem.`

  static override examples = [
    {description: 'Both regions, ESO and last night\'s snapshots', command: '<%= config.bin %> <%= command.id %> --snapshots /backups/vault'},
    {description: 'A CronJob: metrics for node-exporter\'s textfile collector, exit code for the Job', command: '<%= config.bin %> <%= command.id %> --snapshots /backups/vault --max-snapshot-age 26h --metrics-file /var/lib/node-exporter/secrets-toolkit-status.prom'},
    {description: 'Push to a Pushgateway and alert on tokens with less than a day left', command: '<%= config.bin %> <%= command.id %> --min-token-ttl 24h --pushgateway http://pushgateway.monitoring:9091'},
    {description: 'Only the Vaults (no Kubernetes), as JSON', command: '<%= config.bin %> <%= command.id %> --no-eso --json'},
  ]

  static override flags = {
    region: Flags.string({char: 'r', description: 'check only this region (repeatable; default: every configured region)', multiple: true}),
    snapshots: Flags.directory({description: 'the directory `dr snapshot --out` writes to: report each region\'s newest snapshot (age, size, verification)'}),
    'max-snapshot-age': durationFlag({description: 'with --snapshots: a newest snapshot older than this is degraded', default: 26 * 3_600_000, defaultHelp: async () => '26h', min: 1}),
    'min-token-ttl': durationFlag({description: 'a Vault token with less time left than this is degraded (0s: never; a token that never expires is fine)', default: 3_600_000, defaultHelp: async () => '1h', min: 0}),
    'max-index-lag': Flags.integer({description: 'a region whose Raft applied index is more than this behind the highest of the regions is degraded (default: reported, not judged)', min: 0}),
    namespace: Flags.string({char: 'n', description: 'check only the PushSecrets in this namespace (repeatable; default: every namespace)', multiple: true}),
    eso: Flags.boolean({description: 'check ESO (ClusterSecretStores, PushSecrets) when a kubeconfig is available (--no-eso: only the Vaults)', default: true, allowNo: true}),
    ...kubeFlags,
    ...metricsFlags,
  }

  public async run(): Promise<StatusReport> {
    const flags = this.flags
    // First: a run that fails on its configuration still publishes its metrics (exit 2).
    this.metricsRun = await startMetrics('status', flags)
    const {config} = this.loadConfig()
    const regions = flags.region ? flags.region.map((name) => findRegion(config, name)) : config.regions
    let kube: KubeClient | undefined
    let skipEsoReason: string | undefined
    if (!flags.eso) skipEsoReason = '--no-eso'
    else if (!this.kubeconfigAvailable(config.kubernetes.kubeconfig)) skipEsoReason = 'no kubeconfig: no --kubeconfig, $KUBECONFIG or ~/.kube/config, and not in a cluster'
    else kube = connectKube(flags, config)
    const snapshotsDir = flags.snapshots
    const report = await checkStatus({
      regions,
      minTokenTtlMs: flags['min-token-ttl'],
      maxSnapshotAgeMs: snapshotsDir ? flags['max-snapshot-age'] : undefined,
      maxIndexLag: flags['max-index-lag'],
      snapshots: snapshotsDir ? {directory: snapshotsDir, newest: (region) => newestSnapshot(snapshotsDir, region)} : undefined,
      kube,
      skipEsoReason,
      namespaces: flags.namespace,
    })
    if (this.metricsRun) recordStatusMetrics(report, this.metricsRun.metrics)
    this.say(renderStatus(report))
    if (report.health === 'unknown') process.exitCode = ExitCode.Error
    else this.findings = report.health === 'degraded'
    return report
  }

  private kubeconfigAvailable(fromConfig: string | undefined): boolean {
    return Boolean(this.flags.kubeconfig || fromConfig || process.env.KUBECONFIG || process.env.KUBERNETES_SERVICE_HOST || existsSync(join(homedir(), '.kube', 'config')))
  }
}
