import {spawn, type ChildProcess} from 'node:child_process'
import {availableParallelism} from 'node:os'

import {ToolkitError} from '../errors/errors.js'
import {displayText} from '../report/display.js'
import {gitEnv, waitForExit} from './exec.js'

export type GitObjectType = 'blob' | 'tree' | 'commit' | 'tag'

export interface ObjectVisitor {
  /** Which objects to materialize; the others are skipped without copying their bytes. */
  wants(type: GitObjectType): boolean
  /** Receives each wanted object's full content; `content` may be reused after return only by the caller. */
  visit(oid: string, type: GitObjectType, content: Buffer): void
  /**
   * Receives a wanted object larger than `maxInMemory` in pieces instead:
   * memory stays bounded whatever the largest blob (a 600 MB blob would
   * otherwise be one Buffer, and one string once decoded).
   */
  visitLarge?(oid: string, type: GitObjectType, size: number): ObjectSink
}

export interface ObjectSink {
  write(chunk: Buffer): void
  end(): void
}

/** Objects up to this size are handed over whole; larger ones are streamed. */
export const MAX_IN_MEMORY_OBJECT = 16 * 1024 * 1024

export interface ReadStats {
  objects: number
  /** Bytes of object content read (all types, framing excluded). */
  bytes: number
}

const LF = 0x0a

/**
 * Incremental parser for `git cat-file --batch` output: `<oid> <type> <size>\n`
 * followed by exactly <size> content bytes and a `\n`. Works on Buffers so
 * binary blobs and any byte sequence pass through unchanged; the content is
 * copied at most once (into a Buffer of the announced size).
 */
export class CatFileBatchParser {
  readonly stats: ReadStats = {objects: 0, bytes: 0}
  #header: Buffer | undefined
  #oid = ''
  #type: GitObjectType = 'blob'
  #content: Buffer | undefined
  #filled = 0
  /** Remaining bytes of the current object (content + trailing LF); 0 when expecting a header. */
  #remaining = 0
  #skip = false
  #sink: ObjectSink | undefined

  constructor(
    private readonly visitor: ObjectVisitor,
    private readonly maxInMemory = MAX_IN_MEMORY_OBJECT,
  ) {}

  push(chunk: Buffer): void {
    let offset = 0
    while (offset < chunk.length) {
      if (this.#remaining === 0) {
        const end = chunk.indexOf(LF, offset)
        if (end === -1) {
          this.#header = this.#header ? Buffer.concat([this.#header, chunk.subarray(offset)]) : Buffer.from(chunk.subarray(offset))
          return
        }
        const line = this.#header ? Buffer.concat([this.#header, chunk.subarray(offset, end)]) : chunk.subarray(offset, end)
        this.#header = undefined
        offset = end + 1
        this.#startObject(line.toString('latin1'))
        continue
      }
      const take = Math.min(this.#remaining, chunk.length - offset)
      const contentLeft = this.#remaining - 1
      if (!this.#skip && contentLeft > 0) {
        const copy = Math.min(take, contentLeft)
        if (this.#sink) this.#sink.write(chunk.subarray(offset, offset + copy))
        else if (this.#content) chunk.copy(this.#content, this.#filled, offset, offset + copy)
        this.#filled += copy
      }
      offset += take
      this.#remaining -= take
      if (this.#remaining === 0) this.#finishObject()
    }
  }

  end(): void {
    if (this.#remaining !== 0 || this.#header) {
      throw new ToolkitError('GIT_FAILED', 'git cat-file output ended in the middle of an object', {hint: 'The repository may be corrupt: run git fsck.'})
    }
  }

  #startObject(header: string): void {
    const parts = header.split(' ')
    if (parts.length !== 3) {
      // "<oid> missing" and similar: not content, safe to name.
      throw new ToolkitError('GIT_FAILED', `unexpected git cat-file header: ${header.slice(0, 120)}`, {hint: 'Run git fsck on the repository.'})
    }
    const size = Number(parts[2])
    this.#oid = parts[0]
    this.#type = parts[1] as GitObjectType
    if (!Number.isSafeInteger(size) || size < 0) throw new ToolkitError('GIT_FAILED', `unexpected git cat-file header: ${header.slice(0, 120)}`, {hint: 'Run git fsck on the repository.'})
    this.#skip = !this.visitor.wants(this.#type)
    this.#sink = !this.#skip && size > this.maxInMemory && this.visitor.visitLarge ? this.visitor.visitLarge(this.#oid, this.#type, size) : undefined
    this.#content = this.#skip || this.#sink ? undefined : Buffer.allocUnsafe(size)
    this.#filled = 0
    this.#remaining = size + 1
    this.stats.objects++
    this.stats.bytes += size
  }

  #finishObject(): void {
    if (this.#sink) this.#sink.end()
    else if (!this.#skip && this.#content) this.visitor.visit(this.#oid, this.#type, this.#content)
    this.#content = undefined
    this.#sink = undefined
  }
}

/** Ids handed to one reader at a time: consecutive in pack order, so each reader's delta-base cache still helps. */
const BLOCK = 512

export interface ReadWantedOptions {
  maxInMemory?: number
  /** `cat-file --batch` processes reading at once (default: 2 when the machine has two cores or more). */
  readers?: number
}

/**
 * Streams every wanted object in the repository through the visitor; objects
 * are never written anywhere. Only the wanted objects are inflated and
 * streamed: one `cat-file --batch-check` lists every object
 * (id, type, size) in pack order, and the wanted ids go, in blocks, to
 * `cat-file --batch` readers running side by side. Trees (and commits, when
 * not wanted) never cross the pipe, and two readers use two cores where
 * `--batch-all-objects --batch` is one process. Every object is still
 * counted (`objects`, `bytes`), and every listed wanted object must come back
 * whole, else the read fails.
 */
export async function readWantedObjects(repo: string, visitor: ObjectVisitor, options: ReadWantedOptions = {}): Promise<ReadStats> {
  const readerCount = Math.max(1, options.readers ?? (availableParallelism() > 1 ? 2 : 1))
  const lister = spawn('git', ['-C', repo, 'cat-file', '--batch-all-objects', '--batch-check=%(objectname) %(objecttype) %(objectsize)', '--unordered'], {
    env: gitEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const readers = Array.from({length: readerCount}, () => spawn('git', ['-C', repo, 'cat-file', '--batch'], {env: gitEnv(), stdio: ['pipe', 'pipe', 'pipe']}))
  const children: ChildProcess[] = [lister, ...readers]
  const exits = children.map((child) => waitForExit(child, 'git cat-file'))
  let stderr = ''
  // Kept short: only its beginning is ever shown.
  for (const child of children) {
    child.stderr!.on('data', (chunk: Buffer) => {
      if (stderr.length < 2000) stderr += chunk.toString('utf8').slice(0, 1000)
    })
  }
  const parsers = readers.map(() => new CatFileBatchParser({...visitor, wants: () => true}, options.maxInMemory))
  const stats: ReadStats = {objects: 0, bytes: 0}
  let sent = 0
  let failure: unknown
  const fail = (error: unknown) => {
    if (failure === undefined) failure = error
    for (const child of children) child.kill()
  }

  const reading = readers.map(async (reader, index) => {
    try {
      for await (const chunk of reader.stdout!) {
        if (failure === undefined) parsers[index].push(chunk as Buffer)
      }
      if (failure === undefined) parsers[index].end()
    } catch (error) {
      fail(error)
    }
  })
  for (const reader of readers) reader.stdin!.on('error', () => undefined)

  const listing = (async () => {
    let block: string[] = []
    let blocks = 0
    const hand = async () => {
      const reader = readers[blocks++ % readerCount]
      sent += block.length
      const text = `${block.join('\n')}\n`
      block = []
      if (gone(reader)) throw new ToolkitError('GIT_FAILED', 'a git cat-file reader ended before the read did', {hint: 'Run git fsck on the repository.'})
      if (!reader.stdin!.write(text)) await drained(reader)
    }
    let partial = ''
    try {
      for await (const chunk of lister.stdout!) {
        if (failure !== undefined) break
        const lines = (partial + (chunk as Buffer).toString('latin1')).split('\n')
        partial = lines.pop()!
        for (const line of lines) {
          const [oid, type, size] = line.split(' ')
          const bytes = Number(size)
          if (!oid || !type || !Number.isSafeInteger(bytes)) throw new ToolkitError('GIT_FAILED', `unexpected git cat-file line: ${line.slice(0, 120)}`, {hint: 'Run git fsck on the repository.'})
          stats.objects++
          stats.bytes += bytes
          if (!visitor.wants(type as GitObjectType)) continue
          block.push(oid)
          if (block.length === BLOCK) await hand()
        }
      }
      if (partial !== '' && failure === undefined) throw new ToolkitError('GIT_FAILED', 'git cat-file output ended in the middle of a line', {hint: 'Run git fsck on the repository.'})
      if (block.length > 0) await hand()
    } catch (error) {
      fail(error)
    } finally {
      for (const reader of readers) reader.stdin!.end()
    }
  })()

  await Promise.all([listing, ...reading])
  const codes = await Promise.all(exits)
  if (failure !== undefined) throw failure
  const failed = codes.findIndex((code) => code !== 0)
  if (failed !== -1) {
    // cat-file's stderr names objects, never their content.
    throw new ToolkitError('GIT_FAILED', `git cat-file exited with ${codes[failed]}: ${displayText(stderr.trim().slice(0, 300))}`, {hint: 'An object could not be read: run git fsck in the repository to see which, then work on a complete clone (git clone --mirror <url>).'})
  }
  const read = parsers.reduce((sum, parser) => sum + parser.stats.objects, 0)
  if (read !== sent) {
    throw new ToolkitError('GIT_FAILED', `git cat-file returned ${read} of the ${sent} objects asked for`, {hint: 'Run git fsck on the repository; was it changed (gc, fetch) during the scan?'})
  }
  return stats
}

function gone(reader: ChildProcess): boolean {
  return reader.stdin!.destroyed || reader.exitCode !== null || reader.signalCode !== null
}

/** Resolves once the reader's stdin can take more, or the reader is gone (its exit code tells why). */
function drained(reader: ChildProcess): Promise<void> {
  if (gone(reader)) return Promise.resolve()
  return new Promise((resolve) => {
    const done = () => {
      reader.stdin!.off('drain', done)
      reader.stdin!.off('close', done)
      reader.off('exit', done)
      resolve()
    }
    reader.stdin!.once('drain', done)
    reader.stdin!.once('close', done)
    reader.once('exit', done)
  })
}
