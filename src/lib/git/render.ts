import {displayText} from '../report/display.js'
import {renderTable} from '../report/table.js'
import type {ScanReport} from './scan.js'
import type {NextSteps, ScrubPlan} from './scrub.js'

const MAX_LIST = 5

/** Paths, tag and secret names come from the repository: shown with control characters escaped. */
function list(items: string[]): string {
  const shown = items.map(displayText)
  return shown.length <= MAX_LIST ? shown.join(', ') : `${shown.slice(0, MAX_LIST).join(', ')} (+${shown.length - MAX_LIST} more, see --json)`
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`
}

const UNCHECKED_REASON = {
  'too-large-with-sops-markers': 'too large to parse, carries SOPS markers: cannot be checked',
  'unparsable-with-sops-markers': 'could not be parsed, carries SOPS markers: cannot be checked',
  'lfs-object-missing': 'LFS object not present, cannot be checked (git lfs fetch --all)',
} as const

/** Human report: object ids, paths, commits and secret/key names only. */
export function renderScanReport(report: ScanReport): string {
  const lines: string[] = []
  const lfs = report.objects.lfsObjects > 0 ? `, ${report.objects.lfsObjects} LFS objects` : ''
  lines.push(`Scanned ${report.objects.scanned} objects (${mb(report.objects.bytes)}, ${report.objects.commits} commits${lfs}) in ${(report.durationMs / 1000).toFixed(1)} s.`)
  if (report.sopsBlobs.length > 0) {
    lines.push('', `SOPS-encrypted blobs (${report.sopsBlobs.length}):`)
    lines.push(
      renderTable(
        ['BLOB', 'FORMAT', 'PATHS', 'COMMITS'],
        report.sopsBlobs.map((f) => [f.blob.slice(0, 12) + (f.lfsObject ? ` (LFS ${f.lfsObject.slice(0, 12)})` : ''), f.format, list(f.paths) || '(unreferenced)', list(f.commits.map((c) => c.slice(0, 12)))]),
      ),
    )
  }
  if (report.uncheckedBlobs.length > 0) {
    lines.push('', `Blobs that could not be checked (${report.uncheckedBlobs.length}):`)
    lines.push(
      renderTable(
        ['BLOB', 'SIZE', 'WHY', 'PATHS'],
        report.uncheckedBlobs.map((f) => [f.blob.slice(0, 12) + (f.lfsObject ? ` (LFS ${f.lfsObject.slice(0, 12)})` : ''), mb(f.size), UNCHECKED_REASON[f.reason], list(f.paths) || '(unreferenced)']),
      ),
    )
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
          f.objectType === 'tag' ? `tag ${displayText(f.tag ?? '?')}` : f.objectType === 'commit' ? 'commit message' : (list(f.paths) || '(unreferenced)') + (f.lfsObject ? ` (LFS ${f.lfsObject.slice(0, 12)})` : ''),
          f.matches.map((m) => `${displayText(m.secret)} / ${displayText(m.key)} (${m.forms.join(', ')})`).join('; '),
        ]),
      ),
    )
  }
  if (report.skippedValues.length > 0) {
    lines.push('', `${report.skippedValues.length} known values were left out of the search: ${report.skippedValues[0].reason}:`)
    for (const skip of report.skippedValues) lines.push(`  - ${displayText(skip.secret)} / ${displayText(skip.key)}`)
  }
  for (const warning of report.warnings) lines.push(`warning: ${displayText(warning)}`)
  lines.push(
    '',
    report.clean
      ? 'Clean: no SOPS files, .sops.yaml or known values in any object.'
      : report.sopsBlobs.length + report.sopsConfigs.length + report.valueFindings.length === 0
        ? 'Findings: some blobs could not be checked, so this repository cannot be called clean.'
        : 'Findings: secret material is present in this repository’s objects.',
  )
  return lines.join('\n')
}

export function renderPlan(plan: ScrubPlan): string {
  const lines = [`Plan for ${displayText(plan.repository)} (engine: ${plan.engine}${plan.filterRepo ? ` ${plan.filterRepo.version ?? ''}${plan.filterRepo.sensitiveDataRemoval ? ', --sensitive-data-removal' : ''}` : ''}):`]
  lines.push(`  remove ${plan.blobsToStrip.length} SOPS and .sops.yaml blobs from the commits that hold them; every other version of these ${plan.pathsToRemove.length} paths stays:`)
  for (const path of plan.pathsToRemove) lines.push(`    - ${displayText(path)}`)
  if (plan.lfsObjects.length > 0) lines.push(`  (${plan.lfsObjects.length} of them are Git LFS pointers: the LFS objects themselves stay on the LFS server)`)
  lines.push(`  replace ${plan.replacements} value forms with ***REMOVED*** (${plan.valueObjects} objects hold them)`)
  if (plan.valueImpact.length > 0) {
    lines.push('  what each value would rewrite (a value that is also ordinary text shows up here with many objects; raise --min-value-length or leave out --replace-values):')
    lines.push(
      renderTable(
        ['SECRET', 'KEY', 'BLOBS', 'MESSAGES'],
        plan.valueImpact.map((impact) => [displayText(impact.secret), displayText(impact.key), String(impact.blobs), String(impact.messages)]),
      )
        .split('\n')
        .map((line) => `    ${line}`)
        .join('\n'),
    )
  }
  if (plan.skippedValues.length > 0) {
    lines.push(`  ${plan.skippedValues.length} values shorter than ${plan.minValueLength} bytes are left out (neither searched nor replaced): ${list(plan.skippedValues.map((skip) => `${skip.secret} / ${skip.key}`))}`)
  }
  if (plan.unchecked > 0) lines.push(`  ${plan.unchecked} blobs with SOPS markers could not be checked (too large to parse, or unparsable): they are not removed`)
  if (plan.pathsAtHead.length > 0) lines.push(`  note: the current (HEAD) version of these paths is removed too: ${list(plan.pathsAtHead)}`)
  return lines.join('\n')
}

export function renderNextSteps(steps: NextSteps): string {
  const lines = ['What to do next:', '  1. Force-push the rewritten branches and tags (not refs/pull/*, which the host owns):']
  for (const command of steps.pushCommands) lines.push(`       ${command}`)
  if (steps.firstChangedCommits.length > 0) {
    lines.push(`  2. History changed first at these (old) commits — anything based on them must be rebased or re-cloned:`)
    lines.push(`       ${list(steps.firstChangedCommits.map((c) => c.slice(0, 12)))}`)
  }
  steps.notes.forEach((note, index) => lines.push(`  ${index + 3}. ${displayText(note)}`))
  return lines.join('\n')
}
