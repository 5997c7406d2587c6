import type {RunMetrics} from '../metrics/run-metrics.js'
import type {StatusReport} from './output-schema.js'

/** What a status report says, as gauges: states, indexes, TTLs, ages, sizes and counts — names of regions and stores only. */
export function recordStatusMetrics(report: StatusReport, metrics: RunMetrics): void {
  for (const region of report.regions) {
    const labels = {region: region.region}
    metrics.set('vault_up', labels, region.reachable)
    if (!region.reachable) continue
    if (region.initialized !== undefined) metrics.set('vault_initialized', labels, region.initialized)
    if (region.sealed !== undefined) metrics.set('vault_sealed', labels, region.sealed)
    metrics.set('vault_active', labels, region.haState === 'active')
    if (region.raftAppliedIndex !== undefined) metrics.set('vault_raft_applied_index', labels, region.raftAppliedIndex)
    if (region.indexLag !== undefined) metrics.set('vault_raft_index_lag', labels, region.indexLag)
    if (region.token) {
      metrics.set('token_ttl_seconds', labels, region.token.ttlSeconds)
      metrics.set('token_renewable', labels, region.token.renewable)
    }
  }
  for (const region of report.regions) {
    const snapshot = region.snapshot
    if (!snapshot) continue
    const labels = {region: region.region}
    metrics.set('snapshot_verified', labels, snapshot.verification === 'ok' || snapshot.verification === 'hash-only')
    if (snapshot.bytes !== undefined) metrics.set('snapshot_bytes', labels, snapshot.bytes)
    if (snapshot.ageSeconds !== undefined) metrics.set('snapshot_age_seconds', labels, snapshot.ageSeconds)
    if (snapshot.createdAt !== undefined) metrics.set('snapshot_timestamp_seconds', labels, Date.parse(snapshot.createdAt) / 1000)
  }
  if (!report.eso.checked) return
  for (const store of report.eso.stores) {
    metrics.set('clustersecretstore_ready', {store: store.name}, store.ready)
    metrics.set('pushsecrets_not_ready', {store: store.name}, store.pushSecretsNotReady)
  }
  for (const [store, count] of Object.entries(report.eso.pushSecrets.notReadyByStore)) {
    if (!report.eso.stores.some((known) => known.name === store)) metrics.set('pushsecrets_not_ready', {store}, count)
  }
  for (const item of report.eso.pushSecrets.notReady) {
    for (const store of item.stores) metrics.set('pushsecret_not_ready', {namespace: item.namespace, name: item.name, store}, 1)
  }
}
