import {Flags} from '@oclif/core'

import type {StoreSettings} from '../dr/snapshot-store.js'

/**
 * The object-store flags of the dr commands that read or write s3:// locations.
 * Credentials are never flags: the AWS SDK's standard chain provides them
 * (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN, AWS_PROFILE, web
 * identity, instance and container roles), and the endpoint comes from
 * AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL.
 */
export const s3Flags = {
  's3-path-style': Flags.boolean({
    description: 'address buckets as https://endpoint/BUCKET (path style) instead of https://BUCKET.endpoint; default: path style exactly when AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL is set (MinIO, Ceph, versitygw)',
    allowNo: true,
    helpGroup: 'S3',
  }),
  's3-sse': Flags.string({
    description: 'server-side encryption of the objects written (aws:kms or AES256)',
    options: ['aws:kms', 'AES256'],
    helpGroup: 'S3',
  }),
  's3-sse-kms-key-id': Flags.string({
    description: 'the KMS key for --s3-sse aws:kms (default: the bucket\'s or account\'s key)',
    dependsOn: ['s3-sse'],
    helpGroup: 'S3',
  }),
  's3-ca-bundle': Flags.file({
    description: 'PEM file of the CA(s) a private S3 endpoint\'s certificate chains to (default: AWS_CA_BUNDLE, else the system\'s)',
    exists: true,
    helpGroup: 'S3',
  }),
}

export function storeSettingsFrom(flags: {'s3-path-style'?: boolean; 's3-sse'?: string; 's3-sse-kms-key-id'?: string; 's3-ca-bundle'?: string}): StoreSettings {
  return {
    s3: {
      pathStyle: flags['s3-path-style'],
      sse: flags['s3-sse'] as 'aws:kms' | 'AES256' | undefined,
      sseKmsKeyId: flags['s3-sse-kms-key-id'],
      caBundle: flags['s3-ca-bundle'],
    },
  }
}
