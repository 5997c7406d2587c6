import {relative} from 'node:path'

import {displayText} from '../report/display.js'
import {renderTable} from '../report/table.js'
import {verdict, type Catalog} from './catalog.js'
import type {RestoreContext, RestorePlan} from './restore.js'
import {formatBytes, type SnapshotContext} from './save.js'
import type {VerifyReport} from './verify.js'

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`
/**
 * File names, tar member names, manifest fields and the messages built from
 * them come from files anyone with write access to the backup directory can
 * shape: every one reaches the terminal through displayText (escaped control
 * characters), so a name cannot recolour, clear or forge report lines.
 */
const shown = (text: string | number | undefined, missing = '?') => (text === undefined ? missing : displayText(String(text)))
const shortPath = (path: string) => {
  const rel = relative(process.cwd(), path)
  return displayText(rel.startsWith('..') || rel === '' ? path : rel)
}

export function renderSnapshot(ctx: SnapshotContext): string {
  const manifest = ctx.manifest!
  const lines = [
    `Snapshot of region ${shown(manifest.region)} saved and verified: ${shortPath(ctx.archiveFile!)}`,
    `  size ${formatBytes(manifest.archive.size)}, SHA-256 ${manifest.archive.sha256}${manifest.encryption ? ` (age-encrypted to ${manifest.encryption.recipients.length} recipient(s))` : ''}`,
    `  Raft index ${manifest.raft.index}, term ${manifest.raft.term}; cluster ${shown(manifest.server.clusterName)} [${shown(manifest.server.clusterId)}], Vault ${shown(manifest.server.version)}, seal ${shown(manifest.server.sealType)}`,
    `  taken in ${seconds(manifest.durationMs)}; manifest ${shortPath(ctx.manifestFile!)}`,
  ]
  if (manifest.keyCounts) {
    const counts = Object.entries(manifest.keyCounts.mounts).map(([mount, count]) => `${shown(mount)}=${count}`)
    lines.push(`  keys per mount: ${counts.join(', ') || '(none countable)'}${manifest.keyCounts.stable ? '' : ' (approximate)'}`)
    for (const note of manifest.keyCounts.notes) lines.push(`  note: ${shown(note)}`)
  }
  if (ctx.pruned && ctx.pruned.length > 0) {
    lines.push(`  pruned ${ctx.pruned.length} older snapshot(s):`)
    for (const pruned of ctx.pruned) lines.push(`    - ${shortPath(pruned.file)}`)
  }
  return lines.join('\n')
}

export function renderVerify(report: VerifyReport): string {
  const lines = [`${report.ok ? 'OK' : 'FAILED'}: ${shortPath(report.file)} (${formatBytes(report.size)}${report.encrypted ? ', age-encrypted' : ''})`]
  if (report.inspection?.raft) {
    const {raft} = report.inspection
    lines.push(`  Raft index ${raft.index}, term ${raft.term}, id ${shown(raft.id)}`)
  }
  if (report.inspection && report.inspection.members.length > 0) {
    lines.push(`  members: ${report.inspection.members.map((m) => `${shown(m.name)} (${formatBytes(m.size)})`).join(', ')}`)
  }
  if (report.manifest) {
    const m = report.manifest
    lines.push(`  manifest: region ${shown(m.region)}, taken ${shown(m.createdAt)}, cluster ${shown(m.server.clusterName)} [${shown(m.server.clusterId)}]`)
  }
  for (const problem of report.problems) lines.push(`  problem [${problem.code}]: ${shown(problem.message)}`)
  for (const note of report.notes) lines.push(`  note: ${shown(note)}`)
  return lines.join('\n')
}

export function renderCatalog(catalog: Catalog): string {
  if (catalog.entries.length === 0 && catalog.strays.length === 0) return `No snapshots in ${shown(catalog.directory)}.`
  const rows = catalog.entries.map((entry) => [
    entry.createdAt?.toISOString() ?? '?',
    shown(entry.region),
    shown(entry.kind),
    formatBytes(entry.size),
    entry.manifest?.raft.index ?? entry.verify?.inspection?.raft?.index ?? '?',
    entry.encrypted ? 'age' : '-',
    verdict(entry),
    shortPath(entry.file),
  ])
  const lines = [renderTable(['TAKEN (UTC)', 'REGION', 'KIND', 'SIZE', 'INDEX', 'ENC', 'VERIFIES', 'FILE'], rows)]
  for (const entry of catalog.entries) {
    const reasons = [
      ...(entry.manifestError ? [entry.manifestError] : []),
      ...(entry.verifyError ? [entry.verifyError] : []),
      ...(entry.verify && !entry.verify.ok ? entry.verify.problems.map((p) => p.message) : []),
    ]
    for (const reason of reasons) lines.push(`  ${shown(entry.name)}: ${shown(reason)}`)
  }
  for (const stray of catalog.strays) lines.push(`stray: ${shortPath(stray.file)}: ${shown(stray.reason)}`)
  return lines.join('\n')
}

export function renderPlan(plan: RestorePlan): string {
  const {snapshot, target} = plan
  const position =
    plan.clusterMatch === 'same' && target.appliedIndex !== undefined
      ? snapshot.raftIndex <= target.appliedIndex
        ? `goes back ${target.appliedIndex - snapshot.raftIndex} Raft entries (cluster is at ${target.appliedIndex})`
        : `is ahead of the cluster (at ${target.appliedIndex})`
      : `cluster is at ${target.appliedIndex ?? '?'} (different history: indexes do not compare)`
  const lines = [
    'Restore plan:',
    // target.address is redacted (no user:password) and escaped when the plan is built: it is in --json too.
    `  target     region ${shown(target.region)} at ${target.address}: cluster ${shown(target.clusterName)} [${shown(target.clusterId)}], Vault ${shown(target.version)}, seal ${shown(target.sealType)}`,
    `  snapshot   ${shortPath(snapshot.file)} (${formatBytes(snapshot.size)}${snapshot.encrypted ? ', age-encrypted' : ''}): region ${shown(snapshot.region)}, taken ${shown(snapshot.createdAt)}, cluster ${shown(snapshot.clusterName)} [${shown(snapshot.clusterId)}]`,
    `  raft       snapshot index ${snapshot.raftIndex} (term ${snapshot.raftTerm}) ${position}`,
    `  cluster    ${plan.clusterMatch === 'same' ? 'same cluster' : plan.clusterMatch === 'different' ? 'DIFFERENT CLUSTER (--force)' : 'unknown origin'}; endpoint POST /v1/${plan.endpoint}`,
    `  safety     ${plan.safetySnapshotDir ? `snapshot of the current state into ${shortPath(plan.safetySnapshotDir)} first` : 'NONE (--no-safety-snapshot)'}`,
  ]
  // Warnings and check details are escaped where restore.ts builds them (they are in --json too).
  for (const warning of plan.warnings) lines.push(`  WARNING: ${warning}`)
  return lines.join('\n')
}

export function renderRestoreReport(ctx: RestoreContext, ok: boolean): string {
  const lines: string[] = []
  if (ctx.snapshot?.archiveFile) lines.push(`Safety snapshot: ${shortPath(ctx.snapshot.archiveFile)}${ctx.safetyVerify?.ok ? ' (verified)' : ''}`)
  if (ctx.upload) lines.push(`Uploaded ${formatBytes(ctx.upload.bytes)} to /v1/${ctx.upload.endpoint} in ${seconds(ctx.upload.durationMs)}.`)
  lines.push('Post-restore checks:')
  lines.push(renderTable(['CHECK', 'RESULT', 'DETAIL'], ctx.checks.map((check) => [check.name, check.status, check.detail])))
  lines.push('', ok ? 'RESTORED: the server is healthy and holds the snapshot\'s data.' : 'NOT CONFIRMED: the restore ran but the checks above did not all pass — follow their advice (docs/runbooks/dr-restore.md).')
  return lines.join('\n')
}
