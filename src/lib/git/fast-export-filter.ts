import {cUnquote} from './cquote.js'
import {pathKeyFromBytes, type PathKey} from './history-index.js'
import {replaceValues} from './value-patterns.js'

export interface FilterRules {
  /** Paths removed from every commit (a path also removes everything below it, as git-filter-repo's --path does). Scrub removes by blob id instead. */
  paths: ReadonlySet<PathKey>
  /** Blob ids dropped wherever they appear; a commit that held one no longer has that file, other versions of the path stay. */
  blobIds: ReadonlySet<string>
  /** Byte strings replaced by ***REMOVED*** in text blobs and in commit/tag messages, in this order. */
  replacements: readonly Buffer[]
  /**
   * Old blob id -> id of its rewritten version, already in the repository:
   * with `--no-data` the stream names blobs by id, and only the blobs that
   * hold a value were read and rewritten beforehand (`M` lines are repointed).
   */
  rewrittenBlobs?: ReadonlyMap<string, string>
}

export interface FilterStats {
  blobsDropped: number
  blobsRewritten: number
  fileChangesDropped: number
  messagesRewritten: number
  tagsDropped: number
  commits: number
}

const LF = 0x0a
// Same rule as git-filter-repo's --replace-text: a NUL in the first 8 KiB marks a binary blob, left as is.
const BINARY_PROBE = 8192

type Section = 'none' | 'blob' | 'commit' | 'tag' | 'reset'

/**
 * The transform between `git fast-export` and `git fast-import`, on Buffers.
 * It tracks `data <n>` payloads by byte count (never by looking for a
 * terminator), decodes C-quoted paths, drops listed blobs and every `M` line
 * that refers to them, drops listed paths, and replaces values in text blobs
 * and messages. Everything else passes through byte for byte.
 */
export class FastExportFilter {
  readonly stats: FilterStats = {blobsDropped: 0, blobsRewritten: 0, fileChangesDropped: 0, messagesRewritten: 0, tagsDropped: 0, commits: 0}
  /** Refs that the output (re)creates; the others must be deleted after import. */
  readonly importedRefs = new Set<string>()
  /** Commit mark -> original commit id (from --show-original-ids). */
  readonly commitMarks = new Map<string, string>()

  readonly #rules: FilterRules
  readonly #droppedMarks = new Set<string>()
  #section: Section = 'none'
  /** Header lines of a blob/tag/reset held back until we know whether it is kept. */
  #held: Buffer[] = []
  #heldMark: string | undefined
  #heldOriginal: string | undefined
  #heldFrom: string | undefined
  #heldRef: string | undefined
  #commitMark: string | undefined
  // Line assembly and data payloads across chunk boundaries.
  #partialLine: Buffer | undefined
  #payload: Buffer | undefined
  #payloadFilled = 0
  #out: Buffer[] = []

  constructor(rules: FilterRules) {
    this.#rules = rules
  }

  /** Feeds a chunk of fast-export output; returns the filtered bytes for fast-import. */
  push(chunk: Buffer): Buffer {
    let offset = 0
    while (offset < chunk.length) {
      if (this.#payload) {
        const take = Math.min(this.#payload.length - this.#payloadFilled, chunk.length - offset)
        chunk.copy(this.#payload, this.#payloadFilled, offset, offset + take)
        this.#payloadFilled += take
        offset += take
        if (this.#payloadFilled === this.#payload.length) {
          const payload = this.#payload
          this.#payload = undefined
          this.#onData(payload)
        }
        continue
      }
      const end = chunk.indexOf(LF, offset)
      if (end === -1) {
        this.#partialLine = this.#partialLine ? Buffer.concat([this.#partialLine, chunk.subarray(offset)]) : Buffer.from(chunk.subarray(offset))
        break
      }
      let line = chunk.subarray(offset, end)
      if (this.#partialLine) {
        line = Buffer.concat([this.#partialLine, line])
        this.#partialLine = undefined
      }
      offset = end + 1
      this.#onLine(line)
    }
    const out = this.#out.length === 1 ? this.#out[0] : Buffer.concat(this.#out)
    this.#out = []
    return out
  }

  /** Flushes held state at the end of the stream. */
  end(): Buffer {
    if (this.#payload || this.#partialLine) throw new Error('fast-export stream ended inside a command')
    this.#flushReset()
    const out = Buffer.concat(this.#out)
    this.#out = []
    return out
  }

  #emit(...parts: Buffer[]): void {
    for (const part of parts) this.#out.push(part)
  }

  #emitLine(line: Buffer): void {
    this.#out.push(line, NEWLINE)
  }

  #onLine(line: Buffer): void {
    if (line.length > 5 && line[0] === 0x64 && line.subarray(0, 5).equals(DATA)) {
      const size = Number(line.subarray(5).toString('latin1'))
      if (!Number.isSafeInteger(size)) throw new Error('unsupported data command in fast-export stream (delimited data)')
      this.#payload = Buffer.allocUnsafe(size)
      this.#payloadFilled = 0
      if (size === 0) {
        this.#payload = undefined
        this.#onData(Buffer.alloc(0))
      }
      return
    }
    const text = line.toString('latin1', 0, Math.min(line.length, 16))
    if (this.#section === 'reset' && !text.startsWith('from ')) this.#flushReset()
    switch (this.#section) {
      case 'blob':
      case 'tag':
        if (line.length === 0) return
        if (text.startsWith('mark ')) this.#heldMark = line.toString('latin1', 5)
        else if (text.startsWith('original-oid ')) this.#heldOriginal = line.toString('latin1', 13)
        else if (text.startsWith('from ')) this.#heldFrom = line.toString('latin1', 5)
        this.#held.push(line)
        return
      case 'reset':
        // A `from` line directly after `reset`.
        this.#heldFrom = line.toString('latin1', 5)
        this.#held.push(line)
        this.#flushReset()
        return
      case 'commit':
        if (this.#onCommitLine(line, text)) return
        break
      default:
        break
    }
    this.#startCommand(line, text)
  }

  /** Returns true when the line belonged to the commit (handled); false when a new command starts. */
  #onCommitLine(line: Buffer, text: string): boolean {
    const first = line[0]
    if (line.length === 0) {
      this.#emitLine(line)
      return true
    }
    if (first === 0x4d /* M */ && line[1] === 0x20) {
      const modeEnd = line.indexOf(0x20, 2)
      const refEnd = line.indexOf(0x20, modeEnd + 1)
      const dataref = line.toString('latin1', modeEnd + 1, refEnd)
      const path = pathKeyFromBytes(cUnquote(line.subarray(refEnd + 1)))
      if (this.#removedPath(path)) {
        this.stats.fileChangesDropped++
        return true
      }
      if (this.#droppedMarks.has(dataref) || this.#rules.blobIds.has(dataref)) {
        // Only this version goes: the commit that held it no longer has the
        // file (rather than silently keeping the parent's version), and every
        // other version of the path stays where it was.
        this.stats.fileChangesDropped++
        this.#emit(DELETE, line.subarray(refEnd + 1), NEWLINE)
        return true
      }
      const rewritten = this.#rules.rewrittenBlobs?.get(dataref)
      if (rewritten !== undefined) {
        this.#emit(line.subarray(0, modeEnd + 1), Buffer.from(rewritten, 'latin1'), line.subarray(refEnd), NEWLINE)
        return true
      }
      this.#emitLine(line)
      return true
    }
    if (first === 0x44 /* D */ && line[1] === 0x20) {
      if (this.#removedPath(pathKeyFromBytes(cUnquote(line.subarray(2))))) {
        this.stats.fileChangesDropped++
        return true
      }
      this.#emitLine(line)
      return true
    }
    if (text.startsWith('mark ')) this.#commitMark = line.toString('latin1', 5)
    else if (text.startsWith('original-oid ') && this.#commitMark) this.commitMarks.set(this.#commitMark, line.toString('latin1', 13))
    if (
      text.startsWith('mark ') ||
      text.startsWith('original-oid ') ||
      text.startsWith('author ') ||
      text.startsWith('committer ') ||
      text.startsWith('encoding ') ||
      text.startsWith('from ') ||
      text.startsWith('merge ') ||
      text.startsWith('deleteall') ||
      text.startsWith('gpgsig ') ||
      first === 0x43 /* C */ ||
      first === 0x52 /* R */ ||
      first === 0x4e /* N */
    ) {
      // C/R/N are not produced without -M/-C/notes; they pass through unchanged.
      this.#emitLine(line)
      return true
    }
    return false
  }

  #startCommand(line: Buffer, text: string): void {
    this.#held = []
    this.#heldMark = this.#heldOriginal = this.#heldFrom = this.#heldRef = undefined
    if (text === 'blob') {
      this.#section = 'blob'
      this.#held.push(line)
    } else if (text.startsWith('commit ')) {
      this.#section = 'commit'
      this.#commitMark = undefined
      this.stats.commits++
      this.importedRefs.add(line.toString('utf8', 7))
      this.#emitLine(line)
    } else if (text.startsWith('tag ')) {
      this.#section = 'tag'
      this.#heldRef = `refs/tags/${line.toString('utf8', 4)}`
      this.#held.push(line)
    } else if (text.startsWith('reset ')) {
      this.#section = 'reset'
      this.#heldRef = line.toString('utf8', 6)
      this.#held.push(line)
    } else {
      this.#section = 'none'
      // The optional LF after a blob's data arrives here; fast-import accepts
      // it only directly after the data we already ended, so it is dropped.
      if (line.length === 0) return
      // feature/option/progress/checkpoint/done.
      this.#emitLine(line)
    }
  }

  #flushReset(): void {
    if (this.#section !== 'reset') return
    this.#section = 'none'
    if (this.#heldFrom && this.#droppedMarks.has(this.#heldFrom)) return
    this.importedRefs.add(this.#heldRef!)
    for (const held of this.#held) this.#emitLine(held)
    this.#held = []
  }

  #onData(payload: Buffer): void {
    switch (this.#section) {
      case 'blob': {
        if (this.#heldOriginal && this.#rules.blobIds.has(this.#heldOriginal)) {
          if (this.#heldMark) this.#droppedMarks.add(this.#heldMark)
          this.stats.blobsDropped++
          this.#section = 'none'
          return
        }
        const content = rewriteTextBlob(payload, this.#rules.replacements)
        if (content !== payload) this.stats.blobsRewritten++
        for (const held of this.#held) this.#emitLine(held)
        this.#emit(Buffer.from(`data ${content.length}\n`, 'latin1'), content, NEWLINE)
        this.#section = 'none'
        return
      }
      case 'tag': {
        if (this.#heldFrom && this.#droppedMarks.has(this.#heldFrom)) {
          if (this.#heldMark) this.#droppedMarks.add(this.#heldMark)
          this.stats.tagsDropped++
          this.#section = 'none'
          return
        }
        const message = this.#rewriteMessage(payload)
        for (const held of this.#held) this.#emitLine(held)
        this.#emit(Buffer.from(`data ${message.length}\n`, 'latin1'), message)
        this.importedRefs.add(this.#heldRef!)
        this.#section = 'none'
        return
      }
      case 'commit': {
        const message = this.#rewriteMessage(payload)
        this.#emit(Buffer.from(`data ${message.length}\n`, 'latin1'), message)
        return
      }
      default:
        throw new Error(`data payload outside blob/commit/tag in fast-export stream`)
    }
  }

  #rewriteMessage(message: Buffer): Buffer {
    if (this.#rules.replacements.length === 0) return message
    const rewritten = replaceValues(message, this.#rules.replacements)
    if (rewritten !== message) this.stats.messagesRewritten++
    return rewritten
  }

  #removedPath(path: PathKey): boolean {
    const paths = this.#rules.paths
    if (paths.size === 0) return false
    if (paths.has(path)) return true
    // A listed path also covers what is below it (filter-repo's --path matches leading directories).
    for (let slash = path.indexOf('/'); slash !== -1; slash = path.indexOf('/', slash + 1)) {
      if (paths.has(path.slice(0, slash))) return true
    }
    return false
  }
}

/**
 * A blob with the replacements applied, or the same Buffer when it is binary
 * (git-filter-repo's --replace-text leaves those alone) or holds none.
 */
export function rewriteTextBlob(content: Buffer, replacements: readonly Buffer[]): Buffer {
  if (replacements.length === 0 || content.subarray(0, BINARY_PROBE).indexOf(0) !== -1) return content
  return replaceValues(content, replacements)
}

const NEWLINE = Buffer.from('\n')
const DATA = Buffer.from('data ')
const DELETE = Buffer.from('D ')
