import {createReadStream} from 'node:fs'
import {stat} from 'node:fs/promises'
import {isAbsolute, join, resolve} from 'node:path'

import {runGit} from '../git-client/exec.js'

/**
 * Git LFS without the git-lfs binary (it may not be installed): the pointer
 * format (https://github.com/git-lfs/git-lfs/blob/main/docs/spec.md) and the
 * local object store `<git dir>/lfs/objects/<aa>/<bb>/<oid>` are read
 * directly, so a SOPS file committed through LFS is scanned like any blob.
 */
export interface LfsPointer {
  /** SHA-256 of the object, hex. */
  oid: string
  size: number
}

/** The spec caps pointer files at 1024 bytes; anything larger is ordinary content. */
export const MAX_POINTER_SIZE = 1024
const VERSION_LINE = /^version https:\/\/(?:git-lfs|hawser)\.github\.com\/spec\/v1\n/
const OID_LINE = /^oid sha256:([0-9a-f]{64})$/m
const SIZE_LINE = /^size (\d{1,16})$/m

/** The pointer a blob holds, when it is one. */
export function parseLfsPointer(content: Buffer): LfsPointer | undefined {
  if (content.length > MAX_POINTER_SIZE || content.length < 40 || content[0] !== 0x76 /* v */) return undefined
  const text = content.toString('utf8')
  if (!VERSION_LINE.test(text)) return undefined
  const oid = OID_LINE.exec(text)?.[1]
  const size = SIZE_LINE.exec(text)?.[1]
  if (!oid || size === undefined || !Number.isSafeInteger(Number(size))) return undefined
  return {oid, size: Number(size)}
}

/** Where this repository keeps LFS objects: `lfs.storage` when configured, else `<common git dir>/lfs`. */
export async function lfsObjectsDirectory(repo: string): Promise<string> {
  const commonDir = (await runGit(repo, ['rev-parse', '--git-common-dir'])).stdout.toString('utf8').trim()
  const absoluteCommon = resolve(repo, commonDir)
  const configured = await runGit(repo, ['config', '--get', 'lfs.storage'], {okCodes: [1]})
  const storage = configured.code === 0 ? configured.stdout.toString('utf8').trim() : ''
  // git-lfs resolves a relative lfs.storage against the git directory.
  const base = storage ? (isAbsolute(storage) ? storage : resolve(absoluteCommon, storage)) : join(absoluteCommon, 'lfs')
  return join(base, 'objects')
}

export function lfsObjectPath(objectsDirectory: string, oid: string): string {
  return join(objectsDirectory, oid.slice(0, 2), oid.slice(2, 4), oid)
}

/** Whether the object is in the local store whole (its size as the pointer says). */
export async function lfsObjectPresent(objectsDirectory: string, pointer: LfsPointer): Promise<boolean> {
  const info = await stat(lfsObjectPath(objectsDirectory, pointer.oid)).catch(() => undefined)
  return info !== undefined && info.isFile() && info.size === pointer.size
}

/** Streams an object's bytes in bounded chunks. */
export function readLfsObject(objectsDirectory: string, oid: string): AsyncIterable<Buffer> {
  return createReadStream(lfsObjectPath(objectsDirectory, oid), {highWaterMark: 1024 * 1024})
}
