import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../lib/cli/base-command.js'
import {confirmOrRefuse} from '../../lib/cli/confirm.js'
import {stageLines} from '../../lib/cli/stages.js'
import {loadKnownValues, type ValueSourceName} from '../../lib/git/known-values.js'
import {renderNextSteps, renderPlan, renderScanReport} from '../../lib/git/render.js'
import type {ScanReport} from '../../lib/git/scan.js'
import {
  newScrubContext,
  nextSteps,
  runScrub,
  type EngineChoice,
  type NextSteps,
  type ScrubPlan,
} from '../../lib/git/scrub.js'
import {sopsDetector} from '../../lib/git/sops-adapter.js'
import {type ScrubOutput as ScrubJson} from '../../lib/git/output-schema.js'
import {MIN_VALUE_BYTES} from '../../lib/git/value-patterns.js'
import {assertWholeHistory} from '../../lib/git/repository-checks.js'
import {displayText} from '../../lib/report/display.js'
import type {PreflightCheck} from '../../lib/git/preflight.js'

interface ScrubOutput {
  dryRun: boolean
  preflight: PreflightCheck[]
  plan: ScrubPlan
  engine?: string
  engineNotes?: string[]
  backup?: string
  rescan?: ScanReport
  clean: boolean
  next?: NextSteps
}

export default class GitScrub extends BaseCommand<typeof GitScrub> {
  static override summary = 'Rewrite all of Git history to remove SOPS files, .sops.yaml and (optionally) known values, then prove nothing remains.'

  static override description = `Stages: preflight (the repository must look like a fresh clone, as git-filter-repo defines it, unless --force) → plan (--dry-run stops here) → confirmation (--yes; refused without a TTY) → backup (git bundle create <backup> --all, path printed) → rewrite (git-filter-repo when installed, else the built-in fast-export | filter | fast-import pipeline) → cleanup (reflog expire; repack -a -d after the built-in engine; checked, else gc --prune=now) → rescan. Exits 0 only when the rescan is clean, 1 when something remains, 2 on error.

Every SOPS blob and every .sops.yaml blob is removed, by blob id, from the commits that hold it (the file is absent there); every other version of the same path stays. A SOPS file stored through Git LFS loses its pointer the same way (the LFS object itself stays on the LFS server). With --replace-values, every known value (and its base64, URL-encoded and JSON-escaped forms) is replaced by ***REMOVED*** in text blobs and in commit and tag messages; a known value from --values-from sops is only a value sops encrypted (an ENC[…] in the file), never a clear field such as kind or metadata.name, and values shorter than --min-value-length bytes (default 8) are left out. The plan shows, per secret/key name, how many blobs and messages each value would rewrite.

Refused (exit 2) before anything changes, --force or not: a shallow clone (git fetch --unshallow), a partial clone (git clone --mirror without --filter), a repository missing objects, and Git LFS objects that are not present (git lfs fetch --all). The git-filter-repo engine needs git-filter-repo 2.47 or later (--file-info-callback); auto falls back to the built-in engine otherwise.`

  static override examples = [
    {description: 'See what would be removed, without touching the repository', command: '<%= config.bin %> <%= command.id %> ./fresh-clone --dry-run'},
    {description: 'Scrub a fresh clone, also replacing the leaked plaintext of SOPS values', command: 'git clone --no-local https://git.example.com/team/app.git app && SOPS_AGE_KEY_FILE=~/keys.txt <%= config.bin %> <%= command.id %> app --values-from sops --replace-values --yes'},
    {description: 'Force the built-in engine and choose where the backup goes', command: '<%= config.bin %> <%= command.id %> app --engine builtin --backup /secure/app-before-scrub.bundle --yes'},
    {description: 'Review what each value would rewrite, leaving out values shorter than 12 bytes', command: 'SOPS_AGE_KEY_FILE=~/keys.txt <%= config.bin %> <%= command.id %> app --values-from sops --replace-values --min-value-length 12 --dry-run'},
  ]

  static override args = {
    // Checked by the command (a usage error naming the path), not by oclif.
    repo: Args.string({description: 'repository to rewrite (a fresh clone)', default: '.'}),
  }

  static override flags = {
    'dry-run': Flags.boolean({description: 'show the plan and stop', default: false}),
    yes: Flags.boolean({char: 'y', description: 'do not ask for confirmation (required without a TTY)', default: false}),
    force: Flags.boolean({description: 'rewrite even if the repository does not look like a fresh clone (the backup is still written)', default: false}),
    engine: Flags.string({description: 'rewrite engine', options: ['auto', 'filter-repo', 'builtin'], default: 'auto'}),
    'values-from': Flags.string({description: 'where to take known plaintext values from (repeatable)', options: ['sops', 'vault'], multiple: true, default: []}),
    'replace-values': Flags.boolean({description: 'replace known values with ***REMOVED*** in blobs and commit/tag messages (needs --values-from)', default: false}),
    'ignore-mac': Flags.boolean({description: 'decrypt SOPS files even when their MAC does not verify (values-from sops)', default: false}),
    backup: Flags.string({description: 'where to write the backup bundle (default: next to the repository, timestamped)'}),
    'min-value-length': Flags.integer({description: 'values shorter than this many bytes are neither searched for nor replaced (they would match ordinary text); the plan names them', default: MIN_VALUE_BYTES, min: 1}),
  }

  public async run(): Promise<ScrubJson> {
    const {args} = await this.parse(GitScrub)
    const flags = this.flags
    if (flags['replace-values'] && flags['values-from'].length === 0) {
      this.error('--replace-values needs --values-from sops and/or --values-from vault', {exit: 2})
    }
    const detector = sopsDetector()
    await assertWholeHistory(args.repo, 'scrub')
    const {patterns, warnings} = await loadKnownValues({
      repo: args.repo,
      sources: flags['values-from'] as ValueSourceName[],
      detector,
      regions: () => this.loadConfig().config.regions,
      ignoreMac: flags['ignore-mac'],
      minValueLength: flags['min-value-length'],
      repositoryChecked: true,
    })
    for (const warning of warnings) this.warn(displayText(warning))
    const ctx = newScrubContext({
      repo: args.repo,
      detector,
      patterns,
      replaceValues: flags['replace-values'],
      engine: flags.engine as EngineChoice,
      force: flags.force,
      backup: flags.backup,
    })
    const output = (): ScrubOutput => ({
      dryRun: flags['dry-run'],
      preflight: ctx.preflight!,
      plan: ctx.plan!,
      engine: ctx.rewrite?.engine,
      engineNotes: ctx.rewrite?.notes,
      backup: ctx.backupPath,
      rescan: ctx.after,
      clean: ctx.after?.clean ?? ctx.plan!.nothingToDo,
      next: ctx.rewrite ? nextSteps(ctx) : undefined,
    })
    const outcome = await runScrub(ctx, {dryRun: flags['dry-run']}, {
      ...stageLines((line) => this.progress(line), {json: this.jsonEnabled()}),
      planned: (planned) => {
        for (const check of planned.preflight!.filter((c) => !c.ok)) this.warn(`preflight check "${check.name}" failed (${displayText(check.detail ?? 'see git status')}); continuing because of --force`)
        this.say(renderPlan(planned.plan!))
      },
      confirm: (question) => confirmOrRefuse({yes: flags.yes, ...question}),
      backupWritten: (path) => this.progress(`backup written: ${displayText(path)}`),
    })
    if (outcome === 'nothing-to-do') {
      this.say('Nothing to remove: the repository is already clean.')
      return output()
    }
    if (outcome === 'dry-run') {
      this.say('Dry run: nothing was changed.')
      this.findings = true
      return output()
    }
    this.say(`Backup of the old history: ${displayText(ctx.backupPath ?? '')}`)
    this.say(`Engine: ${ctx.rewrite!.engine}${ctx.rewrite!.notes.length ? ` (${ctx.rewrite!.notes.join(', ')})` : ''}`)
    this.say(renderScanReport(ctx.after!))
    this.say('')
    this.say(renderNextSteps(nextSteps(ctx)))
    this.findings = !ctx.after!.clean
    return output()
  }

  /** Stage lines go to stderr so that stdout stays the report. */
  private progress(message: string): void {
    if (!this.jsonEnabled()) this.logToStderr(message)
  }
}
