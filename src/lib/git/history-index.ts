import {spawn} from 'node:child_process'

import {ToolkitError} from '../errors/errors.js'
import {displayText} from '../report/display.js'
import {gitEnv, waitForExit} from '../git-client/exec.js'

/**
 * Paths are kept as their exact bytes (a latin1 string is a lossless
 * byte-per-char key), since Git paths need not be UTF-8; shown to people as UTF-8.
 */
export type PathKey = string

export function pathKeyFromBytes(bytes: Buffer): PathKey {
  return bytes.toString('latin1')
}
export function pathKeyToBytes(key: PathKey): Buffer {
  return Buffer.from(key, 'latin1')
}
export function displayPath(key: PathKey): string {
  return pathKeyToBytes(key).toString('utf8')
}

export interface BlobReferences {
  paths: Set<PathKey>
  /** Commits whose diff (against the first parent, or the empty tree for roots) adds or changes the blob at a path. */
  commits: Set<string>
}

export interface HistoryIndexOptions {
  /** Blobs whose paths and commits we want. */
  blobs: ReadonlySet<string>
  /** Paths selected by name (e.g. `.sops.yaml`), whatever their content. */
  selectPath?: (path: PathKey) => boolean
}

export interface HistoryIndex {
  byBlob: Map<string, BlobReferences>
  /** Blobs found at paths selected by `selectPath`, with their references. */
  selected: Map<string, BlobReferences>
  commits: number
}

const ZERO_OID = /^0+$/

/**
 * One `git log --all --reflog --raw` pass maps blobs to the paths and commits
 * that introduce them. Every blob in any reachable tree is introduced by some
 * commit's diff against its first parent (evil merges included), so the pass
 * sees every (blob, path) pair without walking each commit's full tree.
 */
export async function indexHistory(repo: string, options: HistoryIndexOptions): Promise<HistoryIndex> {
  const pass = historyPass(repo, {wants: (blob) => options.blobs.has(blob), selectPath: options.selectPath})
  return (await pass.done)!
}

/** How many (blob, path, commit) entries an early history pass keeps before it gives up: about 1.4 KB each on the heap (Sets per blob; 68 MB for the 49,000 of bench/git), so at most ~150 MB. */
export const EARLY_HISTORY_MAX_ENTRIES = 100_000

export interface EarlyHistoryIndex {
  /** The index restricted to these blobs: from the early pass, or (when it kept too much) from a pass run now. */
  finish(blobs: ReadonlySet<string>): Promise<HistoryIndex>
  /** Stops the pass (the read it ran beside failed). */
  abort(): void
}

/**
 * Starts the history pass now, beside the object read (its own git process,
 * another core), before the blobs of interest are known: it keeps every
 * blob's references, up to `maxEntries` of them. Past that it stops, and
 * `finish` runs the pass again restricted to the blobs then known, so memory
 * stays bounded on any history.
 */
export function startHistoryIndex(repo: string, options: {selectPath?: (path: PathKey) => boolean; maxEntries?: number}): EarlyHistoryIndex {
  const pass = historyPass(repo, {wants: () => true, selectPath: options.selectPath, maxEntries: options.maxEntries ?? EARLY_HISTORY_MAX_ENTRIES})
  // Awaited in finish(); a failure before that must not be an unhandled rejection.
  const done = pass.done.then(
    (index) => ({index}),
    (error: unknown) => ({error}),
  )
  return {
    async finish(blobs) {
      const result = await done
      if ('error' in result) throw result.error
      if (!result.index) return indexHistory(repo, {blobs, selectPath: options.selectPath})
      const byBlob = new Map<string, BlobReferences>()
      for (const blob of blobs) {
        const refs = result.index.byBlob.get(blob)
        if (refs) byBlob.set(blob, refs)
      }
      return {byBlob, selected: result.index.selected, commits: result.index.commits}
    },
    abort: () => pass.kill(),
  }
}

/** The pass itself; `done` resolves to undefined when more than `maxEntries` blob references would be kept. */
function historyPass(
  repo: string,
  options: {wants: (blob: string) => boolean; selectPath?: (path: PathKey) => boolean; maxEntries?: number},
): {done: Promise<HistoryIndex | undefined>; kill: () => void} {
  const args = ['log', '--all', '--reflog', '--raw', '--no-abbrev', '--no-renames', '-z', '--root', '--diff-merges=first-parent', '--format=%x01%H']
  const child = spawn('git', ['-C', repo, ...args], {env: gitEnv(), stdio: ['ignore', 'pipe', 'pipe']})
  let stopped = false
  const kill = () => {
    stopped = true
    child.kill()
  }
  const run = async (): Promise<HistoryIndex | undefined> => {
    const exit = waitForExit(child, 'git log')
    let stderr = ''
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8')
    })
    const index: HistoryIndex = {byBlob: new Map(), selected: new Map(), commits: 0}
    const seenCommits = new Set<string>()
    let commit = ''
    let pendingMeta: string | undefined
    let rest: Buffer | undefined
    let kept = 0
    const add = (map: Map<string, BlobReferences>, blob: string, path: PathKey) => {
      let refs = map.get(blob)
      if (!refs) map.set(blob, (refs = {paths: new Set(), commits: new Set()}))
      refs.paths.add(path)
      refs.commits.add(commit)
    }
    const token = (bytes: Buffer) => {
      if (pendingMeta !== undefined) {
        const meta = pendingMeta
        pendingMeta = undefined
        // ":<oldmode> <newmode> <oldoid> <newoid> <status>" — gitlinks (160000) and deletions carry no blob.
        const fields = meta.split(' ')
        const newMode = fields[1]
        const blob = fields[3]
        if (newMode === '160000' || !blob || ZERO_OID.test(blob)) return
        const path = pathKeyFromBytes(bytes)
        if (options.wants(blob)) {
          add(index.byBlob, blob, path)
          if (options.maxEntries !== undefined && ++kept > options.maxEntries) kill()
        }
        if (options.selectPath?.(path)) add(index.selected, blob, path)
        return
      }
      let start = 0
      while (start < bytes.length && bytes[start] === 0x0a) start++
      const text = bytes.subarray(start).toString('latin1')
      if (text.startsWith('\x01')) {
        commit = text.slice(1)
        if (!seenCommits.has(commit)) {
          seenCommits.add(commit)
          index.commits++
        }
      } else if (text.startsWith(':')) {
        pendingMeta = text
      }
    }
    for await (const chunk of child.stdout! as AsyncIterable<Buffer>) {
      if (stopped) continue
      let data = rest ? Buffer.concat([rest, chunk]) : chunk
      let from = 0
      let nul = data.indexOf(0, from)
      while (nul !== -1 && !stopped) {
        token(data.subarray(from, nul))
        from = nul + 1
        nul = data.indexOf(0, from)
      }
      rest = from < data.length ? Buffer.from(data.subarray(from)) : undefined
      data = Buffer.alloc(0)
    }
    const code = await exit
    if (stopped) return undefined
    // An empty repository (no commits yet) makes `git log --all` fail; it simply has no history.
    if (code !== 0 && !/does not have any commits|bad default revision/.test(stderr)) {
      throw new ToolkitError('GIT_FAILED', `git log exited with ${code}: ${displayText(stderr.trim().slice(0, 300))}`, {hint: 'The history could not be walked: run git fsck in the repository to see why.'})
    }
    return index
  }
  return {done: run(), kill}
}
