import {closeSync, constants, fstatSync, openSync, type Stats} from 'node:fs'
import {open, type FileHandle} from 'node:fs/promises'

/**
 * Opening only regular files. A FIFO, a device (/dev/zero) or a socket named
 * like a SOPS file, a snapshot, a manifest or a configuration file would block
 * a plain open() or read() forever, or never end. The open does not wait
 * (O_NONBLOCK, which has no effect on reads of regular files), and the type is
 * checked on the opened descriptor, so a file swapped in between cannot slip
 * through. Callers turn the problem into their own error, naming what the
 * file was meant to be.
 */

/** What a directory entry is, in words an operator knows (`a FIFO (named pipe)`, `a directory`). */
export function fileKind(info: Pick<Stats, 'isFile' | 'isDirectory' | 'isFIFO' | 'isSocket' | 'isCharacterDevice' | 'isBlockDevice' | 'isSymbolicLink'>): string {
  if (info.isFile()) return 'a regular file'
  if (info.isDirectory()) return 'a directory'
  if (info.isSymbolicLink()) return 'a symbolic link'
  if (info.isFIFO()) return 'a FIFO (named pipe)'
  if (info.isSocket()) return 'a socket'
  if (info.isCharacterDevice()) return 'a character device'
  if (info.isBlockDevice()) return 'a block device'
  return 'not a regular file'
}

/** Why a path could not be opened as a regular file. The message names no content. */
export class RegularFileProblem extends Error {
  constructor(
    readonly kind: 'missing' | 'not-regular' | 'unreadable',
    /** `does not exist`, `is a FIFO (named pipe), not a regular file`, `cannot be read (EACCES)`. */
    readonly reason: string,
    /** The system's error code when the open failed (ENOENT, EACCES…). */
    readonly errno?: string,
    /** For `not-regular`: what it is instead, in words (`a FIFO (named pipe)`). */
    readonly found?: string,
  ) {
    super(reason)
    this.name = 'RegularFileProblem'
  }
}

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | (constants.O_NOCTTY ?? 0)

function openFailure(error: unknown): RegularFileProblem {
  const code = (error as NodeJS.ErrnoException).code
  if (code === 'ENOENT' || code === 'ENOTDIR') return new RegularFileProblem('missing', 'does not exist', code)
  return new RegularFileProblem('unreadable', `cannot be read (${code ?? 'error'})`, code)
}

/** Opens `path` for reading if, and only if, it is a regular file. */
export async function openRegularFile(path: string): Promise<{handle: FileHandle; info: Stats}> {
  let handle: FileHandle
  try {
    handle = await open(path, OPEN_FLAGS)
  } catch (error) {
    throw openFailure(error)
  }
  const info = await handle.stat()
  if (!info.isFile()) {
    await handle.close()
    throw new RegularFileProblem('not-regular', `is ${fileKind(info)}, not a regular file`, undefined, fileKind(info))
  }
  return {handle, info}
}

/** The synchronous form, for loaders that read small files synchronously (configuration, mapping). */
export function openRegularFileSync(path: string): {fd: number; info: Stats} {
  let fd: number
  try {
    fd = openSync(path, OPEN_FLAGS)
  } catch (error) {
    throw openFailure(error)
  }
  const info = fstatSync(fd)
  if (!info.isFile()) {
    closeSync(fd)
    throw new RegularFileProblem('not-regular', `is ${fileKind(info)}, not a regular file`, undefined, fileKind(info))
  }
  return {fd, info}
}
