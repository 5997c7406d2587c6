import type {SecretValue} from '../secret/secret-value.js'

/** The properties of one secret (KV v2: the keys of `data`). */
export type SecretData = Map<string, SecretValue>

export interface SecretVersionState {
  version: number
  createdTime?: string
  /** Soft-deleted (KV v2 `deletion_time` set). */
  deleted: boolean
  destroyed: boolean
}

export interface SecretRecord {
  key: string
  data: SecretData
  version: number
}

export interface SecretMetadata {
  currentVersion: number
  maxVersions: number
  casRequired: boolean
  deleteVersionAfter: string
  customMetadata: Record<string, string>
  /** State of the current version: a soft-deleted or destroyed current version has no readable data. */
  current: SecretVersionState
  /**
   * Every version the backend still lists, by number. A repair checks the
   * version it compared and the one it wrote: soft-delete and destroy change
   * a version's state but not the current version number.
   */
  versions?: Record<number, SecretVersionState>
}

export interface MetadataUpdate {
  maxVersions?: number
  casRequired?: boolean
  deleteVersionAfter?: string
  customMetadata?: Record<string, string>
}

export interface WriteOptions {
  /**
   * Check-and-set: 0 means "only if absent"; N means "only if the current
   * version is N". Undefined writes unconditionally.
   */
  cas?: number
}

/**
 * One secret backend. The Vault KV v2 implementation lives in
 * vault-kv-store.ts; another backend (AWS Secrets Manager, GCP, Azure,
 * Infisical) is another implementation of this interface, and callers do not
 * change. Keys are slash-separated paths relative to the store's mount.
 */
export interface SecretStore {
  /** Region (or other) name used in messages. */
  readonly name: string
  /** Every secret key under `prefix` ('' for all), depth-first, sorted. */
  list(prefix?: string): AsyncIterable<string>
  /** The current version's data, or undefined when the key is absent, soft-deleted or destroyed. */
  read(key: string): Promise<SecretRecord | undefined>
  /** Writes a new version and returns its number. A failed check-and-set throws a StoreRequestError with code CAS_MISMATCH. */
  write(key: string, data: SecretData, options?: WriteOptions): Promise<number>
  readMetadata(key: string): Promise<SecretMetadata | undefined>
  writeMetadata(key: string, update: MetadataUpdate): Promise<void>
  /** Removes the key and all its versions. */
  delete(key: string): Promise<void>
  /** Soft-deletes one version (KV v2 `delete/`): it stays in the history and can be undeleted. */
  softDelete(key: string, version: number): Promise<void>
  close(): Promise<void>
}
