import {ExitCode, ToolkitError} from '../errors/errors.js'
import type {SecretValue} from '../secret/secret-value.js'

/** The properties of one secret (KV v2: the keys of `data`). */
export type SecretData = Map<string, SecretValue>

export interface SecretVersionState {
  version: number
  createdTime?: string
  /** Soft-deleted (KV v2 `deletion_time` set). */
  deleted: boolean
  destroyed: boolean
  /** The backend's own deletion time as it gave it ('' when none), for digests that must match what it stores. */
  deletionTime?: string
}

export interface SecretRecord {
  key: string
  data: SecretData
  version: number
}

/**
 * A key's metadata. `currentVersion`, `current` and `versions` are there for
 * every backend with the `versions` capability (a backend without history
 * answers version 1, live). `maxVersions`, `casRequired` and
 * `deleteVersionAfter` are KV v2 settings: a backend announces them with the
 * `metadata` capability, and one without it reports the neutral values
 * (0, false, '0s'), which compare equal everywhere.
 */
export interface SecretMetadata {
  currentVersion: number
  maxVersions: number
  casRequired: boolean
  deleteVersionAfter: string
  customMetadata: Record<string, string>
  /** When the key last changed, as the backend gave it (optional: used only in digests). */
  updatedTime?: string
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
 * What a backend can do beyond list/read/write/delete. Code that needs one of
 * these asks the store, never which backend it is (a region repair refuses a
 * plan the target cannot carry out with its guards). Vault KV v2 and the
 * in-memory test store have them all; a backend without versions or soft
 * delete (a plain key-value service) says so here instead of faking them.
 */
export interface StoreCapabilities {
  /** Keeps numbered versions of a key (KV v2, AWS/GCP/Azure version ids). */
  versions: boolean
  /** Writes can be conditional on the current version (WriteOptions.cas). */
  checkAndSet: boolean
  /** Per-key settings: maxVersions, casRequired, deleteVersionAfter, customMetadata (SecretMetadata, MetadataUpdate). */
  metadata: boolean
  /** A version can be soft-deleted and stays in the history (softDelete). */
  softDelete: boolean
}

/**
 * What a store failure means, decided by the backend that raised it; callers
 * branch on this, never on an HTTP status or a backend's error code.
 * - `NotFound`: the key (or path) is not there.
 * - `Conflict`: a check-and-set did not match: the key changed since it was read.
 * - `Unavailable`: the store itself cannot answer (unreachable, sealed, timed
 *   out, the deadline ran out): every other key would fail too.
 * - `Denied`: the credentials may not do this.
 * - `Failed`: anything else (a bad answer, a rejected request): this one call failed.
 */
export type StoreErrorKind = 'NotFound' | 'Conflict' | 'Unavailable' | 'Denied' | 'Failed'

/** A failure of a SecretStore call. Backends raise it (or a subclass) with the kind they decided. */
export class StoreError extends ToolkitError {
  readonly kind: StoreErrorKind
  /**
   * Worth trying again, as the backend judges it (withStoreRetry retries
   * exactly these). By default an `Unavailable` failure is; a backend says
   * otherwise where it knows better: Vault retries an answer that is not its
   * JSON (a proxy's page, kind `Failed`) and never a deadline that ran out.
   */
  readonly retryable: boolean

  constructor(kind: StoreErrorKind, code: string, message: string, options: {hint?: string; cause?: unknown; retryable?: boolean} = {}) {
    super(code, message, {hint: options.hint, cause: options.cause, exitCode: ExitCode.Error})
    this.name = 'StoreError'
    this.kind = kind
    this.retryable = options.retryable ?? kind === 'Unavailable'
  }
}

/** True when `error` is a store failure of `kind`. */
export function isStoreError(error: unknown, kind?: StoreErrorKind): error is StoreError {
  return error instanceof StoreError && (kind === undefined || error.kind === kind)
}

export interface ListOptions {
  /**
   * Only keys after this one (a listing resumed after a failure: the keys up
   * to it were handed out already). A backend may use it to skip what comes
   * before; withStoreRetry skips those keys itself either way.
   */
  after?: string
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
  readonly capabilities: StoreCapabilities
  /**
   * Resolves when the store can take reads and writes; otherwise throws a
   * StoreError (or ToolkitError) that says why (Vault: unreachable, not
   * initialized, sealed, standby), before any key is touched.
   */
  ready(): Promise<void>
  /** Every secret key under `prefix` ('' for all), depth-first, sorted (in JavaScript string order). */
  list(prefix?: string, options?: ListOptions): AsyncIterable<string>
  /** The current version's data, or undefined when the key is absent, soft-deleted or destroyed. */
  read(key: string): Promise<SecretRecord | undefined>
  /** Writes a new version and returns its number. A failed check-and-set throws a StoreError of kind `Conflict`. */
  write(key: string, data: SecretData, options?: WriteOptions): Promise<number>
  readMetadata(key: string): Promise<SecretMetadata | undefined>
  writeMetadata(key: string, update: MetadataUpdate): Promise<void>
  /** Removes the key and all its versions. */
  delete(key: string): Promise<void>
  /** Soft-deletes one version (KV v2 `delete/`): it stays in the history and can be undeleted. Only with the `softDelete` capability. */
  softDelete(key: string, version: number): Promise<void>
  close(): Promise<void>
}
