import {randomBytes} from 'node:crypto'
import {constants, type Stats} from 'node:fs'
import {link, open, unlink, writeFile, type FileHandle} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'

import {ToolkitError} from '../errors/errors.js'
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
export function describeFileType(info: Stats): string {
  if (info.isFIFO()) return 'a FIFO (named pipe)'
  if (info.isCharacterDevice()) return 'a character device'
  if (info.isBlockDevice()) return 'a block device'
  if (info.isSocket()) return 'a socket'
  if (info.isDirectory()) return 'a directory'
  if (info.isSymbolicLink()) return 'a symbolic link'
  return 'not a regular file'
}

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

/**
 * Opens a file for reading only if it is a regular file. A FIFO or a device
 * named like a snapshot or manifest would block a plain open() or read()
 * forever (or never end, like /dev/zero): the open does not wait
 * (O_NONBLOCK), and the check is made on the opened descriptor, so a file
 * swapped in between cannot slip through. O_NONBLOCK has no effect on reads
 * of regular files.
 */
export async function openRegularFile(path: string, what: string): Promise<FileHandle> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK)
  try {
    const info = await handle.stat()
    if (!info.isFile()) throw new NotARegularFileError(path, describeFileType(info), what)
    return handle
  } catch (error) {
    await handle.close()
    throw error
  }
}
