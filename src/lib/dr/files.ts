import {randomBytes} from 'node:crypto'
import {constants} from 'node:fs'
import {link, open, unlink, writeFile, type FileHandle} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'

import {ToolkitError} from '../errors/errors.js'
import {fileKind, openRegularFile as openRegular, RegularFileProblem} from '../files/regular-file.js'
import {displayText} from '../report/display.js'

/** In-progress files are hidden and marked, so `dr list` never takes one for a snapshot. */
export const PARTIAL_SUFFIX = '.partial'

export function temporaryPathFor(finalPath: string): string {
  return join(dirname(finalPath), `.${basename(finalPath)}.${process.pid}-${randomBytes(4).toString('hex')}${PARTIAL_SUFFIX}`)
}

export function isPartialFile(name: string): boolean {
  return name.startsWith('.') && name.endsWith(PARTIAL_SUFFIX)
}

/** Flushes a directory entry change (rename, link, unlink) to disk. */
export async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r')
  try {
    await handle.sync()
  } catch {
    // Some filesystems refuse fsync on a directory; the data itself is synced.
  } finally {
    await handle.close()
  }
}

/**
 * Puts a finished temporary file in place without ever replacing an existing
 * file: link() fails on an existing name where rename() would overwrite it.
 */
export async function publish(temporary: string, finalPath: string): Promise<void> {
  try {
    await link(temporary, finalPath)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new ToolkitError('SNAPSHOT_EXISTS', `${displayText(finalPath)} already exists`, {hint: 'An existing snapshot is never overwritten: wait a moment and re-run, or choose another --out directory.'})
    }
    throw error
  }
  await unlink(temporary)
  await syncDirectory(dirname(finalPath))
}

/** Writes a small file (a manifest) atomically: temp, fsync, publish. */
export async function writeFileAtomically(path: string, content: string): Promise<void> {
  const temporary = temporaryPathFor(path)
  try {
    await writeFile(temporary, content, {mode: 0o600, flush: true})
    await publish(temporary, path)
  } catch (error) {
    await removeQuietly(temporary)
    throw error
  }
}

export async function removeQuietly(path: string): Promise<void> {
  await unlink(path).catch(() => undefined)
}

/** What a directory entry is, in words an operator knows ("a FIFO", "a directory"). */
export const describeFileType = fileKind

export class NotARegularFileError extends ToolkitError {
  constructor(
    readonly path: string,
    readonly kind: string,
    what: string,
  ) {
    super('NOT_A_REGULAR_FILE', `${displayText(path)} is ${kind}, not a regular file: refusing to read it as ${what}`, {
      hint: 'Snapshots and manifests are regular files: pass the .snap (or .snap.age) file or its .json manifest, and remove whatever else carries that name.',
    })
  }
}

/** Opens a snapshot or manifest for reading only if it is a regular file (see files/regular-file.ts for why). */
export async function openRegularFile(path: string, what: string): Promise<FileHandle> {
  try {
    return (await openRegular(path)).handle
  } catch (error) {
    if (error instanceof RegularFileProblem && error.kind === 'not-regular') throw new NotARegularFileError(path, error.found ?? 'not a regular file', what)
    // Callers tell a missing manifest from an unreadable one by the system's code, as with a plain open().
    if (error instanceof RegularFileProblem && error.errno) throw Object.assign(new Error(`${path}: ${error.reason}`), {code: error.errno})
    throw error
  }
}
