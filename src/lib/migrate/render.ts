import {describeOwner} from '../gitops/ownership.js'
import {displayText} from '../report/display.js'
import {renderTable} from '../report/table.js'
import type {ApplyResult, PreparedMigration} from './apply.js'
import type {MigrationPlan} from './plan.js'
import type {VerifyReport} from './verify.js'

/** The plan as the operator reads it: file → Secret → keys (names only) → PushSecret → remote paths per region. */
export function renderPlan(plan: MigrationPlan, mount: (region: string) => string): string {
  const lines: string[] = []
  const {discovery} = plan
  lines.push(`Found ${discovery.sopsFiles.length} SOPS file(s) in ${discovery.filesRead} file(s) read; decrypted with the ${plan.engine.name} engine (${plan.engine.reason}).`)
  for (const migration of plan.migrations) {
    const {spec, source, document, origin} = migration.planned
    // File names are untrusted: shown with control characters escaped, so a name cannot redraw the terminal or forge lines.
    const from = origin === 'manifest' && document > 0 ? `${displayText(source)} (document ${document + 1})` : displayText(source)
    lines.push('', `${from}`, `  → Secret ${spec.namespace}/${spec.name} (${spec.type}), keys: ${[...spec.data.keys()].sort().join(', ')}`)
    lines.push(`  → PushSecret ${spec.namespace}/${spec.name}`)
    for (const remote of migration.remotes) {
      lines.push(`      ${remote.region} (${remote.clusterSecretStore}): ${mount(remote.region)}/${remote.remoteKey} [${remote.properties.join(', ')}]`)
    }
  }
  if (plan.failures.length > 0) {
    // Failure messages were escaped when recorded (plan.ts).
    lines.push('', `Skipped ${plan.failures.length} file(s) (--continue-on-error):`)
    for (const failure of plan.failures) lines.push(`  ${failure.message} [${failure.code}]`)
  }
  if (discovery.configFiles.length > 0) {
    lines.push('', `SOPS configuration to remove after the migration is verified: ${discovery.configFiles.map(displayText).join(', ')}`)
  }
  for (const skipped of discovery.skipped) lines.push(`note: skipped ${displayText(skipped.path)}: ${skipped.reason}`)
  return lines.join('\n')
}

export function renderActions(prepared: PreparedMigration[]): string {
  // Who applies the Secret today: the migration writes that tool's prune protection with it (gitops/ownership.ts).
  const rows = prepared.map((item) => [`${item.planned.spec.namespace}/${item.planned.spec.name}`, item.secretAction, item.pushSecretAction, item.owners.length > 0 ? `owned by ${item.owners.map(describeOwner).join(', ')}; prune protection added` : '-'])
  return renderTable(['SECRET', 'SECRET ACTION', 'PUSHSECRET ACTION', 'OWNER'], rows)
}

export function renderApplyResult(result: ApplyResult): string {
  const part = (counts: Record<string, number>) => `${counts.create} created, ${counts.update} updated, ${counts.unchanged} unchanged`
  const namespaces = result.namespacesCreated.length > 0 ? `\nNamespaces created: ${result.namespacesCreated.join(', ')}` : ''
  return `Secrets: ${part(result.secrets)}\nPushSecrets: ${part(result.pushSecrets)}${namespaces}`
}

export function renderVerifyReport(report: VerifyReport): string {
  const rows = report.rows.map((row) => [row.secret, row.where, row.status, row.keys.join(', '), row.detail ?? ''])
  const counts = Object.entries(report.counts)
    .map(([status, count]) => `${status}: ${count}`)
    .join(', ')
  const verdict = report.inSync ? `All ${report.secrets} Secret(s) are in Kubernetes and in every region.` : `Not in sync (${counts}).`
  return `${renderTable(['SECRET', 'WHERE', 'STATUS', 'KEYS', 'DETAIL'], rows)}\n\n${verdict}`
}
