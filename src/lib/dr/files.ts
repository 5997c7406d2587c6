import {randomBytes} from 'node:crypto'
import {link, open, unlink, writeFile} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'

import {ToolkitError} from '../errors/errors.js'

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
      throw new ToolkitError('SNAPSHOT_EXISTS', `${finalPath} already exists`, {hint: 'An existing snapshot is never overwritten: wait a moment and re-run, or choose another --out directory.'})
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
