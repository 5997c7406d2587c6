// An in-memory SecretStore with KV v2 semantics (versions, soft delete,
// destroy, check-and-set, metadata), for unit tests of every domain that
// reads or writes a store (comparison, planner, repair, dr's surveys). It is
// also the proof that the interface does not need Vault: nothing here speaks
// HTTP. Not a stand-in for Vault in integration tests.
import {SecretValue} from '../../src/lib/secret/secret-value.js'
import {
  type MetadataUpdate,
  type SecretData,
  type SecretMetadata,
  type SecretRecord,
  type SecretStore,
  type StoreCapabilities,
  StoreError,
  type WriteOptions,
} from '../../src/lib/vault/secret-store.js'

interface Version {
  data: Map<string, Buffer>
  deleted: boolean
  destroyed: boolean
  createdTime: string
  /** Set by a soft delete, as KV v2's deletion_time. */
  deletionTime?: string
}

/** A clock that only moves forward: each version gets a distinct created time, as Vault's nanosecond times are. */
let tick = Date.UTC(2026, 0, 1)
const nextTime = () => new Date(tick++).toISOString()

interface Entry {
  versions: Version[]
  maxVersions: number
  casRequired: boolean
  deleteVersionAfter: string
  customMetadata: Record<string, string>
}

export class MemoryStore implements SecretStore {
  readonly capabilities: StoreCapabilities = {versions: true, checkAndSet: true, metadata: true, softDelete: true}
  readonly entries = new Map<string, Entry>()
  /** Every call, for assertions about what was touched. */
  readonly calls: {method: string; key: string}[] = []
  /** Makes a call fail: return an error to throw, or undefined to proceed. */
  failWith?: (method: string, key: string) => Error | undefined
  /** Runs before a write lands: lets a test play a concurrent writer. */
  beforeWrite?: (key: string) => void
  /** Runs before a metadata read answers: lets a test act between two steps of a repair. */
  beforeReadMetadata?: (key: string) => void

  constructor(readonly name: string) {}

  /** Seeds a key directly (not recorded as a call). */
  put(key: string, data: Record<string, string>, meta: Partial<Omit<Entry, 'versions'>> = {}): this {
    const entry = this.entries.get(key) ?? {versions: [], maxVersions: 0, casRequired: false, deleteVersionAfter: '0s', customMetadata: {}}
    entry.versions.push({data: new Map(Object.entries(data).map(([k, v]) => [k, Buffer.from(v)])), deleted: false, destroyed: false, createdTime: nextTime()})
    Object.assign(entry, meta)
    this.entries.set(key, entry)
    return this
  }

  version(key: string): number {
    return this.entries.get(key)?.versions.length ?? 0
  }

  valueOf(key: string, property: string): string | undefined {
    const entry = this.entries.get(key)
    const current = entry?.versions.at(-1)
    if (!current || current.deleted || current.destroyed) return undefined
    return current.data.get(property)?.toString()
  }

  #check(method: string, key: string): void {
    this.calls.push({method, key})
    const error = this.failWith?.(method, key)
    if (error) throw error
  }

  /** Ready unless `failWith('ready', '')` says otherwise. */
  async ready(): Promise<void> {
    this.#check('ready', '')
  }

  async *list(prefix = ''): AsyncIterable<string> {
    this.#check('list', prefix)
    const keys = [...this.entries.keys()].sort()
    for (const key of keys) {
      if (prefix === '' || key === prefix.replace(/\/$/, '') || key.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`)) yield key
    }
  }

  async read(key: string): Promise<SecretRecord | undefined> {
    this.#check('read', key)
    const entry = this.entries.get(key)
    const current = entry?.versions.at(-1)
    if (!entry || !current || current.deleted || current.destroyed) return undefined
    const data: SecretData = new Map([...current.data].map(([property, bytes]) => [property, SecretValue.fromBytes(bytes)]))
    return {key, data, version: entry.versions.length}
  }

  async write(key: string, data: SecretData, options: WriteOptions = {}): Promise<number> {
    this.#check('write', key)
    this.beforeWrite?.(key)
    const entry = this.entries.get(key)
    const current = entry?.versions.length ?? 0
    if ((options.cas !== undefined || entry?.casRequired) && options.cas !== current) {
      throw new StoreError('Conflict', 'CAS_MISMATCH', `region ${this.name}: ${key}: check-and-set parameter did not match the current version`)
    }
    const bytes = new Map([...data].map(([property, value]) => [property, value.revealBytes()]))
    const target = entry ?? {versions: [], maxVersions: 0, casRequired: false, deleteVersionAfter: '0s', customMetadata: {}}
    target.versions.push({data: bytes, deleted: false, destroyed: false, createdTime: nextTime()})
    this.entries.set(key, target)
    return target.versions.length
  }

  async readMetadata(key: string): Promise<SecretMetadata | undefined> {
    this.#check('readMetadata', key)
    this.beforeReadMetadata?.(key)
    const entry = this.entries.get(key)
    if (!entry) return undefined
    const current = entry.versions.at(-1)
    return {
      currentVersion: entry.versions.length,
      maxVersions: entry.maxVersions,
      casRequired: entry.casRequired,
      deleteVersionAfter: entry.deleteVersionAfter,
      customMetadata: {...entry.customMetadata},
      updatedTime: current?.createdTime,
      current: {version: entry.versions.length, createdTime: current?.createdTime, deleted: current?.deleted ?? false, destroyed: current?.destroyed ?? false, deletionTime: current?.deletionTime ?? ''},
      versions: Object.fromEntries(
        entry.versions.map((version, index) => [index + 1, {version: index + 1, createdTime: version.createdTime, deleted: version.deleted, destroyed: version.destroyed, deletionTime: version.deletionTime ?? ''}]),
      ),
    }
  }

  async writeMetadata(key: string, update: MetadataUpdate): Promise<void> {
    this.#check('writeMetadata', key)
    const entry = this.entries.get(key) ?? {versions: [], maxVersions: 0, casRequired: false, deleteVersionAfter: '0s', customMetadata: {}}
    if (update.maxVersions !== undefined) entry.maxVersions = update.maxVersions
    if (update.casRequired !== undefined) entry.casRequired = update.casRequired
    if (update.deleteVersionAfter !== undefined) entry.deleteVersionAfter = update.deleteVersionAfter
    if (update.customMetadata !== undefined) entry.customMetadata = {...update.customMetadata}
    this.entries.set(key, entry)
  }

  async delete(key: string): Promise<void> {
    this.#check('delete', key)
    this.entries.delete(key)
  }

  async softDelete(key: string, version: number): Promise<void> {
    this.#check('softDelete', key)
    const target = this.entries.get(key)?.versions[version - 1]
    if (target) Object.assign(target, {deleted: true, deletionTime: nextTime()})
  }

  /** Test helpers for states the interface does not create. */
  destroyCurrent(key: string): void {
    this.entries.get(key)!.versions.at(-1)!.destroyed = true
  }

  softDeleteCurrent(key: string): void {
    Object.assign(this.entries.get(key)!.versions.at(-1)!, {deleted: true, deletionTime: nextTime()})
  }

  async close(): Promise<void> {}

  /** Keys changed by calls (write, writeMetadata, delete, softDelete). */
  touched(): string[] {
    return [...new Set(this.calls.filter((call) => ['write', 'writeMetadata', 'delete', 'softDelete'].includes(call.method)).map((call) => call.key))].sort()
  }
}
