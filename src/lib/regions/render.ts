import {displayKey, heading, type OutputFormat, table} from '../compare/render.js'
import type {RequestStats} from '../vault/vault-http.js'
import type {RepairPlan} from './plan.js'
import type {RepairResult} from './repair.js'

export function renderPlan(plan: RepairPlan, format: OutputFormat): string {
  const parts: string[] = []
  const counts = Object.entries(plan.counts)
    .filter(([, count]) => count > 0)
    .map(([action, count]) => `${count} ${action}`)
  parts.push(`Repair plan: make ${plan.to} match ${plan.from} — ${plan.keys} key(s) to change${counts.length ? ` (${counts.join(', ')})` : ''}, ${plan.skipped.length} skipped`)
  if (plan.steps.length > 0) {
    parts.push(table(format, ['action', 'key', 'reason', 'guard'], plan.steps.map((step) => [step.action, displayKey(step.key), step.reason, guard(step.action, step.targetVersion, plan.to)])))
  }
  if (plan.skipped.length > 0) {
    parts.push(heading(format, 'Skipped'), table(format, ['key', 'class', 'reason'], plan.skipped.map((s) => [displayKey(s.key), s.classes.join(', '), s.reason])))
  }
  if (plan.counts['update-value'] > 0) parts.push(`Overwritten values stay in ${plan.to}'s version history (up to its max_versions).`)
  if (plan.counts.delete > 0) parts.push(`Deleting removes every version of a key: applying this plan needs --backup-dir DIR (a Raft snapshot of ${plan.to} is taken first) or --no-backup.`)
  return parts.join('\n\n')
}

function guard(action: string, targetVersion: number | undefined, to: string): string {
  if (action === 'create') return `cas=0 (still absent in ${to})`
  if (action === 'update-value') return `cas=${targetVersion} (${to} unchanged)`
  if (action === 'delete' || action === 'soft-delete') return `${to} still at v${targetVersion}`
  return ''
}

export function renderRepairResult(result: RepairResult, format: OutputFormat): string {
  const parts = [`Applied to ${result.to}: ${result.counts.applied} step(s) applied, ${result.counts.conflict} conflict(s), ${result.counts.failed} failure(s), ${result.counts['not-attempted']} not attempted`]
  const problems = result.outcomes.filter((outcome) => outcome.result !== 'applied')
  if (problems.length > 0) {
    parts.push(table(format, ['result', 'action', 'key', 'why'], problems.map((o) => [o.result, o.action, displayKey(o.key), o.message ?? ''])))
  }
  return parts.join('\n\n')
}

/**
 * One line per region that needed retries: the failures the run recovered
 * from (answers that were not Vault's JSON, timeouts, server errors, lost
 * connections). Every verdict above still comes from a good answer.
 */
export function renderRequestNote(requests: Record<string, RequestStats>): string {
  const lines: string[] = []
  for (const [region, stats] of Object.entries(requests)) {
    if (stats.retried === 0 && stats.badResponses + stats.timeouts + stats.networkErrors + stats.serverErrors === 0) continue
    const kinds = [
      stats.badResponses ? `${stats.badResponses} answer(s) that were not Vault's JSON` : '',
      stats.timeouts ? `${stats.timeouts} timeout(s)` : '',
      stats.serverErrors ? `${stats.serverErrors} server error(s)` : '',
      stats.networkErrors ? `${stats.networkErrors} connection failure(s)` : '',
    ].filter(Boolean)
    lines.push(`Note: region ${region}: ${stats.retried} of ${stats.requests} request(s) were retries after failures (${kinds.join(', ') || 'no detail'}); no failed answer was read as data.`)
  }
  return lines.join('\n')
}
