import type {Readable} from 'node:stream'

import {parseS3Url, S3Storage, type S3Settings} from '../storage/s3.js'

/**
 * `s3://bucket/prefix`: snapshots as objects directly under the prefix
 * (src/lib/storage/s3.ts does the talking). It is a SnapshotStore
 * (snapshot-store.ts) by shape: openSnapshotStore returns it as one, and
 * importing the interface here would make the two files a cycle.
 */
export class S3SnapshotStore {
  readonly kind = 's3' as const
  readonly location: string
  readonly storage: S3Storage

  constructor(url: string, settings: S3Settings = {}) {
    this.storage = new S3Storage(parseS3Url(url), settings)
    this.location = this.storage.url()
  }

  describe(name: string): string {
    return this.storage.url(name)
  }

  check(): Promise<void> {
    return this.storage.checkBucket()
  }

  async list(): Promise<{name: string; size: number}[]> {
    // Only objects directly under the prefix: a deeper "directory" belongs to someone else.
    return (await this.storage.list()).filter((object) => !object.name.includes('/')).map(({name, size}) => ({name, size}))
  }

  exists(name: string): Promise<boolean> {
    return this.storage.exists(name)
  }

  read(name: string): Promise<{body: Readable; size: number} | undefined> {
    return this.storage.read(name)
  }

  readSmall(name: string, limit: number): Promise<Buffer | undefined> {
    return this.storage.readSmall(name, limit)
  }

  write(name: string, body: Readable): ReturnType<S3Storage['upload']> {
    return this.storage.upload(name, body)
  }

  writeSmall(name: string, content: string): Promise<void> {
    return this.storage.writeSmall(name, content)
  }

  remove(name: string): Promise<void> {
    return this.storage.remove(name)
  }

  async pendingUploads(): Promise<string[]> {
    return (await this.storage.listMultipartUploads()).map((upload) => upload.key)
  }

  close(): void {
    this.storage.destroy()
  }
}
