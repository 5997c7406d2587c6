import {spawn, type ChildProcess} from 'node:child_process'
import {mkdtemp, readFile, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {Transform, type Writable} from 'node:stream'
import {pipeline} from 'node:stream/promises'

import {ToolkitError} from '../errors/errors.js'
import {CatFileBatchParser} from '../git-client/cat-file.js'
import {gitEnv, runGit, waitForExit} from '../git-client/exec.js'
import {FastExportFilter, rewriteTextBlob, type FilterRules, type FilterStats} from './fast-export-filter.js'
import {pathKeyToBytes} from './history-index.js'

export type EngineName = 'filter-repo' | 'builtin'

export interface RewriteResult {
  engine: EngineName
  /** Old commit id -> new commit id (absent or all zeros when pruned). */
  commitMap: Map<string, string>
  stats?: FilterStats
  /** git-filter-repo features used (e.g. sensitive-data-removal). */
  notes: string[]
}

export interface FilterRepoSupport {
  installed: boolean
  version?: string
  sensitiveDataRemoval: boolean
  noFetch: boolean
  /**
   * `--file-info-callback` (git-filter-repo ≥ 2.47): needed to drop a blob
   * from exactly the commits that hold it (turning that change into a
   * deletion); `--strip-blobs-with-ids` alone leaves the parent's version there.
   */
  fileInfoCallback: boolean
}

/** Whether git-filter-repo is on PATH and which of its safety features it has. */
export async function probeFilterRepo(): Promise<FilterRepoSupport> {
  try {
    const version = await runGit('.', ['filter-repo', '--version'], {stderrInErrors: false})
    const help = await runGit('.', ['filter-repo', '-h'], {okCodes: [0, 1, 2, 129], stderrInErrors: false})
    const text = help.stdout.toString('utf8') + help.stderr
    return {
      installed: true,
      version: version.stdout.toString('utf8').trim(),
      sensitiveDataRemoval: text.includes('--sensitive-data-removal'),
      noFetch: text.includes('--no-fetch'),
      fileInfoCallback: text.includes('--file-info-callback'),
    }
  } catch {
    return {installed: false, sensitiveDataRemoval: false, noFetch: false, fileInfoCallback: false}
  }
}

const FAST_EXPORT_ARGS = [
  'fast-export',
  '--all',
  '--show-original-ids',
  '--signed-tags=strip',
  '--tag-of-filtered-object=rewrite',
  '--fake-missing-tagger',
  '--reference-excluded-parents',
  '--reencode=yes',
  '--mark-tags',
  '--use-done-feature',
]

async function listRefs(repo: string): Promise<Map<string, string>> {
  const out = (await runGit(repo, ['for-each-ref', '--format=%(objectname) %(refname)'])).stdout.toString('utf8')
  const refs = new Map<string, string>()
  for (const line of out.split('\n')) {
    if (!line) continue
    const space = line.indexOf(' ')
    refs.set(line.slice(space + 1), line.slice(0, space))
  }
  return refs
}

/**
 * What git-filter-repo does with a fresh clone's remote-tracking refs, done
 * the same way for the built-in engine so both leave the same refs:
 * refs/remotes/origin/X becomes refs/heads/X (unless it exists) and the
 * remote-tracking refs go, since they would keep the old history alive.
 */
export async function migrateOriginToHeads(repo: string): Promise<void> {
  const refs = await listRefs(repo)
  const commands: string[] = []
  for (const [ref, oid] of refs) {
    if (!ref.startsWith('refs/remotes/origin/')) continue
    if (ref !== 'refs/remotes/origin/HEAD') {
      const head = ref.replace('refs/remotes/origin/', 'refs/heads/')
      if (!refs.has(head)) commands.push(`create ${head} ${oid}`)
    }
    commands.push(`delete ${ref}`)
  }
  if (commands.length > 0) await runGit(repo, ['update-ref', '--no-deref', '--stdin'], {input: Buffer.from(commands.join('\n') + '\n')})
}

export interface BuiltinRewriteOptions {
  /**
   * The blobs in which the plan's scan found a value (in any of its forms).
   * Only these can change under the replacements: they alone are read and
   * rewritten, and the rest of the history streams by id (`--no-data`).
   * Without it, every blob streams through the filter.
   */
  valueBlobs?: ReadonlySet<string>
}

/** `git fast-export | FastExportFilter | git fast-import`, then refs the stream no longer creates are deleted. */
export async function rewriteBuiltin(repo: string, rules: FilterRules, options: BuiltinRewriteOptions = {}): Promise<RewriteResult> {
  await migrateOriginToHeads(repo)
  const before = await listRefs(repo)
  const privateDir = await mkdtemp(join(tmpdir(), 'secrets-scrub-'))
  const marksFile = join(privateDir, 'marks')
  try {
    // `--no-data` names blobs by id (fast-import reuses the objects already in
    // the repository), so no blob content streams through Node and
    // fast-import, and the new pack holds only commits, trees and tags.
    // Listed blobs are dropped by id in `M` lines. With replacements, the
    // blobs that hold a value are rewritten first and the `M` lines that name
    // them are repointed; only when those blobs are not known does every
    // blob stream through the filter.
    const noData = rules.replacements.length === 0 || options.valueBlobs !== undefined
    if (rules.replacements.length > 0 && options.valueBlobs !== undefined) {
      const candidates = [...options.valueBlobs].filter((blob) => !rules.blobIds.has(blob))
      rules = {...rules, rewrittenBlobs: await importRewrittenBlobs(repo, candidates, rules.replacements, join(privateDir, 'blob-marks'))}
    }
    const exporter = spawn('git', ['-C', repo, ...FAST_EXPORT_ARGS, ...(noData ? ['--no-data'] : [])], {env: gitEnv(), stdio: ['ignore', 'pipe', 'pipe']})
    // stderr of both is dropped: fast-import may quote a stream line, which can hold content.
    const importer = spawn('git', ['-C', repo, '-c', 'core.ignorecase=false', 'fast-import', '--force', '--quiet', '--date-format=raw-permissive', `--export-marks=${marksFile}`], {
      env: gitEnv(),
      stdio: ['pipe', 'ignore', 'pipe'],
    })
    const filter = new FastExportFilter(rules)
    const why = await pipeIntoImport(
      {child: exporter, name: 'git fast-export'},
      importer,
      (chunk) => filter.push(chunk),
      () => filter.end(),
    )
    if (why !== undefined) {
      throw new ToolkitError('REWRITE_FAILED', `built-in rewrite failed: ${why}`, {
        hint: 'Refs may be partly rewritten: restore from the backup bundle (see docs/runbooks/git-scrub.md, "Restore").',
      })
    }
    const stale = [...before.keys()].filter((ref) => !filter.importedRefs.has(ref) && !ref.startsWith('refs/replace/'))
    if (stale.length > 0) await runGit(repo, ['update-ref', '--no-deref', '--stdin'], {input: Buffer.from(stale.map((ref) => `delete ${ref}\n`).join(''))})
    const marks = new Map<string, string>()
    for (const line of (await readFile(marksFile, 'latin1')).split('\n')) {
      const [mark, oid] = line.split(' ')
      if (mark && oid) marks.set(mark, oid)
    }
    const commitMap = new Map<string, string>()
    for (const [mark, original] of filter.commitMarks) {
      const now = marks.get(mark)
      if (now) commitMap.set(original, now)
    }
    if (rules.rewrittenBlobs) filter.stats.blobsRewritten = rules.rewrittenBlobs.size
    await resetWorkingTree(repo)
    return {engine: 'builtin', commitMap, stats: filter.stats, notes: []}
  } finally {
    await rm(privateDir, {recursive: true, force: true})
  }
}

/**
 * Reads the given blobs (`cat-file --batch`, ids on stdin), applies the
 * replacements to the text ones and writes the changed versions into the
 * repository with a separate `fast-import` (one blob in memory at a time).
 * Returns old id -> new id for each blob that changed. Nothing refers to the
 * new blobs until the rewrite repoints its `M` lines to them; if anything
 * fails before that, they are unreachable and hold no value.
 */
async function importRewrittenBlobs(repo: string, blobs: string[], replacements: readonly Buffer[], marksFile: string): Promise<Map<string, string>> {
  const rewritten = new Map<string, string>()
  if (blobs.length === 0) return rewritten
  const reader = spawn('git', ['-C', repo, 'cat-file', '--batch'], {env: gitEnv(), stdio: ['pipe', 'pipe', 'pipe']})
  const importer = spawn('git', ['-C', repo, 'fast-import', '--quiet', '--done', `--export-marks=${marksFile}`], {env: gitEnv(), stdio: ['pipe', 'ignore', 'pipe']})
  const byMark: string[] = []
  let out: Buffer[] = []
  const parser = new CatFileBatchParser(
    {
      wants: (type) => type === 'blob',
      visit: (oid, _type, content) => {
        const changed = rewriteTextBlob(content, replacements)
        if (changed === content) return
        byMark.push(oid)
        out.push(Buffer.from(`blob\nmark :${byMark.length}\ndata ${changed.length}\n`, 'latin1'), changed, NEWLINE)
      },
    },
    Number.POSITIVE_INFINITY,
  )
  const drain = (): Buffer => {
    const chunk = out.length === 1 ? out[0] : Buffer.concat(out)
    out = []
    return chunk
  }
  reader.stdin!.on('error', () => undefined)
  reader.stdin!.end(`${blobs.join('\n')}\n`)
  const why = await pipeIntoImport(
    {child: reader, name: 'git cat-file'},
    importer,
    (chunk) => {
      parser.push(chunk)
      return drain()
    },
    () => {
      parser.end()
      out.push(DONE)
      return drain()
    },
  )
  if (why !== undefined) {
    throw new ToolkitError('REWRITE_FAILED', `built-in rewrite failed while rewriting the blobs that hold values: ${why}`, {
      hint: 'No ref was changed yet. Run git fsck in the repository; the backup bundle is intact.',
    })
  }
  for (const line of (await readFile(marksFile, 'latin1')).split('\n')) {
    const [mark, oid] = line.split(' ')
    if (!mark || !oid) continue
    const original = byMark[Number(mark.slice(1)) - 1]
    if (original) rewritten.set(original, oid)
  }
  if (rewritten.size !== byMark.length) {
    throw new ToolkitError('REWRITE_FAILED', `built-in rewrite failed: ${byMark.length} blobs were rewritten but fast-import recorded ${rewritten.size}`, {hint: 'No ref was changed yet; run git fsck in the repository.'})
  }
  return rewritten
}

const NEWLINE = Buffer.from('\n')
const DONE = Buffer.from('done\n', 'latin1')

/**
 * `producer | transform | git fast-import`: the producer's stdout goes through
 * the synchronous `push`/`end` (each returns the bytes for fast-import) into
 * the importer's stdin. Returns undefined when both processes exited 0 and the
 * stream went through, else why not (naming the process, never content: the
 * stderr of both is dropped, since fast-import may quote a stream line).
 */
async function pipeIntoImport(
  producer: {child: ChildProcess; name: string},
  importer: ChildProcess,
  push: (chunk: Buffer) => Buffer,
  end: () => Buffer,
): Promise<string | undefined> {
  producer.child.stderr!.resume()
  importer.stderr!.resume()
  const produced = waitForExit(producer.child, producer.name)
  const imported = waitForExit(importer, 'git fast-import')
  const transform = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      try {
        const out = push(chunk)
        callback(null, out.length > 0 ? out : undefined)
      } catch (error) {
        callback(error as Error)
      }
    },
    flush(callback) {
      try {
        const out = end()
        callback(null, out.length > 0 ? out : undefined)
      } catch (error) {
        callback(error as Error)
      }
    },
  })
  let streamError: unknown
  await pipeline(producer.child.stdout!, transform, importer.stdin!).catch((error: unknown) => {
    streamError = error
    producer.child.kill()
    importer.kill()
  })
  const [producerCode, importCode] = await Promise.all([produced, imported])
  // fast-import exits as soon as it reads `done`, which can close its stdin
  // before Node has finished ending it: the pipeline then reports a premature
  // close (or EPIPE) of a stream that was complete. Both streams end with
  // `done` (declared by `feature done`, or required by --done), so
  // fast-import exits 0 only after reading it: both exiting 0 proves every
  // line arrived.
  if (producerCode === 0 && importCode === 0 && isClosedEarly(streamError)) streamError = undefined
  if (producerCode !== 0) return `${producer.name} exited with ${producerCode}`
  if (importCode !== 0) return `git fast-import exited with ${importCode}`
  if (streamError !== undefined) return `the stream could not be filtered (${(streamError as Error).message.slice(0, 200)})`
  return undefined
}

/** A write end closed under the pipeline: Node's premature close, or the pipe's EPIPE. */
function isClosedEarly(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  return code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'EPIPE'
}

/** In a non-bare repository the index and working tree still show the old HEAD; match them to the new one. */
async function resetWorkingTree(repo: string): Promise<void> {
  const bare = (await runGit(repo, ['rev-parse', '--is-bare-repository'])).stdout.toString('utf8').trim() === 'true'
  if (bare) return
  const head = await runGit(repo, ['rev-parse', '--verify', '--quiet', 'HEAD'], {okCodes: [1]})
  if (head.code === 0) await runGit(repo, ['reset', '--hard', '--quiet'])
}

/**
 * Runs git-filter-repo with the same rules. Nothing is written to disk: the
 * blob ids and the replacement list (values!) reach filter-repo's callbacks
 * through an inherited pipe (file descriptor 3), read once and kept in
 * memory, so an interrupted scrub leaves no copy of a value in a temporary
 * file. The callbacks are Python bodies given as arguments (they hold no data).
 */
export async function rewriteFilterRepo(repo: string, rules: FilterRules, options: {force: boolean; support: FilterRepoSupport}): Promise<RewriteResult> {
  const notes: string[] = []
  // A callback turns the change adding a listed blob into a deletion of that
  // file in that commit (--strip-blobs-with-ids would keep the parent's
  // version there), as the built-in engine does.
  const args = ['filter-repo', '--quiet', '--replace-refs', 'delete-no-add', '--file-info-callback', FILE_INFO_CALLBACK]
  if (rules.replacements.length > 0) args.push('--message-callback', MESSAGE_CALLBACK)
  if (rules.paths.size > 0) {
    args.push('--invert-paths')
    for (const path of rules.paths) {
      const bytes = pathKeyToBytes(path)
      const text = bytes.toString('utf8')
      if (!Buffer.from(text, 'utf8').equals(bytes)) {
        throw new ToolkitError('UNSUPPORTED_PATH', 'a path to remove is not valid UTF-8, which cannot be passed to git-filter-repo as an argument', {hint: 'Re-run with --engine builtin.'})
      }
      args.push('--path', text)
    }
  }
  if (options.support.sensitiveDataRemoval) {
    args.push('--sensitive-data-removal')
    notes.push('--sensitive-data-removal')
    if (options.support.noFetch) args.push('--no-fetch')
  }
  if (options.force) args.push('--force')
  // stdin closed: filter-repo must never wait for an answer nobody can see.
  const child = spawn('git', ['-C', repo, ...args], {env: gitEnv(), stdio: ['ignore', 'pipe', 'pipe', 'pipe']})
  const rulesPipe = child.stdio[3] as Writable
  // filter-repo may stop before reading (a refused fresh-clone check): a broken pipe is then expected.
  rulesPipe.on('error', () => undefined)
  rulesPipe.end(Buffer.from(`${[...rules.blobIds].join(' ')}\n${rules.replacements.map((bytes) => bytes.toString('hex')).join(' ')}\n`, 'latin1'))
  let output = ''
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')))
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')))
  const code = await waitForExit(child, 'git filter-repo')
  if (code !== 0) {
    // filter-repo's own messages name refs and checks, not content; the last lines say why it stopped.
    const why = output.trim().split('\n').slice(-6).join(' | ').slice(0, 600)
    throw new ToolkitError('REWRITE_FAILED', `git filter-repo exited with ${code}: ${why}`, {
      hint: 'If it refused because this is not a fresh clone, work on a fresh clone (git clone --no-local) or re-run with --force after reading docs/runbooks/git-scrub.md.',
    })
  }
  const commitMap = new Map<string, string>()
  const mapText = await readFile(join(resolve(repo, await gitDirOf(repo)), 'filter-repo', 'commit-map'), 'latin1').catch(() => '')
  for (const line of mapText.split('\n').slice(1)) {
    const [from, to] = line.split(' ')
    if (from && to) commitMap.set(from, to)
  }
  return {engine: 'filter-repo', commitMap, notes}
}

/**
 * The shared start of both callbacks: the rules from file descriptor 3
 * (line 1: blob ids; line 2: the replacements in hex, longest first), read by
 * whichever callback runs first and kept on the `sys` module, the one object
 * both callbacks see.
 */
const READ_RULES = [
  `import sys`,
  `rules = getattr(sys, '_secrets_toolkit_rules', None)`,
  `if rules is None:`,
  `  import os`,
  `  with os.fdopen(3, 'rb') as pipe:`,
  `    lines = pipe.read().split(b'\\n')`,
  `  rules = sys._secrets_toolkit_rules = (set(lines[0].split()), [bytes.fromhex(item.decode('ascii')) for item in lines[1].split()])`,
  `strip, needles = rules`,
]

/**
 * git-filter-repo's `--file-info-callback` (every added or modified file of
 * every commit): a listed blob becomes a deletion of that file in that
 * commit; otherwise text blobs (no NUL in the first 8 KiB, as --replace-text)
 * get the replacements in order, each distinct blob once. Gitlinks name
 * commits, not blobs, and pass through.
 */
const FILE_INFO_CALLBACK = [
  ...READ_RULES,
  `if mode == b'160000':`,
  `  return (filename, mode, blob_id)`,
  `if blob_id in strip:`,
  `  return (filename, None, blob_id)`,
  `if needles:`,
  `  done = value.data.setdefault('replaced', {})`,
  `  if blob_id not in done:`,
  `    contents = value.get_contents_by_identifier(blob_id)`,
  `    changed = contents`,
  `    if not value.is_binary(contents):`,
  `      for needle in needles:`,
  `        changed = changed.replace(needle, b'***REMOVED***')`,
  `    done[blob_id] = blob_id if changed == contents else value.insert_file_with_contents(changed)`,
  `  blob_id = done[blob_id]`,
  `return (filename, mode, blob_id)`,
].join('\n')

/** git-filter-repo's `--message-callback` (commit and tag messages): the same replacements. */
const MESSAGE_CALLBACK = [...READ_RULES, `for needle in needles:`, `  message = message.replace(needle, b'***REMOVED***')`, `return message`].join('\n')

async function gitDirOf(repo: string): Promise<string> {
  return (await runGit(repo, ['rev-parse', '--git-dir'])).stdout.toString('utf8').trim()
}
