import {mkdir, writeFile} from 'node:fs/promises'
import {dirname, join, resolve} from 'node:path'

import {ToolkitError} from '../errors/errors.js'
import {gitText, runGit} from '../git-client/exec.js'
import {unifiedDiff} from '../gitops/line-diff.js'
import {displayText} from '../report/display.js'
import {confirmGate, runStage, type WorkflowHooks} from '../workflow/runner.js'
import {planFinish, type ChangeAction, type FinishPlan} from './finish-plan.js'
import {buildMigrationPlan, type MigrationPlan, type PlanOptions} from './plan.js'
import type {VerifyReport} from './verify.js'

export interface FinishRequest {
  plan: Omit<PlanOptions, 'onProgress'>
  /** The GitOps tree the migration covered. */
  dir: string
  dryRun: boolean
  /** The new branch to commit on. */
  branch: string
  /** false: leave the change staged on the current branch. */
  commit: boolean
}

export interface FinishHost extends WorkflowHooks {
  say(text: string): void
  /** `migrate verify` against the decrypted sources: exit 0 of it is the precondition. */
  verify(plan: MigrationPlan): Promise<VerifyReport>
}

export interface FinishOutput {
  dryRun: boolean
  repository: string
  changes: {path: string; action: ChangeAction; why: string[]; reformatted?: boolean}[]
  generators: FinishPlan['generators']
  decryption: FinishPlan['decryption']
  decryptionKept: FinishPlan['decryptionKept']
  sopsConfigsKept: FinishPlan['sopsConfigsKept']
  /** Why the real run would refuse this repository (dirty, shallow, branch exists); empty when it would not. */
  blockers: string[]
  verification?: {inSync: boolean; proven: boolean; counts: Record<string, number>}
  branch?: string
  commit?: string
  staged: boolean
  nextSteps: string[]
}

/** The default branch name: secrets-toolkit/migrate-YYYYMMDD (UTC). */
export function defaultBranch(now = new Date()): string {
  return `secrets-toolkit/migrate-${now.toISOString().slice(0, 10).replaceAll('-', '')}`
}

/** Why this repository cannot take the change as one reviewable commit (shallow, uncommitted work, the branch taken). */
async function repositoryBlockers(root: string, request: FinishRequest): Promise<string[]> {
  const blockers: string[] = []
  if ((await gitText(root, ['rev-parse', '--is-shallow-repository'])) === 'true') {
    blockers.push(`${displayText(root)} is a shallow clone: fetch the whole history first (git fetch --unshallow)`)
  }
  const status = await gitText(root, ['status', '--porcelain', '--untracked-files=normal'])
  if (status !== '') {
    const count = status.split('\n').length
    blockers.push(`the working tree of ${displayText(root)} has ${count} uncommitted change(s) (git status): commit or stash them, so that the hand-off commit holds nothing else`)
  }
  if (request.commit && (await runGit(root, ['rev-parse', '--verify', '--quiet', `refs/heads/${request.branch}`], {okCodes: [1]})).code === 0) {
    blockers.push(`branch ${displayText(request.branch)} already exists: choose another with --branch`)
  }
  if (request.commit && (await runGit(root, ['check-ref-format', '--branch', request.branch], {okCodes: [1, 128], stderrInErrors: false})).code !== 0) {
    blockers.push(`${displayText(request.branch)} is not a valid branch name`)
  }
  return blockers
}

export function renderFinishPlan(finish: FinishPlan): string {
  const lines: string[] = ['', `Hand-off plan for ${displayText(finish.root)}:`]
  for (const change of finish.changes) lines.push(`  ${change.action.padEnd(6)} ${displayText(change.path)}  — ${change.why.join('; ')}${change.reformatted ? ' (re-serialised by the yaml library: comments kept, layout may change)' : ''}`)
  for (const generator of finish.generators) {
    lines.push('', `secretGenerator ${generator.generator} (${generator.kustomization}) is gone: Secret ${generator.secret} (migrated, no hash suffix) takes its place.`)
    if (generator.workloads.length === 0) lines.push('  No workload in the tree names it.')
    for (const workload of generator.workloads) lines.push(`  ${workload} → resolves to Secret ${generator.secret}`)
  }
  for (const retired of finish.decryption) {
    lines.push('', `Flux Kustomization ${retired.kustomization} decrypts nothing any more: spec.decryption is removed (${displayText(retired.file)}).${retired.keySecret ? ` Its key Secret ${retired.keySecret} can be deleted after the next reconcile.` : ''}`)
  }
  for (const kept of finish.decryptionKept) lines.push('', `Flux Kustomization ${kept.kustomization} keeps spec.decryption: SOPS files remain under its path (${kept.remaining.slice(0, 5).join(', ')}${kept.remaining.length > 5 ? ', …' : ''}).`)
  for (const kept of finish.sopsConfigsKept) lines.push(`Kept ${displayText(kept.path)}: ${kept.reason}.`)
  return lines.join('\n')
}

/** The diff of every edited or added text file; deleted SOPS files are named, never shown (ciphertext). */
export function renderFinishDiff(finish: FinishPlan): string {
  const parts: string[] = []
  for (const change of finish.changes) {
    if (change.action === 'delete') parts.push(`deleted file ${displayText(change.path)}`)
    else parts.push(unifiedDiff(displayText(change.path), change.before ?? '', change.after ?? ''))
  }
  return parts.join('\n')
}

function nextSteps(output: FinishOutput, finish: FinishPlan): string[] {
  const steps = [
    output.commit ? `Review the commit: git -C ${output.repository} show --stat ${output.branch}` : `Review the staged change: git -C ${output.repository} diff --cached`,
    output.commit ? `Push the branch and open a pull request: git -C ${output.repository} push -u origin ${output.branch}` : 'Commit it, push, and open a pull request',
    'Merge it, then watch Flux reconcile the new revision: flux get kustomizations --watch (Ready=True at the new revision; no Secret deleted in the events: flux events)',
    'Then run `secrets migrate verify` again: exit 0 proves every Secret survived the reconcile and every value is in every region',
  ]
  for (const retired of finish.decryption) if (retired.keySecret) steps.push(`After the reconcile, retire the decryption key: kubectl -n ${retired.keySecret.split('/')[0]} delete secret ${retired.keySecret.split('/')[1]}`)
  steps.push('Finally remove the SOPS files from history: secrets git scrub (see docs/runbooks/git-scrub.md)')
  return steps
}

/**
 * `migrate finish` as named stages: plan (decrypt the sources, plan every
 * edit, show the diff; --dry-run stops here having contacted nothing and
 * written nothing) → repository checks (not shallow, nothing uncommitted, the
 * branch free) → verification (`migrate verify` against the sources must pass)
 * → confirmation → write on a new branch → commit (or leave staged). Never
 * pushes.
 */
export async function runFinish(request: FinishRequest, host: FinishHost): Promise<FinishOutput> {
  const stage = <T>(title: string, work: (update: (line: string) => void) => Promise<T>): Promise<T> => runStage(title, work, host)
  const dir = resolve(request.plan.cwd, request.dir)
  const root = await gitText(dir, ['rev-parse', '--show-toplevel'], {stderrInErrors: false}).catch(() => {
    throw new ToolkitError('NOT_A_REPOSITORY', `${displayText(request.dir)} is not in a Git repository`, {hint: 'Run migrate finish on a clone of the GitOps repository.'})
  })
  const plan = await stage('Find and decrypt the migrated SOPS files', (update) =>
    buildMigrationPlan({...request.plan, paths: [dir], continueOnError: false, onProgress: (done, total, file) => update(`${done}/${total} ${file}`)}),
  )
  if (plan.migrations.length === 0) {
    throw new ToolkitError('NOTHING_TO_FINISH', `no SOPS file under ${displayText(request.dir)}: nothing to hand off`, {hint: 'Name the directory `migrate sops` migrated.'})
  }
  const finish = await stage('Plan the repository change', () => planFinish(plan, {dir, root, cwd: request.plan.cwd}))
  host.say(renderFinishPlan(finish))
  host.say(`\n${renderFinishDiff(finish)}`)
  const blockers = await repositoryBlockers(root, request)
  const output: FinishOutput = {
    dryRun: request.dryRun,
    repository: root,
    changes: finish.changes.map(({path, action, why, reformatted}) => ({path, action, why, ...(reformatted ? {reformatted} : {})})),
    generators: finish.generators,
    decryption: finish.decryption,
    decryptionKept: finish.decryptionKept,
    sopsConfigsKept: finish.sopsConfigsKept,
    blockers,
    staged: false,
    nextSteps: [],
  }
  if (request.dryRun) {
    if (blockers.length > 0) host.say(`\nThe real run would refuse this repository:\n  ${blockers.join('\n  ')}`)
    host.say('\nDry run: nothing was contacted or written. Re-run without --dry-run: it verifies the migration first, then writes this change.')
    output.nextSteps = nextSteps(output, finish)
    return output
  }
  if (blockers.length > 0) {
    throw new ToolkitError('REPOSITORY_NOT_READY', `migrate finish refuses ${displayText(root)}; nothing was changed:\n  ${blockers.join('\n  ')}`, {hint: 'Fix those, then re-run (--dry-run shows the plan meanwhile).'})
  }
  const report = await stage('Verify the migration (migrate verify against the SOPS sources)', () => host.verify(plan))
  output.verification = {inSync: report.inSync, proven: report.completeness.proven, counts: report.counts as Record<string, number>}
  if (!report.inSync || !report.completeness.proven) {
    host.say(`\nNot handing off: migrate verify does not pass (${Object.entries(report.counts).map(([status, count]) => `${status}: ${count}`).join(', ')}). Run \`secrets migrate verify --source ${request.dir}\` for the details; nothing was changed.`)
    return output
  }
  await confirmGate(host, {
    message: `Write this change to ${request.commit ? `a new branch ${request.branch}` : 'the index of the current branch'} (${finish.changes.length} file(s))?`,
    nonInteractiveHint: 'Review the plan with --dry-run, then re-run with --yes.',
  })
  await stage(request.commit ? `Write the change on branch ${request.branch}` : 'Write and stage the change', async () => {
    if (request.commit) await runGit(root, ['switch', '--quiet', '--create', request.branch])
    const removed = finish.changes.filter((change) => change.action === 'delete').map((change) => change.path)
    if (removed.length > 0) await runGit(root, ['rm', '--quiet', '--', ...removed])
    const written = finish.changes.filter((change) => change.action !== 'delete')
    for (const change of written) {
      const file = join(root, change.path)
      await mkdir(dirname(file), {recursive: true})
      await writeFile(file, change.after ?? '')
    }
    if (written.length > 0) await runGit(root, ['add', '--', ...written.map((change) => change.path)])
  })
  output.staged = true
  if (request.commit) {
    const secrets = plan.migrations.map((migration) => `${migration.planned.spec.namespace}/${migration.planned.spec.name}`)
    const message = [
      `Hand off ${secrets.length} migrated Secret(s) from SOPS to ESO PushSecrets`,
      '',
      'Written by `secrets migrate finish` after `migrate verify` passed: the SOPS files, their kustomization entries',
      'and the decryption they needed go; the PushSecret manifests come. The Secrets carry prune protection,',
      'so the reconcile of this commit deletes none of them.',
      '',
      ...finish.changes.map((change) => `${change.action} ${change.path}`),
    ].join('\n')
    await stage('Commit', () => runGit(root, ['commit', '--quiet', '-F', '-'], {input: Buffer.from(message)}))
    output.branch = request.branch
    output.commit = await gitText(root, ['rev-parse', 'HEAD'])
    output.staged = false
    host.say(`\nCommitted ${output.commit.slice(0, 12)} on branch ${request.branch} (not pushed).`)
  } else {
    host.say('\nThe change is staged on the current branch (not committed, not pushed).')
  }
  output.nextSteps = nextSteps(output, finish)
  host.say(`\nNext steps:\n${output.nextSteps.map((step, index) => `  ${index + 1}. ${step}`).join('\n')}`)
  return output
}
