import {findRegion} from '../config/load.js'
import type {RegionConfig, ToolkitConfig} from '../config/schema.js'
import {ToolkitError} from '../errors/errors.js'
import {throttled} from '../report/throttle.js'
import {confirmGate, runStages, type Stage as Step, type WorkflowHooks} from '../workflow/runner.js'
import {connectRegion, type RegionVault} from '../vault/connect.js'
import {requireRegionActive} from '../vault/probe.js'
import {Deadline, formatDuration} from '../vault/retry.js'
import {compareRegions, DEFAULT_CONCURRENCY, IncompleteComparisonError} from '../compare/compare.js'
import {planDeletes, planRepair, type RepairPlan} from './plan.js'
import {applyRepair, type RepairResult} from './repair.js'
import type {CompareProgress, RegionComparison} from '../compare/types.js'

/**
 * `verify regions` as named stages: preflight → compare → plan → confirm →
 * apply → verify. Each stage is a function of the context with its own
 * error; runVerifyRegions runs them with the workflow runner.
 */
export interface VerifyContext {
  regions: [RegionConfig, RegionConfig]
  prefix: string
  exclude: string[]
  /** Requests in flight per region; undefined keeps each region's configured maxConcurrency. */
  concurrency?: number
  /** Overrides of the regions' vault.requestTimeoutMs / vault.retryBudgetMs, and the overall deadline (default DEFAULT_DEADLINE_MS). */
  limits?: VerifyLimits
  /** Started by the preflight; paused while the operator reads the plan. */
  deadline?: Deadline
  repair?: {from: string; deleteExtra: boolean}
  /** Where the Raft snapshot of the target region goes before a repair is applied. */
  backupDir?: string
  env?: NodeJS.ProcessEnv
  vaults?: [RegionVault, RegionVault]
  comparison?: RegionComparison
  plan?: RepairPlan
  /** The backup snapshot, once taken (by the stages the command passed to backupSteps). */
  snapshot?: BackupRecord
  result?: RepairResult
  /** The comparison after the repair. */
  after?: RegionComparison
}

export interface VerifyLimits {
  requestTimeoutMs?: number
  retryBudgetMs?: number
  /** 0: no deadline. */
  deadlineMs?: number
}

/** How long `verify regions` may work against the Vaults in all, unless --deadline says otherwise (time at the confirmation prompt does not count). */
export const DEFAULT_DEADLINE_MS = 30 * 60_000

/** `--regions a,b`, else the two configured regions. */
export function selectRegions(config: ToolkitConfig, names?: string): [RegionConfig, RegionConfig] {
  if (names !== undefined) {
    const list = names
      .split(',')
      .map((name) => name.trim())
      .filter(Boolean)
    if (list.length !== 2 || list[0] === list[1]) {
      throw new ToolkitError('BAD_REGIONS', `--regions "${names}" must name exactly two different regions`, {
        hint: `e.g. --regions ${config.regions
          .slice(0, 2)
          .map((r) => r.name)
          .join(',')} (configured: ${config.regions.map((r) => r.name).join(', ')})`,
      })
    }
    return [findRegion(config, list[0]), findRegion(config, list[1])]
  }
  if (config.regions.length === 2) return [config.regions[0], config.regions[1]]
  const known = config.regions.map((r) => r.name).join(', ')
  if (config.regions.length < 2) {
    throw new ToolkitError('NEEDS_TWO_REGIONS', `verify regions needs two regions; the configuration has one (${known})`, {
      hint: 'Add the second region to the configuration (see docs/configuration.md), or pass --config with the file that lists both.',
    })
  }
  throw new ToolkitError('BAD_REGIONS', `the configuration has ${config.regions.length} regions (${known}): choose two with --regions`, {hint: `e.g. --regions ${config.regions[0].name},${config.regions[1].name}`})
}

export function newVerifyContext(init: Omit<VerifyContext, 'vaults' | 'comparison' | 'plan' | 'snapshot' | 'result' | 'after' | 'deadline'>): VerifyContext {
  if (init.concurrency !== undefined && (!Number.isInteger(init.concurrency) || init.concurrency < 1 || init.concurrency > 256)) {
    throw new ToolkitError('BAD_CONCURRENCY', `--concurrency ${init.concurrency} is out of range`, {hint: 'Use a whole number from 1 to 256 (requests in flight per region).'})
  }
  if (init.repair && !init.regions.some((region) => region.name === init.repair!.from)) {
    throw new ToolkitError('UNKNOWN_REGION', `--from ${init.repair.from} is not one of the compared regions (${init.regions.map((r) => r.name).join(', ')})`, {
      hint: `Use --from ${init.regions[0].name} or --from ${init.regions[1].name}.`,
    })
  }
  const limits = init.limits ?? {}
  if (limits.requestTimeoutMs !== undefined && !(limits.requestTimeoutMs >= 1)) {
    throw new ToolkitError('USAGE', `--request-timeout ${limits.requestTimeoutMs} ms is too short`, {hint: 'Give a positive duration, e.g. --request-timeout 10s.'})
  }
  if (limits.retryBudgetMs !== undefined && !(limits.retryBudgetMs >= 0)) {
    throw new ToolkitError('USAGE', `--retry-budget ${limits.retryBudgetMs} ms is negative`, {hint: 'Give a duration, e.g. --retry-budget 60s (0s: never retry).'})
  }
  return {...init}
}

/** The region's configuration with the command's overrides (--concurrency, --request-timeout, --retry-budget). */
function effectiveRegion(context: VerifyContext, region: RegionConfig): RegionConfig {
  const vault = {...region.vault}
  if (context.concurrency !== undefined) vault.maxConcurrency = context.concurrency
  if (context.limits?.requestTimeoutMs !== undefined) vault.requestTimeoutMs = context.limits.requestTimeoutMs
  if (context.limits?.retryBudgetMs !== undefined) vault.retryBudgetMs = context.limits.retryBudgetMs
  return {...region, vault}
}

/** Keys in flight per region: as many as the region's HTTP limit lets through, so that limit stays busy. */
function keyConcurrency(context: VerifyContext): number {
  return context.concurrency ?? Math.max(...context.regions.map((region) => region.vault.maxConcurrency ?? DEFAULT_CONCURRENCY))
}

export async function stagePreflight(context: VerifyContext): Promise<void> {
  const deadlineMs = context.limits?.deadlineMs ?? DEFAULT_DEADLINE_MS
  context.deadline ??= new Deadline(deadlineMs, `--deadline ${formatDuration(deadlineMs)}`)
  const regions = context.regions.map((region) => effectiveRegion(context, region))
  // Both are checked, and the first failure in region order is reported, so the message does not depend on timing.
  const checks = await Promise.allSettled(regions.map((region) => requireRegionActive(region, context.deadline)))
  const problem = checks.find((outcome) => outcome.status === 'rejected')
  if (problem) throw problem.reason
  const settled = await Promise.allSettled(regions.map((region) => connectRegion(region, {env: context.env})))
  const vaults = settled.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []))
  const failed = settled.find((outcome) => outcome.status === 'rejected')
  if (failed) {
    await Promise.all(vaults.map((vault) => vault.close()))
    throw failed.reason
  }
  for (const vault of vaults) vault.setDeadline(context.deadline)
  context.vaults = vaults as [RegionVault, RegionVault]
}

function progressLine(progress: CompareProgress): string {
  return Object.keys(progress.listed)
    .map((region) => `${region}: ${progress.fetched[region]}/${progress.listed[region]} keys read`)
    .join(', ')
}

/**
 * Runs the comparison. When it stops early, what it found so far is kept in
 * the context (`comparison`, or `after` for the re-comparison) before the
 * error goes on, so the report can still list the drift in the keys that
 * were compared.
 */
async function compare(context: VerifyContext, update: (output: string) => void, into: 'comparison' | 'after'): Promise<void> {
  const [a, b] = context.vaults!
  try {
    context[into] = await compareRegions(a.store, b.store, {
      prefix: context.prefix,
      exclude: context.exclude,
      concurrency: keyConcurrency(context),
      onProgress: throttled((progress) => update(progressLine(progress))),
    })
  } catch (error) {
    if (error instanceof IncompleteComparisonError) context[into] = error.partial
    throw error
  }
}

export async function stageCompare(context: VerifyContext, update: (output: string) => void = () => {}): Promise<void> {
  await compare(context, update, 'comparison')
}

export async function stagePlan(context: VerifyContext): Promise<void> {
  context.plan = planRepair(context.comparison!, {from: context.repair!.from, deleteExtra: context.repair!.deleteExtra})
}

function repairVaults(context: VerifyContext): {from: RegionVault; to: RegionVault} {
  const [a, b] = context.vaults!
  return a.region.name === context.plan!.from ? {from: a, to: b} : {from: b, to: a}
}

/**
 * Deleting a key removes all its versions, so a plan with deletions needs a
 * backup of the target (or the operator saying, with --no-backup, that they
 * have one). Updates keep the old value in the target's version history.
 */
export function requireBackupForDeletes(context: VerifyContext, noBackup: boolean): void {
  const deletes = context.plan!.counts.delete
  if (deletes > 0 && !context.backupDir && !noBackup) {
    throw new ToolkitError('BACKUP_REQUIRED', `the plan deletes ${deletes} key(s) in region ${context.plan!.to} with all their versions, and no backup was asked for`, {
      hint: `Add --backup-dir DIR (a verified Raft snapshot of ${context.plan!.to} is taken first, as \`secrets dr snapshot\` does), or --no-backup if you have one.`,
    })
  }
}

/** Where a backup put its archive and manifest: shown, and put in --json, by the command. */
export interface BackupRecord {
  archiveFile?: string
  manifestFile?: string
}

/**
 * The stages that take a verified Raft snapshot of `vault` into `outDir`
 * before a repair, and the record they fill in as they run. The command
 * passes `dr snapshot`'s own (dr/save.ts backupStages): domains do not
 * import each other, so regions does not reach into dr.
 */
export type BackupStages = (vault: RegionVault, outDir: string, label: string) => {record: BackupRecord; steps: Step<unknown>[]}

/** The backup stages (--backup-dir), on the target region, before anything is applied. */
export function backupSteps(context: VerifyContext, stages: BackupStages): Step<VerifyContext>[] {
  if (!context.backupDir) return []
  const {to} = repairVaults(context)
  const backup = stages(to, context.backupDir, `Backup of ${to.region.name}`)
  context.snapshot = backup.record
  return backup.steps.map((step) => ({
    title: step.title,
    run: (_context: VerifyContext, update: (output: string) => void) => step.run(undefined, update),
    skip: step.skip ? () => step.skip!(undefined) : undefined,
  }))
}

export async function stageApply(context: VerifyContext, update: (output: string) => void = () => {}): Promise<void> {
  const plan = context.plan!
  const {from, to} = repairVaults(context)
  const applyProgress = throttled(({done, total}: {done: number; total: number}) => update(`${done}/${total} keys`))
  context.result = await applyRepair(plan, {from: from.store, to: to.store}, {
    concurrency: keyConcurrency(context),
    onProgress: (done, total) => applyProgress({done, total}),
  })
}

export async function stageVerify(context: VerifyContext, update: (output: string) => void = () => {}): Promise<void> {
  await compare(context, update, 'after')
}

export async function closeVerifyContext(context: VerifyContext): Promise<void> {
  await Promise.all((context.vaults ?? []).map((vault) => vault.close()))
}

export const STAGES = {
  preflight: {title: 'Preflight: both regions reachable, initialized, unsealed and active', run: (c) => stagePreflight(c)},
  compare: {title: 'Compare both KV trees', run: stageCompare},
  plan: {title: 'Plan the repair', run: stagePlan},
  apply: {title: 'Apply the plan (check-and-set)', run: stageApply},
  verify: {title: 'Compare again', run: stageVerify},
} satisfies Record<string, Step<VerifyContext>>

export interface VerifyRegionsHooks extends WorkflowHooks {
  /** The comparison is done (complete: false when it stopped short; finish() says why). */
  compared?: (comparison: RegionComparison) => void
  /** The repair plan is ready: shown before the confirmation. */
  planned?: (plan: RepairPlan) => void
  /** The repair is applied: shown before the re-comparison, so it is on record even if that fails. */
  repaired?: (context: VerifyContext) => void
  /** The comparison after the repair. */
  reverified?: (after: RegionComparison, complete: boolean) => void
  /** `dr snapshot`'s stages, for --backup-dir (regions does not import dr). */
  backupStages: BackupStages
}

export type VerifyRegionsOutcome = 'incomplete' | 'compared' | 'nothing-to-apply' | 'dry-run' | 'repaired'

/** A comparison that stopped short is an outcome, not an error: the report says why. */
async function completes(work: () => Promise<unknown>): Promise<boolean> {
  try {
    await work()
    return true
  } catch (error) {
    if (error instanceof IncompleteComparisonError) return false
    throw error
  }
}

/**
 * `verify regions` as named stages: preflight → compare; with --repair:
 * plan (--dry-run stops here) → confirmation (type the region name when the
 * plan deletes) → backup (--backup-dir) → apply (check-and-set) → verify.
 */
export async function runVerifyRegions(context: VerifyContext, run: {dryRun: boolean; noBackup: boolean}, hooks: VerifyRegionsHooks): Promise<VerifyRegionsOutcome> {
  const complete = await completes(() => runStages([STAGES.preflight, STAGES.compare], context, hooks))
  if (context.comparison) hooks.compared?.(context.comparison)
  if (!complete) return 'incomplete'
  // A repair is planned only from a complete comparison.
  if (!context.repair || context.comparison!.errors.length > 0) return 'compared'

  await runStages([STAGES.plan], context, hooks)
  const plan = context.plan!
  hooks.planned?.(plan)
  if (plan.steps.length === 0) return 'nothing-to-apply'
  if (run.dryRun) return 'dry-run'
  requireBackupForDeletes(context, run.noBackup)
  // The operator's reading time is not the Vaults' time (paused until the backup is taken).
  context.deadline?.pause()
  await confirmGate(hooks, {
    message: `Apply ${plan.steps.length} step(s) to ${plan.keys} key(s) in region ${plan.to}?`,
    typeToConfirm: planDeletes(plan) ? plan.to : undefined,
    nonInteractiveHint: 'Review the plan with --dry-run, then re-run with --yes.',
  })
  // The backup streams a whole Raft snapshot under its own idle timeout: its minutes do not eat into the deadline.
  const backup = backupSteps(context, hooks.backupStages)
  if (backup.length > 0) await runStages(backup, context, hooks)
  context.deadline?.resume()
  await runStages([{...STAGES.apply, title: `Apply the plan to ${plan.to} (check-and-set)`}], context, hooks)
  hooks.repaired?.(context)
  const after = await completes(() => runStages([STAGES.verify], context, hooks))
  hooks.reverified?.(context.after!, after)
  return 'repaired'
}
