import {createHash} from 'node:crypto'
import {open} from 'node:fs/promises'
import {Worker} from 'node:worker_threads'

import {ArchiveChecker, type ArchiveInspection} from './archive.js'

/**
 * The archive check of a snapshot file, reading the file itself, even while
 * it is being written. `dr snapshot` writes the download at the server's pace
 * and checks behind the writer, from the page cache: fed from the socket, the
 * check's backpressure used to stall the download (the server waits whenever
 * its socket fills).
 */

const READ_CHUNK = 256 * 1024

/** How far a file's writer has got: the check never reads past it, and waits for more until told the file is complete. */
export class WrittenSoFar {
  #bytes = 0
  #complete = false
  #error: Error | undefined
  #wake: (() => void) | undefined

  static complete(bytes: number): WrittenSoFar {
    const written = new WrittenSoFar()
    written.finish(bytes)
    return written
  }

  commit(bytes: number): void {
    this.#bytes = bytes
    this.#notify()
  }

  finish(bytes: number): void {
    this.#bytes = bytes
    this.#complete = true
    this.#notify()
  }

  fail(error: Error): void {
    this.#error = error
    this.#notify()
  }

  /** Waits until bytes past `position` are written, or the file is complete (or the writer failed). */
  async beyond(position: number): Promise<{available: number; complete: boolean}> {
    for (;;) {
      if (this.#error) throw this.#error
      if (this.#bytes > position || this.#complete) return {available: this.#bytes, complete: this.#complete}
      await new Promise<void>((resolve) => {
        this.#wake = resolve
      })
    }
  }

  #notify(): void {
    const wake = this.#wake
    this.#wake = undefined
    wake?.()
  }
}

/**
 * Feeds the file's bytes, as its writer puts them down, into the inflater,
 * through two buffers used in turn: a buffer is read into again only once the
 * inflater has called back for it (done with it), so a multi-GB file leaves
 * no garbage behind, which kept peak RSS growing with the snapshot's size.
 * Stops early, without touching a buffer again, when the checker gives up.
 */
async function feedAsWritten(path: string, written: WrittenSoFar, checker: ArchiveChecker): Promise<void> {
  const {input} = checker
  const handle = await open(path, 'r')
  const closed = new Promise<'closed'>((resolve) => {
    if (input.destroyed) resolve('closed')
    else input.once('close', () => resolve('closed'))
  })
  const buffers = [Buffer.allocUnsafe(READ_CHUNK), Buffer.allocUnsafe(READ_CHUNK)]
  const consumed: Promise<unknown>[] = [Promise.resolve(), Promise.resolve()]
  try {
    let position = 0
    for (let slot = 0; ; slot ^= 1) {
      const next = await Promise.race([written.beyond(position), closed])
      if (next === 'closed') return
      if (position >= next.available && next.complete) break
      if ((await Promise.race([consumed[slot], closed])) === 'closed') return
      const length = Math.min(READ_CHUNK, next.available - position)
      const {bytesRead} = await handle.read(buffers[slot], 0, length, position)
      if (bytesRead === 0) throw Object.assign(new Error(`${path} ends at ${position} bytes although ${next.available} were written to it`), {code: 'FILE_SHRANK'})
      position += bytesRead
      consumed[slot] = checker.feed(buffers[slot].subarray(0, bytesRead))
    }
    if ((await Promise.race([Promise.all(consumed), closed])) === 'closed') return
    input.end()
  } finally {
    await handle.close()
  }
}

/**
 * Checks the archive in a file (members, SHA256SUMS, meta.json) without
 * hashing the file itself: the caller does that. A read failure is an error,
 * not a finding about the snapshot.
 */
export async function checkFileContents(path: string, written: WrittenSoFar): Promise<ArchiveInspection> {
  const checker = new ArchiveChecker({hashInput: false})
  let readError: Error | undefined
  // Not awaited: after a fault the checker settles at once, while the feeder may still wait for the writer.
  void feedAsWritten(path, written, checker).catch((error: Error) => {
    readError = error
    checker.input.destroy(error)
  })
  const inspection = await checker.result
  if (readError) throw readError
  return inspection
}

export interface FileCheck {
  /** What the writer reports (for a file being written; a finished file is complete from the start). */
  readonly written: {commit(bytes: number): void; finish(bytes: number): void; fail(error: Error): void}
  /** The inspection; its sha256 is empty (the caller hashes the file). Rejects when the file cannot be read. */
  readonly result: Promise<ArchiveInspection>
  /** Ends the check early (its result is not needed any more). */
  stop(): Promise<void>
}

export interface FileCheckOptions {
  /** A finished file of this size; without it, report the writer's progress through `written`. */
  size?: number
}

/** Starts checking `path`; pass `size` for a finished file, or report progress through `written` while writing it. */
export function startFileCheck(path: string, options: FileCheckOptions = {}): FileCheck {
  const written = options.size === undefined ? new WrittenSoFar() : WrittenSoFar.complete(options.size)
  const result = checkFileContents(path, written)
  return {
    written,
    result,
    stop: async () => {
      written.fail(new Error('check stopped'))
      await result.catch(() => undefined)
    },
  }
}

/**
 * SHA-256 of a whole file on this thread, when nothing else needs it: one
 * buffer is hashed while the next is read into the other, and both are reused,
 * so hashing a multi-GB file leaves no garbage and starts no thread.
 */
export async function hashFile(path: string): Promise<{sha256: string; size: number}> {
  const handle = await open(path, 'r')
  try {
    const hash = createHash('sha256')
    const buffers = [Buffer.allocUnsafe(HASH_CHUNK), Buffer.allocUnsafe(HASH_CHUNK)]
    let size = 0
    let reading = handle.read(buffers[0], 0, HASH_CHUNK, 0)
    for (let slot = 0; ; slot ^= 1) {
      const {bytesRead} = await reading
      if (bytesRead === 0) break
      reading = handle.read(buffers[slot ^ 1], 0, HASH_CHUNK, size + bytesRead)
      hash.update(buffers[slot].subarray(0, bytesRead))
      size += bytesRead
    }
    return {sha256: hash.digest('hex'), size}
  } finally {
    await handle.close()
  }
}

const HASH_CHUNK = 1024 * 1024

/**
 * SHA-256 of a whole file on a worker thread, with one reused buffer: `dr
 * verify` hashes the file there while this thread inflates it and checks the
 * members, a quarter less time than one thread. The worker is a few lines of plain
 * JavaScript and loads nothing else, so it adds little memory and leaves no
 * garbage (about 10 MB; a worker running the whole check cost 40 MB more).
 */
export function hashFileOnWorker(path: string): Promise<{sha256: string; size: number}> {
  const worker = new Worker(HASH_WORKER, {eval: true, workerData: {path}})
  return new Promise((resolve, reject) => {
    worker.once('message', (reply: {sha256: string; size: number} | {error: string; code?: string}) => {
      if ('error' in reply) reject(Object.assign(new Error(reply.error), {code: reply.code}))
      else resolve(reply)
    })
    worker.once('error', reject)
    worker.once('exit', (code) => reject(new Error(`the hashing thread stopped (exit code ${code})`)))
  })
}

const HASH_WORKER = `
const {parentPort, workerData} = require('node:worker_threads')
const {createHash} = require('node:crypto')
const {openSync, readSync, closeSync} = require('node:fs')
try {
  const fd = openSync(workerData.path, 'r')
  const hash = createHash('sha256')
  const buffer = Buffer.allocUnsafe(1024 * 1024)
  let size = 0
  for (let read; (read = readSync(fd, buffer, 0, buffer.length, size)) > 0; size += read) hash.update(buffer.subarray(0, read))
  closeSync(fd)
  parentPort.postMessage({sha256: hash.digest('hex'), size})
} catch (error) {
  parentPort.postMessage({error: error.message, code: error.code})
}
`
