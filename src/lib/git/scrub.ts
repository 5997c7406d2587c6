import {access, chmod} from 'node:fs/promises'
import {basename, dirname, join, resolve} from 'node:path'

import {ToolkitError} from '../errors/errors.js'
import {displayText} from '../report/display.js'
import {confirmGate, runStages, type Stage, type WorkflowHooks} from '../workflow/runner.js'
import {probeFilterRepo, rewriteBuiltin, rewriteFilterRepo, type EngineName, type FilterRepoSupport, type RewriteResult} from './engines.js'
import {runGit} from '../git-client/exec.js'
import {displayPath, type PathKey} from './history-index.js'
import {freshCloneChecks, type PreflightCheck} from './preflight.js'
import {assertCompleteRepository} from './repository-checks.js'
import {scanRepository, type ScanReport, type ScanResult, type SopsDetector} from './scan.js'
import {replacementPatterns, type PatternSet} from './value-patterns.js'

export type EngineChoice = 'auto' | EngineName

export interface ScrubOptions {
  repo: string
  detector: SopsDetector
  patterns?: PatternSet
  replaceValues: boolean
  engine: EngineChoice
  force: boolean
  backup?: string
  now?: Date
}

export interface ScrubPlan {
  repository: string
  engine: EngineName
  filterRepo?: {version?: string; sensitiveDataRemoval: boolean}
  /** Paths that held a removed blob (shown to the operator); their other versions stay. */
  pathsToRemove: string[]
  /** Paths whose HEAD version is a SOPS file or .sops.yaml: they disappear from HEAD too. */
  pathsAtHead: string[]
  blobsToStrip: string[]
  valueObjects: number
  /**
   * Per known value (by secret/key name, never the value): how many blobs and
   * commit/tag messages hold it, i.e. what --replace-values would rewrite. A
   * value that also is ordinary text shows up here with many objects.
   */
  valueImpact: ValueImpact[]
  /** Values not searched for (shorter than minValueLength bytes), by name. */
  skippedValues: {source: string; secret: string; key: string}[]
  minValueLength?: number
  /** LFS objects (SHA-256) that held SOPS files: their pointers go; the objects stay on the LFS server. */
  lfsObjects: string[]
  /** Blobs the scan could not check (too large or unparsable, with SOPS markers): not removed. */
  unchecked: number
  /** Distinct byte strings (values and their encodings) that will be replaced; never the strings. */
  replacements: number
  nothingToDo: boolean
}

export interface ValueImpact {
  source: string
  secret: string
  key: string
  blobs: number
  messages: number
}

/** Aggregates the scan's value findings per secret/key name. */
export function valueImpact(report: ScanReport): ValueImpact[] {
  const byName = new Map<string, ValueImpact>()
  for (const finding of report.valueFindings) {
    for (const match of finding.matches) {
      const name = JSON.stringify([match.source, match.secret, match.key])
      let impact = byName.get(name)
      if (!impact) byName.set(name, (impact = {source: match.source, secret: match.secret, key: match.key, blobs: 0, messages: 0}))
      if (finding.objectType === 'blob') impact.blobs++
      else impact.messages++
    }
  }
  return [...byName.values()].sort((a, b) => b.blobs + b.messages - (a.blobs + a.messages) || a.secret.localeCompare(b.secret) || a.key.localeCompare(b.key))
}

export interface ScrubContext {
  options: ScrubOptions
  repo: string
  preflight?: PreflightCheck[]
  support?: FilterRepoSupport
  engine?: EngineName
  before?: ScanResult
  plan?: ScrubPlan
  /** Commit -> parents, captured before the rewrite to find the first changed commits. */
  parents?: Map<string, string[]>
  originUrl?: string
  backupPath?: string
  rewrite?: RewriteResult
  /** How the cleanup stage removed the old objects: its own repack, filter-repo's gc, or a full gc. */
  cleanup?: 'repack' | 'filter-repo-gc' | 'gc'
  after?: ScanReport
}

/** Stage 1: is this a repository we may rewrite, and with which engine? */
export async function stagePreflight(ctx: ScrubContext): Promise<void> {
  const top = await runGit(ctx.options.repo, ['rev-parse', '--show-toplevel'], {okCodes: [128]})
  const bare = (await runGit(ctx.options.repo, ['rev-parse', '--is-bare-repository'], {okCodes: [128]})).stdout.toString('utf8').trim() === 'true'
  if (top.code !== 0 && !bare) throw new ToolkitError('NOT_A_REPOSITORY', `${ctx.options.repo} is not a Git repository`, {hint: 'Pass the path of a clone: secrets git scrub <repo>.'})
  ctx.repo = bare ? resolve(ctx.options.repo) : top.stdout.toString('utf8').trim()
  // Not a fresh-clone check: --force does not override it. A rewrite of a
  // shallow clone makes its cut a new root, and one of a partial clone cannot
  // see the blobs it never fetched.
  await assertCompleteRepository(ctx.repo, 'scrub')
  ctx.preflight = await freshCloneChecks(ctx.repo)
  const failed = ctx.preflight.filter((check) => !check.ok)
  if (failed.length > 0 && !ctx.options.force) {
    throw new ToolkitError('NOT_A_FRESH_CLONE', `refusing to rewrite: the repository does not look like a fresh clone (${failed.map((c) => c.name + (c.detail ? `: ${c.detail}` : '')).join('; ')})`, {
      hint: 'Run scrub on a fresh clone (git clone --no-local <url>), or pass --force if you have a backup and accept rewriting this one.',
    })
  }
  ctx.support = await probeFilterRepo()
  const choice = ctx.options.engine
  if (choice === 'filter-repo' && !ctx.support.installed) {
    throw new ToolkitError('ENGINE_MISSING', 'git-filter-repo is not installed', {hint: 'Install it (apt-get install git-filter-repo, or pip install git-filter-repo), or use --engine builtin.'})
  }
  if (choice === 'filter-repo' && !ctx.support.fileInfoCallback) {
    throw new ToolkitError('ENGINE_TOO_OLD', `git-filter-repo ${ctx.support.version ?? ''} has no --file-info-callback (2.47 or later has it), which scrub needs to remove a SOPS version of a file without removing the file's other versions`.replace('  ', ' '), {
      hint: 'Upgrade it (pip install --upgrade git-filter-repo), or use --engine builtin.',
    })
  }
  const filterRepoUsable = ctx.support.installed && ctx.support.fileInfoCallback
  ctx.engine = choice === 'auto' ? (filterRepoUsable ? 'filter-repo' : 'builtin') : choice
  const remote = await runGit(ctx.repo, ['config', '--get', 'remote.origin.url'], {okCodes: [1]})
  // Kept only to restore the remote git-filter-repo removes; never printed (it may embed a token).
  ctx.originUrl = remote.code === 0 ? remote.stdout.toString('utf8').trim() : undefined
}

/** Stage 2: scan, and turn the findings into what the rewrite will remove. `--dry-run` stops after this. */
export async function stagePlan(ctx: ScrubContext): Promise<void> {
  ctx.before = await scanRepository(ctx.repo, {detector: ctx.options.detector, patterns: ctx.options.patterns, repositoryChecked: true, connectivityChecked: true})
  const missingLfs = ctx.before.report.uncheckedBlobs.filter((blob) => blob.reason === 'lfs-object-missing')
  if (missingLfs.length > 0) {
    throw new ToolkitError('LFS_OBJECTS_MISSING', `${missingLfs.length} Git LFS objects are not in ${displayText(ctx.repo)} (e.g. ${missingLfs[0].lfsObject} at ${displayText(missingLfs[0].paths[0] ?? missingLfs[0].blob)}), so nobody can tell whether they hold SOPS files or values`, {
      hint: 'Fetch every LFS object first (git lfs fetch --all), then plan again.',
    })
  }
  const headPaths = await pathsAtHead(ctx.repo, ctx.before.blobsToStrip)
  const replacements = ctx.options.replaceValues && ctx.options.patterns ? replacementPatterns(ctx.options.patterns).length : 0
  ctx.plan = {
    repository: ctx.repo,
    engine: ctx.engine!,
    ...(ctx.engine === 'filter-repo' ? {filterRepo: {version: ctx.support?.version, sensitiveDataRemoval: ctx.support?.sensitiveDataRemoval ?? false}} : {}),
    pathsToRemove: [...ctx.before.pathsToRemove].map(displayPath).sort(),
    pathsAtHead: headPaths,
    blobsToStrip: [...ctx.before.blobsToStrip].sort(),
    valueObjects: ctx.before.report.valueFindings.length,
    valueImpact: valueImpact(ctx.before.report),
    skippedValues: ctx.before.report.skippedValues.map(({source, secret, key}) => ({source, secret, key})),
    minValueLength: ctx.options.patterns?.minBytes,
    lfsObjects: ctx.before.report.sopsBlobs.filter((blob) => blob.lfsObject).map((blob) => blob.lfsObject!),
    unchecked: ctx.before.report.uncheckedBlobs.length,
    replacements,
    nothingToDo: ctx.before.report.clean,
  }
  if (ctx.plan.unchecked > 0) {
    ctx.before.report.warnings.push(`${ctx.plan.unchecked} blobs carry SOPS markers but are too large to parse or do not parse: scrub does not remove them (they may be ordinary files); the rescan will report them until you remove them yourself`)
  }
  if (ctx.before.report.valueFindings.length > 0 && !ctx.options.replaceValues) {
    // Not an error at plan time, but the rescan would fail: say so now.
    ctx.before.report.warnings.push('known values were found but --replace-values was not given: they will remain and the rescan will report them')
  }
  const parents = new Map<string, string[]>()
  const revs = await runGit(ctx.repo, ['rev-list', '--all', '--parents'], {okCodes: [128]})
  for (const line of revs.stdout.toString('latin1').split('\n')) {
    if (!line) continue
    const [commit, ...rest] = line.split(' ')
    parents.set(commit, rest)
  }
  ctx.parents = parents
}

/** Paths whose current (HEAD) version is a blob the rewrite removes: they disappear from HEAD too. */
async function pathsAtHead(repo: string, blobs: ReadonlySet<string>): Promise<string[]> {
  if (blobs.size === 0) return []
  const head = await runGit(repo, ['ls-tree', '-r', '-z', 'HEAD'], {okCodes: [128]})
  if (head.code !== 0) return []
  const present: string[] = []
  // "<mode> <type> <oid>\t<path>" entries, NUL-separated.
  for (const entry of head.stdout.toString('latin1').split('\0')) {
    const tab = entry.indexOf('\t')
    if (tab === -1) continue
    const oid = entry.slice(0, tab).split(' ')[2]
    if (blobs.has(oid)) present.push(displayPath(entry.slice(tab + 1)))
  }
  return present.sort()
}

/** Stage 4: `git bundle create <backup> --all`, readable by the owner only (it holds the secrets being removed). */
export async function stageBackup(ctx: ScrubContext): Promise<void> {
  const stamp = (ctx.options.now ?? new Date()).toISOString().replace(/[:.]/g, '-')
  const path = resolve(ctx.options.backup ?? join(dirname(ctx.repo), `${basename(ctx.repo)}.pre-scrub-${stamp}.bundle`))
  const exists = await access(path).then(
    () => true,
    () => false,
  )
  if (exists) throw new ToolkitError('BACKUP_EXISTS', `backup file ${path} already exists`, {hint: 'Choose another --backup path; an existing backup is never overwritten.'})
  try {
    await runGit(ctx.repo, ['bundle', 'create', path, '--all'])
    await chmod(path, 0o600)
    await runGit(ctx.repo, ['bundle', 'verify', '--quiet', path])
  } catch (error) {
    // The repository was checked in preflight; what fails here is the bundle itself.
    throw new ToolkitError('BACKUP_FAILED', `the backup bundle ${displayText(path)} could not be written and verified (${(error as Error).message.slice(0, 300)})`, {
      hint: 'Check free space and permissions where the backup goes (--backup PATH chooses it); nothing was rewritten.',
      cause: error,
    })
  }
  ctx.backupPath = path
}

/** The blobs in which the plan found a value: the only ones the replacements can change. */
function valueBlobsOf(report: ScanReport): Set<string> {
  return new Set(report.valueFindings.filter((finding) => finding.objectType === 'blob').map((finding) => finding.object))
}

/** Stage 5: rewrite every ref with the chosen engine. */
export async function stageRewrite(ctx: ScrubContext): Promise<void> {
  const rules = {
    // By blob id only: a path that once held a SOPS file keeps its other versions.
    paths: new Set<PathKey>(),
    blobIds: ctx.before!.blobsToStrip,
    replacements: ctx.options.replaceValues && ctx.options.patterns ? replacementPatterns(ctx.options.patterns) : [],
  }
  ctx.rewrite =
    ctx.engine === 'filter-repo'
      ? await rewriteFilterRepo(ctx.repo, rules, {force: ctx.options.force, support: ctx.support!})
      : await rewriteBuiltin(ctx.repo, rules, {valueBlobs: valueBlobsOf(ctx.before!.report)})
  if (ctx.originUrl) {
    // git-filter-repo (before --sensitive-data-removal) removes origin; the operator needs it to force-push.
    const has = await runGit(ctx.repo, ['config', '--get', 'remote.origin.url'], {okCodes: [1]})
    if (has.code !== 0) await runGit(ctx.repo, ['remote', 'add', 'origin', ctx.originUrl], {stderrInErrors: false})
  }
}

/**
 * Stage 6: drop every way back to the old objects inside the repository (the
 * bundle stays outside), at the cost of what the rewrite left behind:
 * - filter-repo has just run `reflog expire` and `gc --prune=now` itself: a
 *   second gc would repack everything again for nothing;
 * - the built-in engine's fast-import wrote a pack of the new commits and
 *   trees next to the old pack: one `repack -a -d` (a single walk of what is
 *   reachable, existing deltas reused, no bitmaps) replaces both and deletes
 *   them, where gc would also walk everything again to prune and write a
 *   commit-graph. Unreachable loose objects, if any, go with `prune`.
 * Either way the result is then checked: one pack, no loose object, and none
 * of the removed blobs readable. If that does not hold, the full
 * `gc --prune=now` runs (and the rescan still reads every object).
 */
export async function stageCleanup(ctx: ScrubContext): Promise<void> {
  await runGit(ctx.repo, ['reflog', 'expire', '--expire=now', '--all'])
  if (ctx.engine === 'builtin') {
    await runGit(ctx.repo, ['-c', 'repack.writeBitmaps=false', 'repack', '-a', '-d', '-l', '-q'])
    if ((await objectStore(ctx.repo)).loose > 0) await runGit(ctx.repo, ['prune', '--expire=now'])
  }
  if (await onlyWhatIsReachable(ctx.repo, ctx.before?.blobsToStrip ?? new Set())) {
    ctx.cleanup = ctx.engine === 'builtin' ? 'repack' : 'filter-repo-gc'
    return
  }
  await runGit(ctx.repo, ['gc', '--prune=now', '--quiet'])
  ctx.cleanup = 'gc'
}

async function objectStore(repo: string): Promise<{loose: number; packs: number}> {
  // "count: 0\npacks: 1\n...": loose objects and pack files.
  const fields = new Map<string, number>()
  for (const line of (await runGit(repo, ['count-objects', '-v'])).stdout.toString('utf8').split('\n')) {
    const [name, value] = line.split(': ')
    if (value !== undefined) fields.set(name, Number(value))
  }
  return {loose: fields.get('count') ?? Number.NaN, packs: fields.get('packs') ?? Number.NaN}
}

/**
 * True when the object store is one pack written from what is reachable (a
 * full repack leaves exactly that) and none of the removed blobs is in it.
 */
async function onlyWhatIsReachable(repo: string, removed: ReadonlySet<string>): Promise<boolean> {
  const store = await objectStore(repo)
  if (store.loose !== 0 || store.packs !== 1) return false
  if (removed.size === 0) return true
  const check = await runGit(repo, ['cat-file', '--batch-check=%(objectname)'], {input: Buffer.from([...removed].join('\n') + '\n'), stderrInErrors: false})
  return check.stdout
    .toString('latin1')
    .split('\n')
    .every((line) => line === '' || line.endsWith(' missing'))
}

/** Stage 7: the same scan again; scrub succeeds only when it is clean. */
export async function stageRescan(ctx: ScrubContext): Promise<void> {
  ctx.after = (await scanRepository(ctx.repo, {detector: ctx.options.detector, patterns: ctx.options.patterns})).report
}

/**
 * Old commits that changed while all their parents did not: where the
 * rewritten history first differs. Only a commit the map gives a different id
 * (or all zeros: pruned) changed; a commit the map leaves out (git-filter-repo
 * omits some, e.g. the commits of an untouched refs/notes/* history) or maps to
 * itself is the same commit, and listing it would send operators and Git hosts
 * after commits that are still there.
 */
export function firstChangedCommits(commitMap: ReadonlyMap<string, string>, parents: ReadonlyMap<string, string[]>): string[] {
  const changed = (commit: string) => {
    const now = commitMap.get(commit)
    return now !== undefined && now !== commit
  }
  const first: string[] = []
  for (const [commit, parentList] of parents) {
    if (changed(commit) && parentList.every((parent) => !changed(parent))) first.push(commit)
  }
  return first.sort()
}

export interface NextSteps {
  pushCommands: string[]
  firstChangedCommits: string[]
  notes: string[]
}

export function nextSteps(ctx: ScrubContext): NextSteps {
  const first = ctx.rewrite && ctx.parents ? firstChangedCommits(ctx.rewrite.commitMap, ctx.parents) : []
  return {
    pushCommands: [
      // Only heads and tags: refs/pull/* and other hosting refs are read-only and must be purged by the host.
      "git push --force --prune origin 'refs/heads/*:refs/heads/*' 'refs/tags/*:refs/tags/*'",
    ],
    firstChangedCommits: first,
    notes: [
      ...(ctx.plan && ctx.plan.lfsObjects.length > 0
        ? [`The SOPS files stored through Git LFS are still on the LFS server and in .git/lfs/objects (objects ${ctx.plan.lfsObjects.map((oid) => oid.slice(0, 12)).join(', ')}): delete them there (your Git host's LFS settings) and locally.`]
        : []),
      'Every other clone, fork and CI cache still holds the old history: delete them and re-clone; never merge or push from an old clone.',
      'Ask your Git host to purge cached views and pull-request refs (refs/pull/*) that still reference the old commits.',
      'If the repository was ever public or shared beyond the team, treat every removed secret as leaked: rotate it.',
      `Keep the backup bundle${ctx.backupPath ? ` (${ctx.backupPath})` : ''} offline, readable by you only, and delete it once the new history is verified.`,
    ],
  }
}

/** preflight → plan: all that `--dry-run` runs. */
export const PLAN_STAGES: readonly Stage<ScrubContext>[] = [
  {name: 'preflight', title: 'preflight', run: (ctx) => stagePreflight(ctx)},
  {name: 'plan', title: 'plan', run: (ctx) => stagePlan(ctx)},
]

/** backup → rewrite → cleanup → rescan, after the confirmation. */
export function rewriteStages(backupWritten?: (path: string) => void): Stage<ScrubContext>[] {
  return [
    {
      name: 'backup',
      title: 'backup',
      run: async (ctx) => {
        await stageBackup(ctx)
        // Said before the rewrite, so the operator knows where it is even if a later stage fails.
        backupWritten?.(ctx.backupPath ?? '')
      },
    },
    {name: 'rewrite', title: 'rewrite', run: (ctx) => stageRewrite(ctx)},
    {name: 'cleanup', title: 'cleanup', run: (ctx) => stageCleanup(ctx)},
    {name: 'rescan', title: 'rescan', run: (ctx) => stageRescan(ctx)},
  ]
}

export interface ScrubHooks extends WorkflowHooks {
  /** The plan is ready (shown before the confirmation). */
  planned?: (ctx: ScrubContext) => void
  /** Where the backup bundle is, as soon as it exists. */
  backupWritten?: (path: string) => void
}

export type ScrubOutcome = 'nothing-to-do' | 'dry-run' | 'rewritten'

/**
 * The scrub workflow: preflight → plan → (stop on --dry-run or nothing to
 * do) → confirmation → backup → rewrite → cleanup → rescan.
 */
export async function runScrub(ctx: ScrubContext, options: {dryRun: boolean}, hooks: ScrubHooks): Promise<ScrubOutcome> {
  await runStages(PLAN_STAGES, ctx, hooks)
  hooks.planned?.(ctx)
  const plan = ctx.plan!
  if (plan.nothingToDo) return 'nothing-to-do'
  if (options.dryRun) return 'dry-run'
  await confirmGate(hooks, {
    message: `Rewrite every ref of ${displayText(ctx.repo)} with ${ctx.engine} (${plan.blobsToStrip.length} blobs at ${plan.pathsToRemove.length} paths, ${plan.replacements} value forms)?`,
    nonInteractiveHint: 'Review the plan with --dry-run, then re-run with --yes.',
  })
  await runStages(rewriteStages(hooks.backupWritten), ctx, hooks)
  return 'rewritten'
}

/** Runs the given stages in order (what tests call to drive a chosen subset). */
export async function runScrubStages(ctx: ScrubContext, stages: {name: string; run: (ctx: ScrubContext) => Promise<void>}[], onStage?: (name: string, state: 'start' | 'done') => void): Promise<void> {
  await runStages(
    stages.map((stage) => ({name: stage.name, title: stage.name, run: (c: ScrubContext) => stage.run(c)})),
    ctx,
    {onStage: onStage && ((name, state) => state !== 'skipped' && onStage(name, state))},
  )
}

export function newScrubContext(options: ScrubOptions): ScrubContext {
  return {options, repo: options.repo}
}

export type {EngineName, FilterRepoSupport}
