// A real S3-compatible server for the tests that store snapshots in a bucket:
// versitygw (the Versity S3 Gateway, built from source by
// scripts/test-env/binaries.sh) serving a POSIX directory on a free loopback
// port, with root credentials of its own made up per start.
//
//   const s3 = await startS3Server({workDir, name: 'dr-s3'})
//   await s3.createBucket('snapshots')
//   s3.env        // AWS_ENDPOINT_URL_S3, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION for the CLI
//   s3.objectPath('snapshots', 'key')   // the file behind an object (to damage it in a test)
//   await s3.stop()
//
// The credentials reach versitygw through its environment, never its
// arguments (which the process log records).
import {randomBytes} from 'node:crypto'
import {mkdirSync} from 'node:fs'
import {join} from 'node:path'

import {CreateBucketCommand, ListMultipartUploadsCommand, ListObjectsV2Command, S3Client} from '@aws-sdk/client-s3'

import {requireBinary} from '../helpers/binaries.js'
import {freePorts, waitFor} from './net.js'
import {logTail, startProcess, type ManagedProcess} from './processes.js'

export interface S3Server {
  /** http://127.0.0.1:PORT */
  readonly endpoint: string
  readonly accessKeyId: string
  /** The root secret key: tests scan every output for it. */
  readonly secretAccessKey: string
  /** The environment a CLI run needs to reach this server (path style follows from the custom endpoint). */
  readonly env: Record<string, string>
  /** A client of this server, for setting up and inspecting buckets. */
  readonly client: S3Client
  readonly root: string
  createBucket(bucket: string): Promise<void>
  /** Keys of the objects under a prefix. */
  listKeys(bucket: string, prefix?: string): Promise<string[]>
  /** Unfinished multipart uploads under a prefix (ListMultipartUploads). */
  listMultipartUploads(bucket: string, prefix?: string): Promise<{key: string; uploadId: string}[]>
  /** The file that holds an object in the POSIX backend. */
  objectPath(bucket: string, key: string): string
  stop(): Promise<void>
}

export async function startS3Server(options: {workDir: string; name?: string}): Promise<S3Server> {
  const binary = requireBinary('versitygw')
  const name = options.name ?? 's3'
  const root = join(options.workDir, 's3', `${name}-${randomBytes(3).toString('hex')}`)
  const data = join(root, 'data')
  const sidecar = join(root, 'meta')
  const logs = join(options.workDir, 'logs')
  mkdirSync(data, {recursive: true})
  mkdirSync(sidecar, {recursive: true})
  mkdirSync(logs, {recursive: true})
  const [port] = await freePorts(1)
  const accessKeyId = `AKIA${randomBytes(8).toString('hex').toUpperCase()}`
  const secretAccessKey = randomBytes(24).toString('base64url')
  const logFile = join(logs, `versitygw-${name}.log`)
  const server: ManagedProcess = startProcess({
    name: `versitygw-${name}`,
    command: binary,
    // Metadata in a sidecar directory: the test file system need not support extended attributes.
    args: ['--port', `127.0.0.1:${port}`, '--quiet', 'posix', '--sidecar', sidecar, data],
    env: {...process.env, ROOT_ACCESS_KEY_ID: accessKeyId, ROOT_SECRET_ACCESS_KEY: secretAccessKey},
    logFile,
  })
  const endpoint = `http://127.0.0.1:${port}`
  const client = new S3Client({endpoint, region: 'us-east-1', forcePathStyle: true, credentials: {accessKeyId, secretAccessKey}})
  try {
    await waitFor(
      `versitygw on ${endpoint}`,
      async () => {
        try {
          await client.send(new ListObjectsV2Command({Bucket: 'no-such-bucket-probe'}))
          return true
        } catch (error) {
          // Any S3 answer (NoSuchBucket) means it serves; a refused connection means not yet.
          return (error as {$metadata?: {httpStatusCode?: number}}).$metadata?.httpStatusCode ? true : undefined
        }
      },
      {timeoutMs: 30_000, intervalMs: 200, abort: () => (server.running() ? undefined : `versitygw exited:\n${logTail(logFile)}`)},
    )
  } catch (error) {
    await server.stop()
    throw error
  }
  return {
    endpoint,
    accessKeyId,
    secretAccessKey,
    client,
    root: data,
    env: {AWS_ENDPOINT_URL_S3: endpoint, AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_REGION: 'us-east-1'},
    async createBucket(bucket) {
      await client.send(new CreateBucketCommand({Bucket: bucket}))
    },
    async listKeys(bucket, prefix) {
      const keys: string[] = []
      let token: string | undefined
      do {
        const page = await client.send(new ListObjectsV2Command({Bucket: bucket, Prefix: prefix, ContinuationToken: token}))
        for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key)
        token = page.IsTruncated ? page.NextContinuationToken : undefined
      } while (token)
      return keys.sort()
    },
    async listMultipartUploads(bucket, prefix) {
      const page = await client.send(new ListMultipartUploadsCommand({Bucket: bucket, Prefix: prefix}))
      return (page.Uploads ?? []).map((upload) => ({key: upload.Key!, uploadId: upload.UploadId!}))
    },
    objectPath(bucket, key) {
      return join(data, bucket, key)
    },
    async stop() {
      client.destroy()
      await server.stop()
    },
  }
}
