import {renderTable} from '../report/table.js'
import type {ScanReport} from './scan.js'
import type {NextSteps, ScrubPlan} from './scrub.js'

const MAX_LIST = 5

function list(items: string[]): string {
  return items.length <= MAX_LIST ? items.join(', ') : `${items.slice(0, MAX_LIST).join(', ')} (+${items.length - MAX_LIST} more, see --json)`
}

/** Human report: object ids, paths, commits and secret/key names only. */
export function renderScanReport(report: ScanReport): string {
  const lines: string[] = []
  const mb = report.objects.bytes / 1e6
  lines.push(`Scanned ${report.objects.scanned} objects (${mb.toFixed(1)} MB, ${report.objects.commits} commits) in ${(report.durationMs / 1000).toFixed(1)} s.`)
  if (report.sopsBlobs.length > 0) {
    lines.push('', `SOPS-encrypted blobs (${report.sopsBlobs.length}):`)
    lines.push(renderTable(['BLOB', 'FORMAT', 'PATHS', 'COMMITS'], report.sopsBlobs.map((f) => [f.blob.slice(0, 12), f.format, list(f.paths) || '(unreferenced)', list(f.commits.map((c) => c.slice(0, 12)))])))
  }
  if (report.sopsConfigs.length > 0) {
    lines.push('', `.sops.yaml files (${report.sopsConfigs.length}):`)
    lines.push(renderTable(['BLOB', 'PATHS', 'COMMITS'], report.sopsConfigs.map((f) => [f.blob.slice(0, 12), list(f.paths), list(f.commits.map((c) => c.slice(0, 12)))])))
  }
  if (report.valueFindings.length > 0) {
    lines.push('', `Known secret values found (${report.valueFindings.length} objects):`)
    lines.push(
      renderTable(
        ['OBJECT', 'TYPE', 'WHERE', 'SECRET / KEY (FORMS)'],
        report.valueFindings.map((f) => [
          f.object.slice(0, 12),
          f.objectType,
          f.objectType === 'tag' ? `tag ${f.tag ?? '?'}` : f.objectType === 'commit' ? 'commit message' : list(f.paths) || '(unreferenced)',
          f.matches.map((m) => `${m.secret} / ${m.key} (${m.forms.join(', ')})`).join('; '),
        ]),
      ),
    )
  }
  for (const skip of report.skippedValues) lines.push(`warning: not searched: ${skip.secret} / ${skip.key} — ${skip.reason}`)
  for (const warning of report.warnings) lines.push(`warning: ${warning}`)
  lines.push('', report.clean ? 'Clean: no SOPS files, .sops.yaml or known values in any object.' : 'Findings: secret material is present in this repository’s objects.')
  return lines.join('\n')
}

export function renderPlan(plan: ScrubPlan): string {
  const lines = [`Plan for ${plan.repository} (engine: ${plan.engine}${plan.filterRepo ? ` ${plan.filterRepo.version ?? ''}${plan.filterRepo.sensitiveDataRemoval ? ', --sensitive-data-removal' : ''}` : ''}):`]
  lines.push(`  remove ${plan.pathsToRemove.length} paths from every commit:`)
  for (const path of plan.pathsToRemove) lines.push(`    - ${path}`)
  lines.push(`  strip ${plan.blobsToStrip.length} blobs wherever they appear`)
  lines.push(`  replace ${plan.replacements} value forms with ***REMOVED*** (${plan.valueObjects} objects hold them)`)
  if (plan.pathsAtHead.length > 0) lines.push(`  note: these paths exist at HEAD and will disappear from it too: ${plan.pathsAtHead.join(', ')}`)
  return lines.join('\n')
}

export function renderNextSteps(steps: NextSteps): string {
  const lines = ['What to do next:', '  1. Force-push the rewritten branches and tags (not refs/pull/*, which the host owns):']
  for (const command of steps.pushCommands) lines.push(`       ${command}`)
  if (steps.firstChangedCommits.length > 0) {
    lines.push(`  2. History changed first at these (old) commits — anything based on them must be rebased or re-cloned:`)
    lines.push(`       ${list(steps.firstChangedCommits.map((c) => c.slice(0, 12)))}`)
  }
  steps.notes.forEach((note, index) => lines.push(`  ${index + 3}. ${note}`))
  return lines.join('\n')
}
