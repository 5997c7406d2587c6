import {access, chmod} from 'node:fs/promises'
import {basename, dirname, join, resolve} from 'node:path'

import {ToolkitError} from '../errors/errors.js'
import {probeFilterRepo, rewriteBuiltin, rewriteFilterRepo, type EngineName, type FilterRepoSupport, type RewriteResult} from './engines.js'
import {runGit} from './exec.js'
import {displayPath, type PathKey} from './history-index.js'
import {freshCloneChecks, type PreflightCheck} from './preflight.js'
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
  pathsToRemove: string[]
  /** Paths that exist at HEAD today and will disappear from it too (e.g. an ExternalSecret that replaced a SOPS file). */
  pathsAtHead: string[]
  blobsToStrip: string[]
  valueObjects: number
  /** Distinct byte strings (values and their encodings) that will be replaced; never the strings. */
  replacements: number
  nothingToDo: boolean
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
  after?: ScanReport
}

/** Stage 1: is this a repository we may rewrite, and with which engine? */
export async function stagePreflight(ctx: ScrubContext): Promise<void> {
  const top = await runGit(ctx.options.repo, ['rev-parse', '--show-toplevel'], {okCodes: [128]})
  const bare = (await runGit(ctx.options.repo, ['rev-parse', '--is-bare-repository'], {okCodes: [128]})).stdout.toString('utf8').trim() === 'true'
  if (top.code !== 0 && !bare) throw new ToolkitError('NOT_A_REPOSITORY', `${ctx.options.repo} is not a Git repository`, {hint: 'Pass the path of a clone: secrets git scrub <repo>.'})
  ctx.repo = bare ? resolve(ctx.options.repo) : top.stdout.toString('utf8').trim()
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
  ctx.engine = choice === 'auto' ? (ctx.support.installed ? 'filter-repo' : 'builtin') : choice
  const remote = await runGit(ctx.repo, ['config', '--get', 'remote.origin.url'], {okCodes: [1]})
  // Kept only to restore the remote git-filter-repo removes; never printed (it may embed a token).
  ctx.originUrl = remote.code === 0 ? remote.stdout.toString('utf8').trim() : undefined
}

/** Stage 2: scan, and turn the findings into what the rewrite will remove. `--dry-run` stops after this. */
export async function stagePlan(ctx: ScrubContext): Promise<void> {
  ctx.before = await scanRepository(ctx.repo, {detector: ctx.options.detector, patterns: ctx.options.patterns})
  const headPaths = await pathsAtHead(ctx.repo, ctx.before.pathsToRemove)
  const replacements = ctx.options.replaceValues && ctx.options.patterns ? replacementPatterns(ctx.options.patterns).length : 0
  ctx.plan = {
    repository: ctx.repo,
    engine: ctx.engine!,
    ...(ctx.engine === 'filter-repo' ? {filterRepo: {version: ctx.support?.version, sensitiveDataRemoval: ctx.support?.sensitiveDataRemoval ?? false}} : {}),
    pathsToRemove: [...ctx.before.pathsToRemove].map(displayPath).sort(),
    pathsAtHead: headPaths,
    blobsToStrip: [...ctx.before.blobsToStrip].sort(),
    valueObjects: ctx.before.report.valueFindings.length,
    replacements,
    nothingToDo: ctx.before.report.clean,
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

async function pathsAtHead(repo: string, paths: ReadonlySet<PathKey>): Promise<string[]> {
  if (paths.size === 0) return []
  const head = await runGit(repo, ['ls-tree', '-r', '-z', '--name-only', 'HEAD'], {okCodes: [128]})
  if (head.code !== 0) return []
  const present: string[] = []
  for (const name of head.stdout.toString('latin1').split('\0')) {
    if (name && paths.has(name)) present.push(displayPath(name))
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
  await runGit(ctx.repo, ['bundle', 'create', path, '--all'])
  await chmod(path, 0o600)
  await runGit(ctx.repo, ['bundle', 'verify', '--quiet', path])
  ctx.backupPath = path
}

/** Stage 5: rewrite every ref with the chosen engine. */
export async function stageRewrite(ctx: ScrubContext): Promise<void> {
  const rules = {
    paths: ctx.before!.pathsToRemove,
    blobIds: ctx.before!.blobsToStrip,
    replacements: ctx.options.replaceValues && ctx.options.patterns ? replacementPatterns(ctx.options.patterns) : [],
  }
  ctx.rewrite =
    ctx.engine === 'filter-repo'
      ? await rewriteFilterRepo(ctx.repo, rules, {force: ctx.options.force, support: ctx.support!})
      : await rewriteBuiltin(ctx.repo, rules)
  if (ctx.originUrl) {
    // git-filter-repo (before --sensitive-data-removal) removes origin; the operator needs it to force-push.
    const has = await runGit(ctx.repo, ['config', '--get', 'remote.origin.url'], {okCodes: [1]})
    if (has.code !== 0) await runGit(ctx.repo, ['remote', 'add', 'origin', ctx.originUrl], {stderrInErrors: false})
  }
}

/** Stage 6: drop every way back to the old objects inside the repository (the bundle stays outside). */
export async function stageCleanup(ctx: ScrubContext): Promise<void> {
  await runGit(ctx.repo, ['reflog', 'expire', '--expire=now', '--all'])
  await runGit(ctx.repo, ['gc', '--prune=now', '--quiet'])
}

/** Stage 7: the same scan again; scrub succeeds only when it is clean. */
export async function stageRescan(ctx: ScrubContext): Promise<void> {
  ctx.after = (await scanRepository(ctx.repo, {detector: ctx.options.detector, patterns: ctx.options.patterns})).report
}

/** Old commits that changed while all their parents did not: where the rewritten history first differs. */
export function firstChangedCommits(commitMap: ReadonlyMap<string, string>, parents: ReadonlyMap<string, string[]>): string[] {
  const changed = (commit: string) => {
    const now = commitMap.get(commit)
    return now === undefined || now !== commit
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
      'Every other clone, fork and CI cache still holds the old history: delete them and re-clone; never merge or push from an old clone.',
      'Ask your Git host to purge cached views and pull-request refs (refs/pull/*) that still reference the old commits.',
      'If the repository was ever public or shared beyond the team, treat every removed secret as leaked: rotate it.',
      `Keep the backup bundle${ctx.backupPath ? ` (${ctx.backupPath})` : ''} offline, readable by you only, and delete it once the new history is verified.`,
    ],
  }
}

export async function runScrubStages(ctx: ScrubContext, stages: {name: string; run: (ctx: ScrubContext) => Promise<void>}[], onStage?: (name: string, state: 'start' | 'done') => void): Promise<void> {
  for (const stage of stages) {
    onStage?.(stage.name, 'start')
    await stage.run(ctx)
    onStage?.(stage.name, 'done')
  }
}

export function newScrubContext(options: ScrubOptions): ScrubContext {
  return {options, repo: options.repo}
}

export type {EngineName, FilterRepoSupport}
