import {Flags} from '@oclif/core'

import {metricsFlags, startMetrics} from '../../lib/cli/metrics-flags.js'
import {recordDrift} from '../../lib/metrics/families.js'
import {BaseCommand} from '../../lib/cli/base-command.js'
import {confirmOrRefuse} from '../../lib/cli/confirm.js'
import {durationFlag} from '../../lib/cli/duration.js'
import {ExitCode, ToolkitError} from '../../lib/errors/errors.js'
import {removeOnInterrupt} from '../../lib/cli/interrupt.js'
import {stageRenderer} from '../../lib/cli/stages.js'
import {type VerifyRegionsJson} from '../../lib/regions/output-schema.js'
import {type RepairPlan} from '../../lib/regions/plan.js'
import {type OutputFormat, renderComparison} from '../../lib/compare/render.js'
import {renderPlan, renderRepairResult, renderRequestNote} from '../../lib/regions/render.js'
import type {RepairResult} from '../../lib/regions/repair.js'
import type {RegionComparison} from '../../lib/compare/types.js'
import {backupStages} from '../../lib/dr/save.js'
import {closeVerifyContext, newVerifyContext, runVerifyRegions, selectRegions, type VerifyContext} from '../../lib/regions/verify.js'
import type {RequestStats} from '../../lib/vault/vault-http.js'

export interface VerifyRegionsOutput extends RegionComparison {
  repair?: {
    dryRun: boolean
    plan: RepairPlan
    /** The Raft snapshot of the target taken before applying (--backup-dir). */
    backup?: {file: string; manifestFile: string}
    result?: RepairResult
    /** The comparison after the repair; decides the exit code. */
    after?: RegionComparison
  }
  /** Per region: requests sent and the failures retried past (counts only). */
  requests?: Record<string, RequestStats>
  /** Set with exit 2: why the result cannot be trusted in full. The report above it still holds what was found. */
  error?: {code: string; message: string; hint?: string}
}

export default class VerifyRegions extends BaseCommand<typeof VerifyRegions> {
  static override summary = 'Compare the two regional Vaults key by key; optionally repair the drift from one of them.'

  static override description = `Walks the KV v2 trees of both regions concurrently and classifies every key: only-in-<region>, value-differs (which properties), metadata-differs (custom_metadata, max_versions, cas_required, delete_version_after), deleted-in-<region> (current version soft-deleted or destroyed on one side) or in-sync. Values are compared by a keyed hash under a random per-run key and never printed or stored; version numbers are shown as information only.

With --repair --from REGION it plans the changes that make the other region match (create missing keys, update differing values with check-and-set on the version just compared, copy metadata; with --delete-extra also delete what the source lacks), shows the plan, asks for confirmation, takes a Raft snapshot of the target with --backup-dir (required when the plan deletes keys, unless --no-backup), applies it and compares again. A key changed by someone else in the meantime is reported as a conflict, never overwritten. Nothing outside --path / --exclude is read or touched.

Every request has a timeout (--request-timeout, default vault.requestTimeoutMs: 30 s); a failed one (timeout, connection reset, 429/5xx, an answer that is not Vault's JSON) is retried with backoff for up to --retry-budget (default vault.retryBudgetMs: 60 s); the whole run stops at --deadline (default 30 m; time at the confirmation prompt does not count). The error says which one ran out, naming the region and its address. An answer that is not what the API promises is never read as data (as "absent" or "empty").

Exit codes: 0 in sync, 1 drift (after a repair: drift left), 2 error (unreachable, sealed or frozen region, unreadable keys, a limit ran out, failed repair step, refused confirmation). With exit 2 the report still lists the drift found in the keys that were compared (in --json too, with an "error" field).`

  static override examples = [
    {description: 'Compare the two configured regions', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'Only one application, without its scratch keys, as Markdown for a ticket', command: '<%= config.bin %> <%= command.id %> --path apps/payments --exclude "apps/payments/**/tmp" --output markdown'},
    {description: 'Machine-readable report for a runbook step (exit code 0/1/2)', command: '<%= config.bin %> <%= command.id %> --json > drift.json'},
    {description: 'Show what a repair from region1 would change, without changing anything', command: '<%= config.bin %> <%= command.id %> --repair --from region1 --dry-run'},
    {description: 'Repair region2 from region1, including deletions, after a Raft snapshot of region2, non-interactively', command: '<%= config.bin %> <%= command.id %> --repair --from region1 --delete-extra --backup-dir /backups/vault --yes'},
    {description: 'Choose two of several configured regions and read harder', command: '<%= config.bin %> <%= command.id %> --regions eu-west,eu-central --concurrency 32'},
    {description: 'Give up quickly on a frozen region: 5 s per request, 20 s of retries, 2 minutes in all', command: '<%= config.bin %> <%= command.id %> --request-timeout 5s --retry-budget 20s --deadline 2m'},
  ]

  static override flags = {
    regions: Flags.string({description: 'the two regions to compare, comma-separated (default: the two configured regions)'}),
    path: Flags.string({description: 'compare only this key or folder (relative to the KV mount), e.g. apps/payments', default: ''}),
    exclude: Flags.string({description: 'leave out keys (or folders) matching this glob on the full key: * and ? within a segment, ** across (repeatable)', multiple: true}),
    concurrency: Flags.integer({description: 'requests in flight per region (default: each region\'s vault.maxConcurrency, 16 unless configured)', min: 1, max: 256}),
    output: Flags.string({description: 'report format (--json is the same as --output json)', options: ['table', 'json', 'markdown'], default: 'table'}),
    repair: Flags.boolean({description: 'plan and apply the changes that make the other region match --from', default: false}),
    from: Flags.string({description: 'with --repair: the region whose state is copied'}),
    'delete-extra': Flags.boolean({description: 'with --repair: also delete keys that exist only in the target and soft-delete values deleted in --from', default: false}),
    'dry-run': Flags.boolean({description: 'with --repair: show the plan and stop', default: false}),
    yes: Flags.boolean({char: 'y', description: 'with --repair: do not ask for confirmation (required without a TTY)', default: false}),
    'backup-dir': Flags.string({description: 'with --repair: take a verified Raft snapshot of the target region into this directory before applying (needs a token allowed to read sys/storage/raft/snapshot)'}),
    'no-backup': Flags.boolean({description: 'with --repair: allow a plan that deletes keys without --backup-dir', default: false}),
    'request-timeout': durationFlag({description: 'how long one request may wait for an answer, e.g. 10s (default: each region\'s vault.requestTimeoutMs, 30s unless configured)'}),
    'retry-budget': durationFlag({description: 'how long a failed request is retried with backoff before it counts as failed, e.g. 60s; 0s never retries (default: each region\'s vault.retryBudgetMs, 60s unless configured)'}),
    deadline: durationFlag({description: 'how long the whole run may take against the Vaults, e.g. 10m; time at the confirmation prompt does not count, nor the streaming of a --backup-dir snapshot (bounded by its own idle timeout); 0s for none', default: 30 * 60_000, defaultHelp: async () => '30m'}),
    ...metricsFlags,
  }

  public async run(): Promise<VerifyRegionsJson> {
    const flags = this.flags
    this.metricsRun = await startMetrics('verify regions', flags)
    this.checkFlagCombination()
    const format = this.jsonEnabled() ? 'json' : (flags.output as OutputFormat | 'json')
    const human = format === 'json' ? undefined : format
    const context = newVerifyContext({
      regions: selectRegions(this.loadConfig().config, flags.regions),
      prefix: flags.path,
      exclude: flags.exclude ?? [],
      concurrency: flags.concurrency,
      limits: {
        requestTimeoutMs: flags['request-timeout'],
        retryBudgetMs: flags['retry-budget'],
        deadlineMs: flags.deadline,
      },
      repair: flags.repair ? {from: flags.from!, deleteExtra: flags['delete-extra']} : undefined,
      backupDir: flags['backup-dir'],
    })
    // Stage lines go to stdout (listr2): keep them out of machine-readable output.
    const renderer = stageRenderer({json: human !== 'table'})
    try {
      const outcome = await runVerifyRegions(context, {dryRun: flags['dry-run'], noBackup: flags['no-backup']}, {
        renderer,
        compared: (comparison) => {
          if (human) this.log(renderComparison(comparison, human))
        },
        planned: (plan) => {
          if (human) this.log(`\n${renderPlan(plan, human)}`)
        },
        confirm: (question) => confirmOrRefuse({yes: flags.yes, ...question}),
        backupStages: (vault, outDir, label) => backupStages(vault, outDir, label, removeOnInterrupt),
        repaired: (repaired) => {
          if (human && repaired.snapshot?.archiveFile) this.log(`\nBackup of ${repaired.plan!.to} before the repair: ${repaired.snapshot.archiveFile}`)
          if (human) this.log(`\n${renderRepairResult(repaired.result!, human)}`)
        },
        reverified: (after, complete) => {
          if (human) this.log(`\nAfter the repair${complete ? '' : ' (incomplete)'}:\n${renderComparison(after, human)}`)
        },
      })
      if (human && outcome === 'nothing-to-apply') this.log('\nNothing to apply.')
      if (human && outcome === 'dry-run') this.log('\nDry run: nothing was changed.')
      return this.finish(context, format)
    } finally {
      await closeVerifyContext(context)
    }
  }

  private checkFlagCombination(): void {
    const flags = this.flags
    const needsRepair = (['from', 'delete-extra', 'dry-run', 'yes', 'backup-dir', 'no-backup'] as const).filter((name) => flags[name] !== undefined && flags[name] !== false)
    if (!flags.repair && needsRepair.length > 0) {
      throw new ToolkitError('BAD_FLAGS', `--${needsRepair[0]} only applies with --repair`, {hint: 'Add --repair --from REGION, or drop the flag to just compare.'})
    }
    if (flags.repair && !flags.from) {
      throw new ToolkitError('BAD_FLAGS', '--repair needs --from REGION: the region whose state is copied to the other', {hint: 'e.g. --repair --from region1 --dry-run'})
    }
  }

  /** Exit code from the final state: the comparison after a repair, else the comparison. */
  private finish(context: VerifyContext, format: OutputFormat | 'json'): VerifyRegionsOutput {
    const final = context.after ?? context.comparison!
    if (this.metricsRun) recordDrift(this.metricsRun.metrics, final)
    const output: VerifyRegionsOutput = {...context.comparison!}
    if (context.plan) {
      const backup = context.snapshot?.archiveFile ? {file: context.snapshot.archiveFile, manifestFile: context.snapshot.manifestFile!} : undefined
      output.repair = {dryRun: this.flags['dry-run'], plan: context.plan, backup, result: context.result, after: context.after}
    }
    if (context.vaults) output.requests = Object.fromEntries(context.vaults.map((vault) => [vault.region.name, vault.requestStats()]))
    const error = this.errorOf(context, final)
    if (error) {
      // The report is printed first; the exit code still says the run is not trustworthy.
      process.exitCode = ExitCode.Error
      output.error = error
      this.logToStderr(`Error: ${error.message}${error.hint ? `\n  → ${error.hint}` : ''}`)
    } else {
      this.findings = !final.inSync
    }
    if (format !== 'json' && output.requests) {
      const note = renderRequestNote(output.requests)
      if (note) this.logToStderr(note)
    }
    if (format === 'json' && !this.jsonEnabled()) this.log(JSON.stringify(output, null, 2))
    return output
  }

  private errorOf(context: VerifyContext, final: RegionComparison): VerifyRegionsOutput['error'] {
    const which = context.after ? 'the comparison after the repair' : 'the comparison'
    const notPlanned = this.flags.repair && !context.plan ? ' No repair was planned: a repair needs a complete comparison.' : ''
    if (final.incomplete) {
      return {
        code: final.incomplete.code,
        message: `${which} stopped early: ${final.incomplete.message}`,
        hint: `${final.incomplete.hint ? `${final.incomplete.hint} ` : ''}The drift listed was found in the keys compared before it stopped; ${final.incomplete.keysNotCompared} listed key(s) were not compared.${notPlanned}`,
      }
    }
    if (final.errors.length > 0) {
      return {code: 'KEYS_UNREADABLE', message: `${final.errors.length} key(s) could not be read in ${which}`, hint: `See the table above (the drift listed is real for the other keys); fix the cause and re-run.${notPlanned}`}
    }
    if ((context.result?.failures ?? 0) > 0) {
      return {code: 'REPAIR_FAILED', message: `${context.result!.failures} repair step(s) failed`, hint: 'See the table above: the other steps were applied. Fix the cause and re-run the same command: it compares again and plans only what is left.'}
    }
    return undefined
  }
}
