import {createWriteStream} from 'node:fs'
import {mkdir, readdir, stat, unlink} from 'node:fs/promises'
import {join, resolve} from 'node:path'
import type {Readable} from 'node:stream'
import {pipeline} from 'node:stream/promises'

import {ToolkitError} from '../errors/errors.js'
import {displayText} from '../report/display.js'
import {isS3Url, type S3Settings} from '../storage/s3-location.js'
import {isPartialFile, openRegularFile, publish, removeQuietly, temporaryPathFor, writeFileAtomically} from './files.js'

/**
 * Where snapshots live: a local directory or an object store
 * (`s3://bucket/prefix`; `gs://` and `azblob://` would be one more file each,
 * implementing this interface). Names are flat (`<name>.snap[.age]` and
 * `<name>.json`), relative to the location. A snapshot is *published* only
 * when its manifest exists: writers put the archive first and the manifest
 * last, and readers ignore an archive without one.
 */
export interface SnapshotStore {
  /** 'local' keeps the directory code paths (FIFO checks, in-place publishing); others stream through this interface. */
  readonly kind: 'local' | 's3'
  /** The location as the operator wrote it, never with credentials. */
  readonly location: string
  /** One object's full name, for messages and reports (a path or an s3:// URL). */
  describe(name: string): string
  /** The location can be used: the bucket exists and the credentials may use it (or the directory exists). */
  check(): Promise<void>
  /** Objects directly under the location. */
  list(): Promise<StoredObject[]>
  exists(name: string): Promise<boolean>
  /** A stream of the object; undefined when it does not exist. */
  read(name: string): Promise<{body: Readable; size: number} | undefined>
  /** A small object (a manifest) whole; undefined when it does not exist; an error above `limit` bytes. */
  readSmall(name: string, limit: number): Promise<Buffer | undefined>
  /**
   * Streams `body` into a new object. It exists under `name` only if the
   * body ended without an error; any failure, and `abort`, leave nothing
   * behind (a multipart upload is aborted, a temporary file removed).
   */
  write(name: string, body: Readable): StoreUpload
  writeSmall(name: string, content: string): Promise<void>
  remove(name: string): Promise<void>
  /** Unfinished uploads a killed writer may have left (multipart uploads): for `dr list` and tests. */
  pendingUploads(): Promise<string[]>
  close(): void
}

export interface StoredObject {
  name: string
  size: number
}

export interface StoreUpload {
  readonly done: Promise<{size: number}>
  abort(reason?: Error): Promise<void>
}

/** Settings of remote stores, from the command's flags (credentials never: they come from the SDK's chain). */
export interface StoreSettings {
  s3?: S3Settings
}

const REMOTE_SCHEMES = /^(s3|gs|azblob):\/\//i

export function isRemoteLocation(location: string): boolean {
  return REMOTE_SCHEMES.test(location)
}

/** The last path segment of a location (s3://b/p/name.snap → name.snap), and what is before it. */
export function splitLocation(location: string): {parent: string; name: string} {
  const trimmed = location.replace(/\/+$/, '')
  const slash = trimmed.lastIndexOf('/')
  return {parent: trimmed.slice(0, slash), name: trimmed.slice(slash + 1)}
}

export async function openSnapshotStore(location: string, settings: StoreSettings = {}): Promise<SnapshotStore> {
  if (isS3Url(location)) {
    const {S3SnapshotStore} = await import('./snapshot-store-s3.js')
    return new S3SnapshotStore(location, settings.s3)
  }
  if (isRemoteLocation(location)) {
    throw new ToolkitError('STORE_UNSUPPORTED', `${displayText(location)}: only local directories and s3:// locations are supported`, {
      hint: 'Google Cloud Storage and Azure Blob Storage serve the S3 API through gateways; or write to a directory and copy it.',
    })
  }
  return new LocalSnapshotStore(location)
}

/** A directory, through the same interface (unit tests of the store-generic code run on it). */
export class LocalSnapshotStore implements SnapshotStore {
  readonly kind = 'local' as const
  readonly location: string

  constructor(directory: string) {
    this.location = resolve(directory)
  }

  describe(name: string): string {
    return join(this.location, name)
  }

  async check(): Promise<void> {
    await mkdir(this.location, {recursive: true})
  }

  async list(): Promise<StoredObject[]> {
    const names = await readdir(this.location).catch((error: NodeJS.ErrnoException) => {
      throw new ToolkitError('DIRECTORY_UNREADABLE', `cannot read snapshot directory ${displayText(this.location)} (${error.code ?? 'unreadable'})`, {hint: 'Pass the directory that `secrets dr snapshot --out` wrote to.'})
    })
    const objects: StoredObject[] = []
    for (const name of names.sort()) {
      if (isPartialFile(name)) continue
      const info = await stat(join(this.location, name)).catch(() => undefined)
      if (info?.isFile()) objects.push({name, size: info.size})
    }
    return objects
  }

  async exists(name: string): Promise<boolean> {
    return (await stat(this.describe(name)).catch(() => undefined)) !== undefined
  }

  async read(name: string): Promise<{body: Readable; size: number} | undefined> {
    try {
      const handle = await openRegularFile(this.describe(name), 'a snapshot')
      const {size} = await handle.stat()
      // The stream owns the handle and closes it when it ends or is destroyed.
      return {body: handle.createReadStream({highWaterMark: 256 * 1024}), size}
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw error
    }
  }

  async readSmall(name: string, limit: number): Promise<Buffer | undefined> {
    const object = await this.read(name)
    if (!object) return undefined
    if (object.size > limit) {
      object.body.destroy()
      throw new ToolkitError('OBJECT_TOO_LARGE', `${displayText(this.describe(name))} is ${object.size} bytes, more than the ${limit} a manifest can be`, {hint: 'It is not a manifest written by `secrets dr snapshot`: move it away.'})
    }
    const chunks: Buffer[] = []
    for await (const chunk of object.body as AsyncIterable<Buffer>) chunks.push(chunk)
    return Buffer.concat(chunks)
  }

  write(name: string, body: Readable): StoreUpload {
    const finalPath = this.describe(name)
    const temporary = temporaryPathFor(finalPath)
    let size = 0
    body.on('data', (chunk: Buffer) => {
      size += chunk.length
    })
    const done = pipeline(body, createWriteStream(temporary, {flags: 'wx', mode: 0o600})).then(
      async () => {
        await publish(temporary, finalPath)
        return {size}
      },
      async (error: unknown) => {
        await removeQuietly(temporary)
        throw error
      },
    )
    return {
      done,
      abort: async (reason) => {
        body.destroy(reason ?? new Error('cancelled'))
        await done.catch(() => undefined)
      },
    }
  }

  async writeSmall(name: string, content: string): Promise<void> {
    await writeFileAtomically(this.describe(name), content)
  }

  async remove(name: string): Promise<void> {
    await unlink(this.describe(name))
  }

  async pendingUploads(): Promise<string[]> {
    const names = await readdir(this.location).catch(() => [] as string[])
    return names.filter((name) => isPartialFile(name))
  }

  close(): void {}
}
