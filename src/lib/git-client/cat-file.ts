import {spawn} from 'node:child_process'

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

/**
 * Streams every object in the repository (`--batch-all-objects`, pack order
 * for speed) through the visitor. Objects are never written anywhere.
 */
export async function readAllObjects(repo: string, visitor: ObjectVisitor, options: {maxInMemory?: number} = {}): Promise<ReadStats> {
  const child = spawn('git', ['-C', repo, 'cat-file', '--batch-all-objects', '--batch', '--unordered'], {
    env: gitEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const parser = new CatFileBatchParser(visitor, options.maxInMemory)
  const exit = waitForExit(child, 'git cat-file')
  let failure: unknown
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8')
  })
  try {
    for await (const chunk of child.stdout!) {
      if (failure === undefined) parser.push(chunk as Buffer)
    }
    parser.end()
  } catch (error) {
    failure = error
    child.kill()
  }
  const code = await exit
  if (failure !== undefined) throw failure
  if (code !== 0) {
    // cat-file's stderr names objects, never their content.
    throw new ToolkitError('GIT_FAILED', `git cat-file exited with ${code}: ${displayText(stderr.trim().slice(0, 300))}`, {hint: 'An object could not be read: run git fsck in the repository to see which, then work on a complete clone (git clone --mirror <url>).'})
  }
  return parser.stats
}
