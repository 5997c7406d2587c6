import {randomBytes} from 'node:crypto'
import {mkdir, open, rename, rm} from 'node:fs/promises'
import {basename, dirname, join, resolve} from 'node:path'

import {Gauge, Pushgateway, Registry, type RegistryContentType} from 'prom-client'

import {ToolkitError} from '../errors/errors.js'
import {displayText, redactUrl} from '../report/display.js'

/** Every metric family the toolkit writes: all gauges, all under secrets_toolkit_. */
export const METRIC_FAMILIES = {
  last_run_timestamp_seconds: {help: 'When this command last finished (Unix time), by command and result (ok, findings, error).', labels: ['command', 'result']},
  last_run_duration_seconds: {help: 'How long the last run of this command took.', labels: ['command']},
  last_run_exit_code: {help: 'The exit code of the last run: 0 ok, 1 findings or degraded, 2 error (could not check).', labels: ['command']},
  vault_up: {help: '1 when the region\'s Vault answered sys/health, 0 when it could not be reached.', labels: ['region']},
  vault_initialized: {help: '1 when the region\'s Vault is initialized.', labels: ['region']},
  vault_sealed: {help: '1 when the region\'s Vault is sealed.', labels: ['region']},
  vault_active: {help: '1 when an active (leader) node of the region answered; 0 when only standbys did.', labels: ['region']},
  vault_raft_applied_index: {help: 'The Raft applied index of the region\'s active node.', labels: ['region']},
  vault_raft_index_lag: {help: 'How far this region\'s applied index is behind the highest of the checked regions.', labels: ['region']},
  token_ttl_seconds: {help: 'Seconds left on the toolkit\'s Vault token for the region; 0 means it never expires.', labels: ['region']},
  token_renewable: {help: '1 when the toolkit\'s Vault token for the region is renewable.', labels: ['region']},
  drift_keys: {help: 'Keys of verify regions by class (in-sync, only-in-<region>, value-differs, metadata-differs, deleted-in-<region>).', labels: ['class', 'region']},
  pushsecrets_not_ready: {help: 'PushSecrets whose Ready condition is not True, per ClusterSecretStore they push to.', labels: ['store']},
  pushsecret_not_ready: {help: 'A PushSecret that is not Ready (only with --metrics-with-names).', labels: ['namespace', 'name', 'store']},
  clustersecretstore_ready: {help: '1 when the ClusterSecretStore\'s Ready condition is True.', labels: ['store']},
  snapshot_bytes: {help: 'Size of the region\'s newest snapshot (dr snapshot: the one just saved).', labels: ['region']},
  snapshot_age_seconds: {help: 'Age of the region\'s newest snapshot in the snapshot directory.', labels: ['region']},
  snapshot_verified: {help: '1 when the region\'s newest snapshot passed verification.', labels: ['region']},
  snapshot_timestamp_seconds: {help: 'When the region\'s newest snapshot was taken (Unix time).', labels: ['region']},
  migrate_checks: {help: 'migrate verify\'s checks (one per Secret and region) by status (in-sync, missing, value-differs, …).', labels: ['status']},
  migrate_planned_missing: {help: 'Secrets a migration run planned that do not exist in Kubernetes.', labels: []},
  migrate_complete: {help: '1 when migrate verify proved every planned Secret is in every region.', labels: []},
  migrate_problem: {help: 'A check of migrate verify that is not in sync (only with --metrics-with-names).', labels: ['secret', 'where', 'status']},
} as const satisfies Record<string, {help: string; labels: readonly string[]}>

export type MetricFamily = keyof typeof METRIC_FAMILIES
export type RunResult = 'ok' | 'findings' | 'error'

export const METRIC_PREFIX = 'secrets_toolkit_'

/** Families that carry a secret's or PushSecret's name: written only with --metrics-with-names. */
const NAMED_FAMILIES = new Set<MetricFamily>(['pushsecret_not_ready', 'migrate_problem'])

export function resultOf(exitCode: number): RunResult {
  return exitCode === 0 ? 'ok' : exitCode === 1 ? 'findings' : 'error'
}

/**
 * The metrics of one run of one command, in a registry of its own (never
 * prom-client's global one: nothing of another run or of the process leaks
 * in). Only numbers from reports go in — counts, states, indexes, sizes,
 * times — and names of regions and stores; never a value, and a secret's
 * name only when `withNames` is set.
 */
export class RunMetrics {
  readonly registry = new Registry<RegistryContentType>()
  readonly #gauges = new Map<MetricFamily, Gauge>()
  readonly #started = Date.now()

  constructor(
    readonly command: string,
    readonly options: {withNames: boolean} = {withNames: false},
  ) {}

  /** Sets one series; booleans become 1/0. A named family is dropped unless names were asked for. */
  set(family: MetricFamily, labels: Record<string, string>, value: number | boolean): void {
    if (NAMED_FAMILIES.has(family) && !this.options.withNames) return
    this.#gauge(family).set(labels, typeof value === 'boolean' ? (value ? 1 : 0) : value)
  }

  /** The run's own families; called once when the exit code is known. */
  finish(exitCode: number, now: number = Date.now()): void {
    this.set('last_run_timestamp_seconds', {command: this.command, result: resultOf(exitCode)}, now / 1000)
    this.set('last_run_duration_seconds', {command: this.command}, (now - this.#started) / 1000)
    this.set('last_run_exit_code', {command: this.command}, exitCode)
  }

  /** The OpenMetrics text (gauges only, so Prometheus' text parser and node-exporter's textfile collector read it too). */
  async openMetrics(): Promise<string> {
    this.registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE)
    return this.registry.metrics()
  }

  /**
   * Writes the OpenMetrics text atomically: a temporary file in the same
   * directory, flushed, then renamed over PATH, so a collector never reads
   * half a file.
   */
  async writeFile(path: string): Promise<void> {
    const target = resolve(path)
    const dir = dirname(target)
    const temporary = join(dir, `.${basename(target)}.${randomBytes(4).toString('hex')}.tmp`)
    try {
      await mkdir(dir, {recursive: true})
      const handle = await open(temporary, 'wx', 0o644)
      try {
        await handle.writeFile(await this.openMetrics())
        await handle.sync()
      } finally {
        await handle.close()
      }
      await rename(temporary, target)
    } catch (error) {
      // Removing may fail the same way the write did (the parent is not a directory): the write's reason is the one to tell.
      await rm(temporary, {force: true}).catch(() => undefined)
      throw new ToolkitError('METRICS_WRITE_FAILED', `cannot write the metrics file ${displayText(target)} (${(error as NodeJS.ErrnoException).code ?? 'failed'})`, {
        hint: 'Check that the directory exists or can be created and is writable (node-exporter\'s textfile directory, or the shared volume).',
      })
    }
  }

  /**
   * Pushes the same families to a Pushgateway (PUT: replaces this group),
   * in the Prometheus text format the Pushgateway documents. The group is
   * job="secrets-toolkit" plus `grouping` (command, and region where one
   * command runs once per region).
   */
  async push(url: string, grouping: Record<string, string>): Promise<void> {
    this.registry.setContentType(Registry.PROMETHEUS_CONTENT_TYPE)
    const gateway = new Pushgateway(url, {timeout: 10_000, headers: {'Content-Type': Registry.PROMETHEUS_CONTENT_TYPE}}, this.registry)
    try {
      await gateway.push({jobName: 'secrets-toolkit', groupings: grouping})
    } catch (error) {
      // prom-client rejects a 4xx/5xx with "push failed with status N, <body>": only the status is kept.
      const status = /status (\d+)/.exec((error as Error).message)?.[1]
      const reason = status ? `HTTP ${status}` : ((error as NodeJS.ErrnoException).code ?? 'failed')
      throw new ToolkitError('METRICS_PUSH_FAILED', `cannot push metrics to the Pushgateway ${redactUrl(url)} (${displayText(String(reason))})`, {
        hint: 'Check the --pushgateway URL (scheme://host:port, without /metrics/job/…) and that the Pushgateway is reachable.',
      })
    }
  }

  #gauge(family: MetricFamily): Gauge {
    let gauge = this.#gauges.get(family)
    if (!gauge) {
      const {help, labels} = METRIC_FAMILIES[family]
      gauge = new Gauge({name: `${METRIC_PREFIX}${family}`, help, labelNames: [...labels], registers: [this.registry]})
      this.#gauges.set(family, gauge)
    }
    return gauge
  }
}
