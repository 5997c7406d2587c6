/**
 * S3 locations as the commands take them (s3://BUCKET/PREFIX), without the
 * AWS SDK: every dr command parses --out/FILE, and only those that go to a
 * bucket should pay for loading the SDK (about 30 MB of resident memory).
 */
import {ToolkitError} from '../errors/errors.js'
import {displayText} from '../report/display.js'

export const S3_SCHEME = 's3://'

export interface S3Location {
  bucket: string
  /** Key prefix without leading or trailing slash; '' for the bucket's root. */
  prefix: string
}

export type S3ServerSideEncryption = 'AES256' | 'aws:kms'

export interface S3Settings {
  /** --s3-path-style / --no-s3-path-style; undefined: path style exactly when a custom endpoint is set. */
  pathStyle?: boolean
  /** --s3-sse: server-side encryption asked for on every object written. */
  sse?: S3ServerSideEncryption
  /** --s3-sse-kms-key-id with aws:kms (default: the bucket's or account's key). */
  sseKmsKeyId?: string
  /** --s3-ca-bundle, else AWS_CA_BUNDLE: PEM file of the CA(s) a private endpoint's certificate chains to. */
  caBundle?: string
  /** Environment to read AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL / AWS_REGION / AWS_CA_BUNDLE from (default process.env). */
  env?: NodeJS.ProcessEnv
}

export function isS3Url(location: string): boolean {
  return location.toLowerCase().startsWith(S3_SCHEME)
}

/** s3://bucket/some/prefix → {bucket, prefix}; refuses what is not one, naming it. */
export function parseS3Url(url: string): S3Location {
  if (!isS3Url(url)) throw badUrl(url, 'it does not start with s3://')
  const rest = url.slice(S3_SCHEME.length)
  const slash = rest.indexOf('/')
  const bucket = slash === -1 ? rest : rest.slice(0, slash)
  const prefix = slash === -1 ? '' : rest.slice(slash + 1).replace(/^\/+|\/+$/g, '')
  // Bucket naming rules (S3): 3-63 of lowercase letters, digits, dots and hyphens; MinIO and others are no looser.
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw badUrl(url, `"${displayText(bucket)}" is not a bucket name (3-63 lowercase letters, digits, dots, hyphens)`)
  if (/[\u0000-\u001f\u007f]/.test(prefix) || (prefix !== '' && prefix.split('/').some((part) => part === '' || part === '.' || part === '..'))) {
    throw badUrl(url, 'the prefix has an empty, "." or ".." segment or control characters')
  }
  return {bucket, prefix}
}

function badUrl(url: string, why: string): ToolkitError {
  return new ToolkitError('S3_URL_INVALID', `${displayText(url)} is not an S3 location: ${why}`, {hint: 'Write it as s3://BUCKET or s3://BUCKET/PREFIX.'})
}

export function formatS3Url(location: S3Location, name?: string): string {
  const key = name === undefined ? location.prefix : keyFor(location, name)
  return `${S3_SCHEME}${location.bucket}${key ? `/${key}` : ''}`
}

export function keyFor(location: S3Location, name: string): string {
  return location.prefix ? `${location.prefix}/${name}` : name
}

/** The endpoint the SDK would use for S3 from the environment: the S3-specific one wins, as in every AWS SDK. */
export function customEndpoint(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined
}
