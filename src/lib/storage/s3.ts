import {readFileSync} from 'node:fs'
import {Agent as HttpsAgent} from 'node:https'
import {Agent as HttpAgent} from 'node:http'
import type {Readable} from 'node:stream'

import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  type CompletedPart,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  type ServerSideEncryption,
} from '@aws-sdk/client-s3'
import {NodeHttpHandler} from '@smithy/node-http-handler'

import {ExitCode, ToolkitError} from '../errors/errors.js'
import {displayText, redactUrl} from '../report/display.js'

/**
 * The one client of S3-compatible object storage (AWS S3, MinIO, Ceph RGW,
 * versitygw…), on the official AWS SDK v3. Credentials come from the SDK's
 * standard chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN,
 * AWS_PROFILE and the shared files, web identity for IRSA, container and
 * instance roles) and are never read, held or printed here. Every failure is
 * a ToolkitError naming the bucket, the key, the HTTP status and the S3 error
 * code.
 */

import {customEndpoint, formatS3Url, keyFor, type S3Location, type S3Settings} from './s3-location.js'

export {S3_SCHEME, customEndpoint, formatS3Url, isS3Url, keyFor, parseS3Url} from './s3-location.js'
export type {S3Location, S3ServerSideEncryption, S3Settings} from './s3-location.js'

export interface ResolvedS3Config {
  endpoint?: string
  forcePathStyle: boolean
  region: string
  caBundle?: string
}

/** What the settings and environment amount to (also shown in plans; no credential is part of it). */
export function resolveS3Config(settings: S3Settings = {}): ResolvedS3Config {
  const env = settings.env ?? process.env
  const endpoint = customEndpoint(env)
  return {
    endpoint,
    // MinIO, Ceph, versitygw and most on-premises stores serve buckets as paths only.
    forcePathStyle: settings.pathStyle ?? endpoint !== undefined,
    // Custom endpoints usually ignore the region, but signing needs one.
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    caBundle: settings.caBundle ?? (env.AWS_CA_BUNDLE || undefined),
  }
}

/** Metadata of one object under the prefix; `name` is relative to the prefix. */
export interface S3ObjectInfo {
  name: string
  size: number
  lastModified?: Date
}

export interface S3MultipartUploadInfo {
  key: string
  uploadId: string
  initiated?: Date
}

/** An upload in progress: `done` settles when it is complete (or failed and aborted); `abort` stops it and removes every part. */
export interface S3UploadHandle {
  readonly done: Promise<{size: number}>
  abort(reason?: Error): Promise<void>
}

/**
 * S3's smallest part: 10,000 parts (its limit) make 48.8 GiB, beyond any Raft
 * snapshot. Measured at 500 MB on 2 loaded cores (docs/benchmarks.md): 5 MiB
 * with one part in flight while the next fills peaked at 143 MB RSS and was as
 * fast as 8 MiB × 2 (156 MB) or lib-storage's fresh buffers (186-190 MB).
 */
const PART_SIZE = 5 * 1024 * 1024
/** Parts in flight at once; memory is PART_SIZE × (QUEUE_SIZE + 1), allocated once. */
const QUEUE_SIZE = 1

export class S3Storage {
  readonly client: S3Client
  readonly config: ResolvedS3Config

  constructor(
    readonly location: S3Location,
    private readonly settings: S3Settings = {},
  ) {
    this.config = resolveS3Config(settings)
    let ca: Buffer | undefined
    if (this.config.caBundle) {
      try {
        ca = readFileSync(this.config.caBundle)
      } catch (error) {
        throw new ToolkitError('S3_CA_BUNDLE_UNREADABLE', `cannot read the CA bundle ${displayText(this.config.caBundle)} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`, {
          hint: 'Pass --s3-ca-bundle (or AWS_CA_BUNDLE) with a PEM file of the CA that signed the endpoint\'s certificate.',
        })
      }
    }
    this.client = new S3Client({
      region: this.config.region,
      endpoint: this.config.endpoint,
      forcePathStyle: this.config.forcePathStyle,
      // Only as many retries as the SDK's standard mode; the caller decides what a failure means.
      maxAttempts: 3,
      requestHandler: new NodeHttpHandler({
        httpsAgent: new HttpsAgent({keepAlive: true, ca}),
        httpAgent: new HttpAgent({keepAlive: true}),
        connectionTimeout: 10_000,
        requestTimeout: 120_000,
      }),
    })
  }

  /** The location as s3://bucket/prefix[/name]. */
  url(name?: string): string {
    return formatS3Url(this.location, name)
  }

  /** Where requests go, for messages: the custom endpoint (without credentials) or AWS. */
  get endpointText(): string {
    return this.config.endpoint ? redactUrl(this.config.endpoint) : 'AWS S3'
  }

  /** The bucket exists and these credentials may use it. */
  async checkBucket(): Promise<void> {
    await this.#call(() => this.client.send(new HeadBucketCommand({Bucket: this.location.bucket})), 'open the bucket')
  }

  /** Whether an object exists (HeadObject). */
  async exists(name: string): Promise<boolean> {
    const key = keyFor(this.location, name)
    try {
      await this.client.send(new HeadObjectCommand({Bucket: this.location.bucket, Key: key}))
      return true
    } catch (error) {
      if (error instanceof S3ServiceException && error.$metadata?.httpStatusCode === 404) return false
      throw this.#failure(error, 'look up', key)
    }
  }

  /** Every object directly or deeper under the prefix (names relative to it). */
  async list(): Promise<S3ObjectInfo[]> {
    const objects: S3ObjectInfo[] = []
    const prefix = this.location.prefix ? `${this.location.prefix}/` : ''
    let token: string | undefined
    do {
      const page = await this.#call(() => this.client.send(new ListObjectsV2Command({Bucket: this.location.bucket, Prefix: prefix, ContinuationToken: token})), 'list the objects')
      for (const object of page.Contents ?? []) {
        if (!object.Key) continue
        objects.push({name: object.Key.slice(prefix.length), size: object.Size ?? 0, lastModified: object.LastModified})
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined
    } while (token)
    return objects
  }

  /** Multipart uploads started under the prefix and neither completed nor aborted. */
  async listMultipartUploads(): Promise<S3MultipartUploadInfo[]> {
    const uploads: S3MultipartUploadInfo[] = []
    const prefix = this.location.prefix ? `${this.location.prefix}/` : ''
    let keyMarker: string | undefined
    let uploadIdMarker: string | undefined
    for (;;) {
      const page = await this.#call(() => this.client.send(new ListMultipartUploadsCommand({Bucket: this.location.bucket, Prefix: prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker})),
        'list the multipart uploads',
      )
      for (const upload of page.Uploads ?? []) {
        if (upload.Key && upload.UploadId) uploads.push({key: upload.Key, uploadId: upload.UploadId, initiated: upload.Initiated})
      }
      if (!page.IsTruncated) return uploads
      keyMarker = page.NextKeyMarker
      uploadIdMarker = page.NextUploadIdMarker
    }
  }

  /** Aborts every unfinished multipart upload of one object (what a killed writer may leave). */
  async abortMultipartUploadsOf(name: string): Promise<number> {
    const key = keyFor(this.location, name)
    const uploads = (await this.listMultipartUploads()).filter((upload) => upload.key === key)
    for (const upload of uploads) {
      await this.#call(() => this.client.send(new AbortMultipartUploadCommand({Bucket: this.location.bucket, Key: key, UploadId: upload.uploadId})), `abort the multipart upload of ${key}`, key)
    }
    return uploads.length
  }

  /** Reads an object as a stream; undefined when it does not exist. */
  async read(name: string): Promise<{body: Readable; size: number} | undefined> {
    const key = keyFor(this.location, name)
    try {
      const answer = await this.client.send(new GetObjectCommand({Bucket: this.location.bucket, Key: key}))
      return {body: answer.Body as Readable, size: answer.ContentLength ?? 0}
    } catch (error) {
      if (error instanceof S3ServiceException && (error.name === 'NoSuchKey' || error.$metadata?.httpStatusCode === 404) && error.name !== 'NoSuchBucket') return undefined
      throw this.#failure(error, 'read', key)
    }
  }

  /** Reads a small object (a manifest) whole, refusing one larger than `limit` bytes. */
  async readSmall(name: string, limit: number): Promise<Buffer | undefined> {
    const object = await this.read(name)
    if (!object) return undefined
    if (object.size > limit) {
      object.body.destroy()
      throw new ToolkitError('S3_OBJECT_TOO_LARGE', `${this.url(name)} is ${object.size} bytes, more than the ${limit} a manifest can be`, {hint: 'It is not a manifest written by `secrets dr snapshot`: move it away.'})
    }
    const chunks: Buffer[] = []
    let size = 0
    try {
      for await (const chunk of object.body as AsyncIterable<Buffer>) {
        size += chunk.length
        if (size > limit) throw new Error(`more than ${limit} bytes`)
        chunks.push(chunk)
      }
    } catch (error) {
      object.body.destroy()
      throw this.#failure(error, 'read', keyFor(this.location, name))
    }
    return Buffer.concat(chunks)
  }

  /** Writes a small object in one request (PutObject replaces; callers name objects uniquely). */
  async writeSmall(name: string, content: Buffer | string, contentType = 'application/json'): Promise<void> {
    const key = keyFor(this.location, name)
    await this.#call(() => this.client.send(new PutObjectCommand({Bucket: this.location.bucket, Key: key, Body: content, ContentType: contentType, ...this.#encryption()})), 'write', key)
  }

  /**
   * Streams `body` into the object as a multipart upload (a single PUT when
   * it is smaller than one part). Any failure of the body or of a request,
   * and `abort`, cancel the requests in flight and abort the multipart
   * upload, so no part is left behind; the object exists only if every byte
   * arrived and the body ended without an error.
   *
   * Written on the SDK's commands rather than @aws-sdk/lib-storage's Upload:
   * Upload concatenates a fresh buffer for every part, and that garbage kept
   * peak RSS 60 MB above the 150 MB target at 500 MB. Here the parts are a
   * few buffers allocated once and reused, so memory is flat at any size.
   */
  upload(name: string, body: Readable, onProgress?: (bytes: number) => void): S3UploadHandle {
    const key = keyFor(this.location, name)
    const {bucket} = this.location
    const requests = new AbortController()
    const signal = {abortSignal: requests.signal}
    let uploadId: string | undefined
    let size = 0
    const send = async () => {
      const free = Array.from({length: QUEUE_SIZE + 1}, () => Buffer.allocUnsafe(PART_SIZE))
      const inFlight = new Set<Promise<void>>()
      const parts: CompletedPart[] = []
      let failure: unknown
      let current = free.pop()!
      let filled = 0
      let partNumber = 1
      const ship = async (length: number) => {
        uploadId ??= (await this.client.send(new CreateMultipartUploadCommand({Bucket: bucket, Key: key, ContentType: 'application/octet-stream', ChecksumAlgorithm: 'CRC32', ...this.#encryption()}), signal)).UploadId
        const buffer = current
        const number = partNumber++
        const part = this.client
          .send(new UploadPartCommand({Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: number, Body: buffer.subarray(0, length), ContentLength: length, ChecksumAlgorithm: 'CRC32'}), signal)
          .then((answer) => {
            parts.push({PartNumber: number, ETag: answer.ETag, ChecksumCRC32: answer.ChecksumCRC32})
          })
          .catch((error: unknown) => {
            failure ??= error
            requests.abort()
          })
          .finally(() => {
            inFlight.delete(part)
            free.push(buffer)
          })
        inFlight.add(part)
        // The next part is filled only when a buffer is free: the body waits (backpressure), memory does not grow.
        while (free.length === 0) await Promise.race(inFlight)
        if (failure) throw failure
        current = free.pop()!
        filled = 0
      }
      try {
        for await (const chunk of body as AsyncIterable<Buffer>) {
          if (failure) throw failure
          size += chunk.length
          onProgress?.(size)
          for (let offset = 0; offset < chunk.length; ) {
            const copied = chunk.copy(current, filled, offset)
            filled += copied
            offset += copied
            if (filled === PART_SIZE) await ship(PART_SIZE)
          }
        }
        if (uploadId === undefined) {
          // Smaller than one part: one request, nothing to abort.
          await this.client.send(new PutObjectCommand({Bucket: bucket, Key: key, Body: current.subarray(0, filled), ContentLength: filled, ContentType: 'application/octet-stream', ...this.#encryption()}), signal)
          return
        }
        if (filled > 0) await ship(filled)
        await Promise.all(inFlight)
        if (failure) throw failure
        parts.sort((a, b) => a.PartNumber! - b.PartNumber!)
        await this.client.send(new CompleteMultipartUploadCommand({Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: {Parts: parts}}), signal)
      } catch (error) {
        requests.abort()
        await Promise.allSettled(inFlight)
        throw failure ?? error
      }
    }
    const done = send().then(
      () => ({size}),
      async (error: unknown) => {
        // No part may outlive a failed or interrupted upload: abort it (and any other unfinished upload of this key).
        if (uploadId) await this.client.send(new AbortMultipartUploadCommand({Bucket: bucket, Key: key, UploadId: uploadId})).catch(() => undefined)
        await this.abortMultipartUploadsOf(name).catch(() => undefined)
        throw error instanceof ToolkitError ? error : this.#failure(error, 'upload', key)
      },
    )
    return {
      done,
      abort: async (reason?: Error) => {
        body.destroy(reason ?? new Error('upload cancelled'))
        requests.abort()
        await done.catch(() => undefined)
      },
    }
  }

  async remove(name: string): Promise<void> {
    const key = keyFor(this.location, name)
    await this.#call(() => this.client.send(new DeleteObjectCommand({Bucket: this.location.bucket, Key: key})), 'delete', key)
  }

  destroy(): void {
    this.client.destroy()
  }

  #encryption(): {ServerSideEncryption?: ServerSideEncryption; SSEKMSKeyId?: string} {
    if (!this.settings.sse) return {}
    return {ServerSideEncryption: this.settings.sse as ServerSideEncryption, SSEKMSKeyId: this.settings.sse === 'aws:kms' ? this.settings.sseKmsKeyId : undefined}
  }

  async #call<T>(request: () => Promise<T>, action: string, key?: string): Promise<T> {
    try {
      return await request()
    } catch (error) {
      throw this.#failure(error, action, key)
    }
  }

  /** One message shape for every S3 failure: what, which bucket and key, HTTP status and S3 code, and what to do. */
  #failure(error: unknown, action: string, key?: string): ToolkitError {
    if (error instanceof ToolkitError) return error
    const where = `bucket ${this.location.bucket}${key ? `, key ${displayText(key)}` : ''}`
    const service = error instanceof S3ServiceException ? error : undefined
    const status = service?.$metadata?.httpStatusCode
    const code = service?.name ?? (error as NodeJS.ErrnoException)?.code ?? (error as Error)?.name ?? 'Error'
    // SDK messages name the bucket or key at most, never a credential; kept to one escaped line.
    const message = displayText(String((error as Error)?.message ?? error).split('\n')[0].slice(0, 300))
    const facts = [status ? `HTTP ${status}` : undefined, code].filter(Boolean).join(', ')
    const text = `S3 (${this.endpointText}): could not ${action} (${where}): ${facts}${message && message !== code ? `: ${message}` : ''}`
    return new ToolkitError(s3ErrorCode(action === 'open the bucket' && status === 404 ? 'NoSuchBucket' : code, status), text, {hint: hintFor(code, status), exitCode: ExitCode.Error, details: {bucket: this.location.bucket, key, httpStatus: status, s3Code: code}})
  }
}

function s3ErrorCode(code: string, status: number | undefined): string {
  if (code === 'NoSuchBucket') return 'S3_NO_SUCH_BUCKET'
  // XAdminUserNotFound: versitygw's answer (HTTP 404) to an access key it does not know.
  if (['InvalidAccessKeyId', 'XAdminUserNotFound', 'SignatureDoesNotMatch', 'AccessDenied', 'ExpiredToken', 'InvalidToken', 'CredentialsProviderError'].includes(code) || status === 403) return 'S3_ACCESS_DENIED'
  if (status === 404) return 'S3_NOT_FOUND'
  return 'S3_FAILED'
}

function hintFor(code: string, status: number | undefined): string {
  if (code === 'NoSuchBucket' || (status === 404 && code === 'NotFound')) return 'Check the bucket name (and AWS_ENDPOINT_URL_S3 for a non-AWS store); the toolkit never creates buckets.'
  if (code === 'CredentialsProviderError') return 'No credentials were found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or a web identity (IRSA) for the process.'
  if (code === 'InvalidAccessKeyId' || code === 'XAdminUserNotFound' || code === 'SignatureDoesNotMatch') return 'The access key or secret key is wrong for this endpoint: check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or the profile.'
  if (code === 'AccessDenied' || status === 403) return 'The credentials lack a permission this needs: see "Snapshots in a bucket" in docs/operations.md for the minimal policy.'
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'TimeoutError') return 'The endpoint is not reachable: check AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL and the network.'
  if (/certificate|self.signed|UNABLE_TO_VERIFY/i.test(code)) return 'The endpoint\'s certificate is not trusted: pass --s3-ca-bundle (or AWS_CA_BUNDLE) with its CA.'
  return 'Check the store\'s status and the error above, then re-run.'
}
