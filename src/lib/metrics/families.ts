import type {RunMetrics} from './run-metrics.js'

// How the reports of the scheduled commands become gauges. Plain shapes (the
// fields the reports have), so this client-layer module knows no domain.

/**
 * verify regions: keys per drift class. `only-in-X` and `deleted-in-X` are
 * labelled class="only-in"/"deleted-in" with region="X"; the symmetric
 * classes (value-differs, metadata-differs, in-sync) with both regions, "a,b".
 */
export function recordDrift(metrics: RunMetrics, comparison: {regions: readonly [string, string] | string[]; counts: Record<string, number>; keysCompared: number; keysWithDrift: number}): void {
  const pair = comparison.regions.join(',')
  metrics.set('drift_keys', {class: 'in-sync', region: pair}, Math.max(0, comparison.keysCompared - comparison.keysWithDrift))
  for (const region of comparison.regions) {
    metrics.set('drift_keys', {class: 'only-in', region}, comparison.counts[`only-in-${region}`] ?? 0)
    metrics.set('drift_keys', {class: 'deleted-in', region}, comparison.counts[`deleted-in-${region}`] ?? 0)
  }
  for (const name of ['value-differs', 'metadata-differs']) metrics.set('drift_keys', {class: name, region: pair}, comparison.counts[name] ?? 0)
}

/** dr snapshot: the snapshot just saved and verified. */
export function recordSnapshot(metrics: RunMetrics, snapshot: {region: string; bytes: number; createdAt: Date}, now: Date = new Date()): void {
  const labels = {region: snapshot.region}
  metrics.set('snapshot_bytes', labels, snapshot.bytes)
  metrics.set('snapshot_timestamp_seconds', labels, snapshot.createdAt.getTime() / 1000)
  metrics.set('snapshot_age_seconds', labels, Math.max(0, (now.getTime() - snapshot.createdAt.getTime()) / 1000))
  metrics.set('snapshot_verified', labels, true)
}

/** migrate verify: checks by status, planned Secrets missing, complete or not; with names, each check out of sync. */
export function recordMigrateVerify(
  metrics: RunMetrics,
  report: {counts: Record<string, number>; inSync: boolean; completeness: {proven: boolean; missing: string[]}; rows: {secret: string; where: string; status: string}[]},
): void {
  for (const [status, count] of Object.entries(report.counts)) metrics.set('migrate_checks', {status}, count)
  metrics.set('migrate_planned_missing', {}, report.completeness.missing.length)
  metrics.set('migrate_complete', {}, report.inSync && report.completeness.proven)
  for (const row of report.rows) if (row.status !== 'in-sync') metrics.set('migrate_problem', {secret: row.secret, where: row.where, status: row.status}, 1)
}
