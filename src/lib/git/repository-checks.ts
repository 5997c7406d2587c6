import {readdir, stat} from 'node:fs/promises'
import {resolve} from 'node:path'

import {ToolkitError} from '../errors/errors.js'
import {displayText} from '../report/display.js'
import {runGit} from '../git-client/exec.js'

/**
 * A scan can only vouch for objects that are in the repository. A shallow
 * clone lacks the history before its cut, a partial (promisor) clone lacks
 * blobs it fetches on demand, and a damaged repository lacks whatever was
 * lost: in each, "Clean" would be a claim about objects nobody read, and a
 * rewrite would turn the cut into a new root commit whose force-push
 * replaces the remote's whole history. So scan and scrub refuse them
 * (exit 2), and say how to get a complete copy.
 */

/** The path exists and is a Git repository; returns nothing, throws a usage error naming the path. */
export async function assertGitRepository(repo: string): Promise<void> {
  const info = await stat(repo).catch((error: NodeJS.ErrnoException) => error)
  if (info instanceof Error) {
    throw new ToolkitError('USAGE', `${displayText(repo)} ${info.code === 'ENOENT' || info.code === 'ENOTDIR' ? 'does not exist' : `cannot be read (${info.code ?? 'error'})`}`, {
      hint: 'Pass the path of a Git repository (a clone), e.g. secrets git scan ./repo.',
    })
  }
  if (!info.isDirectory()) throw new ToolkitError('USAGE', `${displayText(repo)} is not a directory`, {hint: 'Pass the path of a Git repository (a clone).'})
  const probe = await runGit(repo, ['rev-parse', '--git-dir'], {okCodes: [128], stderrInErrors: false})
  if (probe.code !== 0) {
    throw new ToolkitError('NOT_A_REPOSITORY', `${displayText(repo)} is not a Git repository`, {hint: 'Pass the path of a clone (git clone --mirror <url> gives a complete one).'})
  }
}

async function gitText(repo: string, args: string[], okCodes: number[] = []): Promise<{code: number; text: string}> {
  const result = await runGit(repo, args, {okCodes, stderrInErrors: false})
  return {code: result.code, text: result.stdout.toString('utf8').trim()}
}

/** `git rev-parse --is-shallow-repository` (git ≥ 2.15), with the `shallow` file as a fallback. */
export async function isShallow(repo: string): Promise<boolean> {
  const answer = await gitText(repo, ['rev-parse', '--is-shallow-repository'])
  if (answer.text === 'true') return true
  if (answer.text === 'false') return false
  const shallowFile = (await gitText(repo, ['rev-parse', '--git-path', 'shallow'])).text
  return (await stat(resolve(repo, shallowFile)).catch(() => undefined))?.isFile() === true
}

/** What makes a repository a partial clone: promisor remotes, extensions.partialclone, or promisor packs. */
export async function partialCloneSigns(repo: string): Promise<string[]> {
  const signs: string[] = []
  const config = await gitText(repo, ['config', '--get-regexp', '^(remote\\..*\\.(promisor|partialclonefilter)|extensions\\.partialclone)$'], [1])
  for (const line of config.text.split('\n').filter(Boolean)) {
    const [name, ...value] = line.split(' ')
    if (name.endsWith('.promisor') && value.join(' ').toLowerCase() === 'false') continue
    signs.push(displayText(`${name} ${value.join(' ')}`.trim()))
  }
  const packDir = resolve(repo, (await gitText(repo, ['rev-parse', '--git-path', 'objects/pack'])).text)
  const promisorPacks = (await readdir(packDir).catch(() => [] as string[])).filter((name) => name.endsWith('.promisor'))
  if (promisorPacks.length > 0) signs.push(`${promisorPacks.length} promisor pack${promisorPacks.length === 1 ? '' : 's'} in objects/pack`)
  return signs
}

// fsck's exit status is a bit mask of what it found; every value is an answer, not a failure to run.
const ANY_FAILURE = Array.from({length: 255}, (_, index) => index + 1)
const MISSING = /^missing (\w+) ([0-9a-f]{40,64})/
const BROKEN = /^broken link from\s+\w+\s+[0-9a-f]{40,64}\s+to\s+(\w+)\s+([0-9a-f]{40,64})/

/**
 * Every object reachable from a ref, the reflogs or the index is present
 * (`git fsck --connectivity-only`: it walks commits and trees without
 * inflating blobs). Returns the missing object ids found (at most a few).
 */
export async function missingObjects(repo: string): Promise<{ok: boolean; missing: string[]}> {
  const fsck = await runGit(repo, ['fsck', '--connectivity-only', '--no-dangling', '--no-progress'], {okCodes: ANY_FAILURE, stderrInErrors: false})
  if (fsck.code === 0) return {ok: true, missing: []}
  const missing = new Set<string>()
  // fsck names object types and ids, never content.
  for (const line of `${fsck.stdout.toString('utf8')}\n${fsck.stderr}`.split('\n')) {
    const found = MISSING.exec(line) ?? BROKEN.exec(line)
    if (found) missing.add(`${found[1]} ${found[2]}`)
  }
  return {ok: false, missing: [...missing].slice(0, 5)}
}

/**
 * Refuses (exit 2) a repository whose objects are not all here: shallow,
 * partial, or with missing objects. `what` names the command for the message.
 */
export async function assertCompleteRepository(repo: string, what: string): Promise<void> {
  await assertWholeHistory(repo, what)
  assertConnected(repo, what, await missingObjects(repo))
}

/** The quick part of assertCompleteRepository: a repository, neither shallow nor partial (no object walk). */
export async function assertWholeHistory(repo: string, what: string): Promise<void> {
  await assertGitRepository(repo)
  const shown = displayText(repo)
  if (await isShallow(repo)) {
    throw new ToolkitError('SHALLOW_REPOSITORY', `${shown} is a shallow clone: the history before its cut is not in it, so ${what} cannot see it (and a rewrite would make the cut a new root commit)`, {
      hint: 'Fetch the whole history first: git fetch --unshallow (in the repository), or clone it in full: git clone --mirror <url>.',
    })
  }
  const signs = await partialCloneSigns(repo)
  if (signs.length > 0) {
    throw new ToolkitError('PARTIAL_CLONE', `${shown} is a partial clone (${signs.join('; ')}): objects it has not fetched cannot be checked, so ${what} cannot vouch for them`, {
      hint: 'Clone it in full, without --filter: git clone --mirror <url>.',
    })
  }
}

/** Throws the missing-objects refusal for a failed missingObjects() answer. */
export function assertConnected(repo: string, what: string, connectivity: {ok: boolean; missing: string[]}): void {
  const shown = displayText(repo)
  if (!connectivity.ok) {
    const detail = connectivity.missing.length > 0 ? `missing: ${connectivity.missing.join(', ')}` : 'git fsck --connectivity-only reports errors'
    throw new ToolkitError('MISSING_OBJECTS', `${shown} is missing objects that its refs or reflogs reach (${detail}), so ${what} cannot read all of its history`, {
      hint: 'Run git fsck to see what is damaged, then work on a complete copy: git clone --mirror <url>.',
    })
  }
}
