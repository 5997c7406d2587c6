import {open} from 'node:fs/promises'
import {Readable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {Worker} from 'node:worker_threads'

import {ArchiveChecker, type ArchiveInspection} from './archive.js'

/**
 * The archive check of a snapshot file, reading the file itself, even while
 * it is being written. `dr snapshot` writes the download at the server's pace
 * and checks behind the writer, from the page cache: fed from the socket, the
 * check's backpressure used to stall the download (the server waits whenever
 * its socket fills). `dr verify` and `dr restore` run the check on a worker
 * thread while they hash the file on this one.
 */

const READ_CHUNK = 1024 * 1024

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

/** The file's bytes as its writer puts them down (a finished file: all of it). */
export async function* readAsWritten(path: string, written: WrittenSoFar): AsyncGenerator<Buffer> {
  const handle = await open(path, 'r')
  try {
    let position = 0
    for (;;) {
      const {available, complete} = await written.beyond(position)
      if (position >= available && complete) return
      const length = Math.min(READ_CHUNK, available - position)
      const buffer = Buffer.allocUnsafe(length)
      const {bytesRead} = await handle.read(buffer, 0, length, position)
      if (bytesRead === 0) throw Object.assign(new Error(`${path} ends at ${position} bytes although ${available} were written to it`), {code: 'FILE_SHRANK'})
      position += bytesRead
      yield bytesRead === length ? buffer : buffer.subarray(0, bytesRead)
    }
  } finally {
    await handle.close()
  }
}

/**
 * Checks the archive in a file (members, SHA256SUMS, meta.json) without
 * hashing the file itself: the caller does that on its own thread. A read
 * failure is an error, not a finding about the snapshot.
 */
export async function checkFileContents(path: string, written: WrittenSoFar): Promise<ArchiveInspection> {
  const checker = new ArchiveChecker({hashInput: false})
  let readError: Error | undefined
  const source = Readable.from(readAsWritten(path, written), {highWaterMark: 2})
  source.on('error', (error) => {
    readError = error
  })
  // Both ends' failures surface through the checker's result or readError.
  void pipeline(source, checker.input).catch(() => undefined)
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

export type WorkerMessage = {type: 'commit' | 'finish'; bytes: number} | {type: 'fail'; message: string}
export type WorkerReply = {type: 'result'; inspection: ArchiveInspection} | {type: 'error'; message: string; code?: string}

const WORKER_SCRIPT = new URL('./file-check-worker.js', import.meta.url)
// Run from the TypeScript sources (the unit tests) there is no compiled worker
// script to start: the same check then runs on this thread.
const WORKER_AVAILABLE = import.meta.url.endsWith('.js')

export interface FileCheckOptions {
  /** A finished file of this size; without it, report the writer's progress through `written`. */
  size?: number
  /**
   * Run on a worker thread: twice as fast on an idle machine, at the cost of
   * a second JavaScript heap (about 40 MB more peak RSS). `dr snapshot` stays
   * on one thread: while downloading, the server is already busy on another core.
   */
  worker?: boolean
}

export function startFileCheck(path: string, options: FileCheckOptions = {}): FileCheck {
  return options.worker && WORKER_AVAILABLE ? startInWorker(path, options.size) : startInline(path, options.size)
}

function startInline(path: string, size: number | undefined): FileCheck {
  const written = size === undefined ? new WrittenSoFar() : WrittenSoFar.complete(size)
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

function startInWorker(path: string, size: number | undefined): FileCheck {
  const worker = new Worker(WORKER_SCRIPT, {workerData: {path}, resourceLimits: {maxYoungGenerationSizeMb: 8}})
  let settled = false
  const result = new Promise<ArchiveInspection>((resolve, reject) => {
    worker.on('message', (reply: WorkerReply) => {
      settled = true
      if (reply.type === 'result') resolve(reply.inspection)
      else reject(Object.assign(new Error(reply.message), {code: reply.code}))
      void worker.terminate()
    })
    worker.on('error', (error) => {
      settled = true
      reject(error)
    })
    worker.on('exit', (code) => {
      if (!settled) reject(new Error(`the archive check stopped unexpectedly (worker exit code ${code})`))
    })
  })
  const post = (message: WorkerMessage) => {
    if (!settled) worker.postMessage(message)
  }
  if (size !== undefined) post({type: 'finish', bytes: size})
  return {
    written: {
      commit: (bytes) => post({type: 'commit', bytes}),
      finish: (bytes) => post({type: 'finish', bytes}),
      fail: (error) => post({type: 'fail', message: error.message}),
    },
    result,
    stop: async () => {
      settled = true
      await worker.terminate()
      await result.catch(() => undefined)
    },
  }
}
