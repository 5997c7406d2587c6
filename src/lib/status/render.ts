import {displayText} from '../report/display.js'
import {renderTable} from '../report/table.js'
import type {RegionStatus, StatusReport} from './output-schema.js'
import {formatSeconds} from './status.js'

function tokenCell(region: RegionStatus): string {
  if (!region.token) return '-'
  if (!region.token.expires) return 'never expires'
  return `${formatSeconds(region.token.ttlSeconds)}${region.token.renewable ? ' (renewable)' : ''}`
}

function snapshotCell(region: RegionStatus): string {
  const snapshot = region.snapshot
  if (!snapshot) return '-'
  if (snapshot.verification === 'missing') return 'MISSING'
  const age = snapshot.ageSeconds === undefined ? '?' : `${formatSeconds(snapshot.ageSeconds)} old`
  const verdict = snapshot.verification === 'ok' ? 'ok' : snapshot.verification === 'hash-only' ? 'ok (hash only)' : 'FAILED'
  return `${age}, ${snapshot.bytes ?? '?'} B, ${verdict}`
}

function stateCell(region: RegionStatus): string {
  const nodes = region.nodes.length > 1 ? ` ${region.nodes.filter((node) => node.reachable && !node.sealed).length}/${region.nodes.length} nodes` : ''
  return `${region.haState === 'active' ? 'active' : region.haState.toUpperCase()}${nodes}`
}

/** The compact human view: one row per region, one line per store, then every problem. */
export function renderStatus(report: StatusReport): string {
  const lines: string[] = []
  lines.push(
    renderTable(
      ['region', 'state', 'version', 'applied index', 'lag', 'autopilot', 'token TTL', 'newest snapshot'],
      report.regions.map((region) => [
        displayText(region.region),
        stateCell(region),
        region.version ?? '-',
        region.raftAppliedIndex ?? '-',
        region.indexLag ?? '-',
        region.autopilot ? (region.autopilot.healthy ? 'healthy' : 'UNHEALTHY') : '-',
        tokenCell(region),
        snapshotCell(region),
      ]),
    ),
  )
  lines.push('')
  if (report.eso.checked) {
    lines.push(
      renderTable(
        ['ClusterSecretStore', 'ready', 'PushSecrets not Ready'],
        report.eso.stores.map((store) => [displayText(store.name), store.found ? (store.ready ? 'yes' : 'NO') : 'NOT FOUND', store.pushSecretsNotReady]),
      ),
    )
    lines.push(`PushSecrets: ${report.eso.pushSecrets.total} checked, ${report.eso.pushSecrets.notReady.length} not Ready`)
  } else {
    lines.push(`ESO: not checked (${report.eso.reason ?? 'no kubeconfig'})`)
  }
  lines.push('')
  if (report.problems.length === 0) {
    lines.push('healthy')
  } else {
    lines.push(`${report.health === 'unknown' ? 'could not check everything' : 'degraded'}: ${report.problems.length} problem(s)`)
    for (const problem of report.problems) lines.push(`  ${problem.severity === 'unknown' ? 'UNKNOWN ' : 'DEGRADED'} ${problem.message}`)
  }
  return lines.join('\n')
}
