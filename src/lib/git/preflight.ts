import {readdir, readFile} from 'node:fs/promises'
import {join, resolve} from 'node:path'

import {runGit} from '../git-client/exec.js'

export interface PreflightCheck {
  name: string
  ok: boolean
  detail?: string
}

/**
 * The fresh-clone test git-filter-repo applies before it rewrites (its manual,
 * "FRESH CLONE SAFETY CHECK AND --FORCE"): a repository that looks freshly
 * cloned has an intact copy elsewhere, so a rewrite cannot lose unpushed work.
 * Each condition is one named check so the operator sees exactly which failed.
 */
export async function freshCloneChecks(repo: string): Promise<PreflightCheck[]> {
  const text = async (args: string[], okCodes?: number[]) => (await runGit(repo, args, {okCodes})).stdout.toString('utf8')
  const checks: PreflightCheck[] = []
  const bare = (await text(['rev-parse', '--is-bare-repository'])).trim() === 'true'
  const gitDir = (await text(['rev-parse', '--git-dir'])).trim()

  const stats = Object.fromEntries(
    (await text(['count-objects', '-v']))
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(': ') as [string, string]),
  )
  const packs = Number(stats.packs ?? 0)
  const loose = Number(stats.count ?? 0)
  const packed = !(packs > 1 || (packs === 1 && loose > 0) || loose >= 100)
  checks.push({name: 'freshly packed', ok: packed, detail: packed ? undefined : `${packs} packs and ${loose} loose objects (a fresh clone has one pack, no loose objects)`})

  const remotes = (await text(['remote'])).split('\n').filter(Boolean)
  const oneRemote = (remotes.length === 1 && remotes[0] === 'origin') || (remotes.length === 0 && packs === 0)
  checks.push({name: 'exactly one remote, origin', ok: oneRemote, detail: oneRemote ? undefined : `remotes: ${remotes.join(', ') || '(none)'}`})

  const expectedGitDir = bare ? '.' : '.git'
  checks.push({name: `GIT_DIR is ${expectedGitDir}`, ok: gitDir === expectedGitDir, detail: gitDir === expectedGitDir ? undefined : `GIT_DIR is ${gitDir} (run from the repository's top directory)`})

  const logsDir = join(resolve(repo, gitDir), 'logs')
  const longReflogs: string[] = []
  const walk = async (dir: string, prefix: string): Promise<void> => {
    const entries = await readdir(dir, {withFileTypes: true}).catch(() => [])
    for (const entry of entries) {
      const full = join(dir, entry.name)
      if (entry.isDirectory()) await walk(full, `${prefix}${entry.name}/`)
      else if ((await readFile(full, 'latin1')).split('\n').filter(Boolean).length > 1) longReflogs.push(`${prefix}${entry.name}`)
    }
  }
  await walk(logsDir, '')
  checks.push({name: 'at most one reflog entry per ref', ok: longReflogs.length === 0, detail: longReflogs.length ? `reflogs with history: ${longReflogs.slice(0, 5).join(', ')}` : undefined})

  const refs = new Map<string, string>()
  for (const line of (await text(['for-each-ref', '--format=%(objectname) %(refname)'])).split('\n').filter(Boolean)) {
    const space = line.indexOf(' ')
    refs.set(line.slice(space + 1), line.slice(0, space))
  }
  checks.push({name: 'no stash', ok: !refs.has('refs/stash'), detail: refs.has('refs/stash') ? 'refs/stash exists' : undefined})

  if (!bare) {
    const staged = (await runGit(repo, ['diff', '--staged', '--quiet'], {okCodes: [1]})).code === 0
    checks.push({name: 'no staged changes', ok: staged})
    const unstaged = (await runGit(repo, ['diff', '--quiet'], {okCodes: [1]})).code === 0
    checks.push({name: 'no unstaged changes', ok: unstaged})
    const untracked = (await text(['ls-files', '-o'])).trim() === ''
    checks.push({name: 'no untracked files', ok: untracked})
    const unpushed: string[] = []
    for (const [ref, oid] of refs) {
      if (!ref.startsWith('refs/heads/')) continue
      const tracking = ref.replace('refs/heads/', 'refs/remotes/origin/')
      if (refs.get(tracking) !== oid) unpushed.push(`${ref.slice(11)} ${refs.has(tracking) ? 'differs from' : 'has no'} ${tracking.slice(5)}`)
    }
    checks.push({name: 'every branch equals its origin branch', ok: unpushed.length === 0, detail: unpushed.length ? unpushed.slice(0, 5).join('; ') : undefined})
    const worktrees = (await text(['worktree', 'list'])).split('\n').filter(Boolean).length
    checks.push({name: 'a single worktree', ok: worktrees <= 1, detail: worktrees > 1 ? `${worktrees} worktrees` : undefined})
  }
  return checks
}
