import type {Stats} from 'node:fs'
import type {FileHandle} from 'node:fs/promises'

import {openRegularFile, RegularFileProblem} from '../files/regular-file.js'

import {MAX_SOPS_FILE_BYTES} from './detect.js'

/** Why a path could not be read as a SOPS file. The message names no content. */
export class FileReadProblem extends Error {
  constructor(
    readonly kind: 'missing' | 'not-regular' | 'too-large' | 'unreadable',
    message: string,
    readonly size?: number,
  ) {
    super(message)
    this.name = 'FileReadProblem'
  }
}

export {fileKind} from '../files/regular-file.js'

async function openRegular(path: string): Promise<{handle: FileHandle; info: Stats}> {
  try {
    return await openRegularFile(path)
  } catch (error) {
    if (error instanceof RegularFileProblem) throw new FileReadProblem(error.kind, error.reason)
    throw error
  }
}

/**
 * The bytes of a regular file of at most `maxBytes`. Anything else — a FIFO,
 * a device such as /dev/zero, a socket, a directory — is refused before a
 * byte is read, and a file that grows past the limit while being read is
 * refused too, so one read never holds more than `maxBytes`.
 */
export async function readRegularFile(path: string, maxBytes = MAX_SOPS_FILE_BYTES): Promise<Buffer> {
  const {handle, info} = await openRegular(path)
  try {
    if (info.size > maxBytes) throw tooLarge(info.size, maxBytes)
    const chunks: Buffer[] = []
    let total = 0
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(Math.max(info.size - total, 64 * 1024), maxBytes + 1 - total))
      const {bytesRead} = await handle.read(chunk, 0, chunk.length, null)
      if (bytesRead === 0) break
      total += bytesRead
      if (total > maxBytes) throw tooLarge(total, maxBytes)
      chunks.push(bytesRead === chunk.length ? chunk : chunk.subarray(0, bytesRead))
    }
    return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total)
  } catch (error) {
    if (error instanceof FileReadProblem) throw error
    throw new FileReadProblem('unreadable', `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`)
  } finally {
    await handle.close()
  }
}

function tooLarge(size: number, maxBytes: number): FileReadProblem {
  return new FileReadProblem('too-large', `is ${mebibytes(size)} MiB, over the ${mebibytes(maxBytes)} MiB limit for a SOPS file`, size)
}

function mebibytes(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(bytes % (1024 * 1024) === 0 ? 0 : 1)
}

const MARKER_WINDOW = 1024 * 1024
const SOPS = Buffer.from('sops')
const SECOND_MARKERS = [Buffer.from('ENC[AES256_GCM,'), Buffer.from('lastmodified')]

/**
 * Whether a regular file too large to parse carries sops' marks: sops writes
 * its metadata block last in every format, so the first and last MiB are
 * read (never the whole file) and searched for the words detection starts from.
 */
export async function hasSopsMarkers(path: string): Promise<boolean> {
  const {handle, info} = await openRegular(path)
  try {
    const windows = info.size <= 2 * MARKER_WINDOW ? [[0, info.size]] : [[0, MARKER_WINDOW], [info.size - MARKER_WINDOW, MARKER_WINDOW]]
    for (const [position, length] of windows) {
      const buffer = Buffer.alloc(length)
      const {bytesRead} = await handle.read(buffer, 0, length, position)
      const window = buffer.subarray(0, bytesRead)
      if (window.includes(SOPS) && SECOND_MARKERS.some((marker) => window.includes(marker))) return true
    }
    return false
  } finally {
    await handle.close()
  }
}
