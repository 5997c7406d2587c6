import type NodeVault from 'node-vault'

import {SecretValue} from '../secret/secret-value.js'
import {type ListOptions, type MetadataUpdate, type SecretData, type SecretMetadata, type SecretRecord, type SecretStore, type SecretVersionState, type StoreCapabilities, type WriteOptions} from './secret-store.js'
import type {AttemptLimits, HttpAnswer, VaultHttp} from './vault-http.js'
import {VaultSys} from './vault-sys.js'

/** KV v2 has it all: numbered versions, check-and-set, per-key settings, soft delete. */
const KV_V2: StoreCapabilities = Object.freeze({versions: true, checkAndSet: true, metadata: true, softDelete: true})

/** Encodes each segment of a slash-separated key (spaces, unicode, '#', '?'). */
export function encodeKeyPath(key: string): string {
  return key
    .split('/')
    .map((segment) => encodeURIComponent(segment))
    .join('/')
}

function toSecretData(raw: Record<string, unknown> | null | undefined): SecretData {
  const data: SecretData = new Map()
  for (const [property, value] of Object.entries(raw ?? {})) {
    // KV v2 may hold JSON values; ESO and this toolkit write strings. A
    // non-string compares by its JSON text.
    data.set(property, SecretValue.fromString(typeof value === 'string' ? value : JSON.stringify(value)))
  }
  return data
}

/**
 * A Vault (or OpenBao) KV v2 mount as a SecretStore, on node-vault. node-vault
 * logs request bodies through `debug` and its errors carry the request, so it
 * gets a silent logger and its errors never leave this class unwrapped.
 */
export class VaultKvStore implements SecretStore {
  readonly name: string
  readonly mount: string
  readonly capabilities = KV_V2
  readonly #http: VaultHttp
  #client: Promise<NodeVault.client> | undefined

  constructor(http: VaultHttp, mount: string) {
    this.name = http.region
    this.mount = mount.replace(/^\/|\/$/g, '')
    this.#http = http
  }

  /** node-vault (and axios under it) is loaded on the first write: read-only commands (dr, verify) start faster and smaller without it. */
  #nodeVault(): Promise<NodeVault.client> {
    this.#client ??= import('node-vault').then(({default: create}) => {
      const agentKey = this.#http.address.protocol === 'https:' ? 'httpsAgent' : 'httpAgent'
      return create({
        endpoint: this.#http.address.toString().replace(/\/$/, ''),
        namespace: this.#http.namespace || undefined,
        noCustomHTTPVerbs: true,
        debug: () => {},
        requestOptions: {[agentKey]: this.#http.agent, timeout: this.#http.timeoutMs},
      } as NodeVault.VaultOptions)
    })
    return this.#client
  }

  /** Reachable, initialized, unsealed and the active node (a standby would forward or refuse writes). */
  async ready(): Promise<void> {
    await new VaultSys(this.#http).requireActive()
  }

  async *list(prefix = '', options: ListOptions = {}): AsyncIterable<string> {
    const normalized = prefix.replace(/^\/+/, '')
    const {after} = options
    // A prefix may name a secret itself as well as a folder.
    if (normalized !== '' && !normalized.endsWith('/')) {
      if ((after === undefined || normalized > after) && (await this.readMetadata(normalized)) !== undefined) yield normalized
      yield* this.#walk(`${normalized}/`, after)
      return
    }
    yield* this.#walk(normalized, after)
  }

  /** Depth-first, each folder sorted: keys come in string order. A resumed walk skips the folders wholly before `after`. */
  async *#walk(folder: string, after: string | undefined): AsyncIterable<string> {
    const body = await this.#get<{data: {keys: string[]}}>(`${this.mount}/metadata/${encodeKeyPath(folder)}?list=true`, isListing)
    const keys = [...(body?.data.keys ?? [])].sort()
    for (const entry of keys) {
      const path = `${folder}${entry}`
      if (entry.endsWith('/')) {
        if (after === undefined || path > after || after.startsWith(path)) yield* this.#walk(path, after)
      } else if (after === undefined || path > after) yield path
    }
  }

  async read(key: string): Promise<SecretRecord | undefined> {
    const body = await this.#get<{data: {data: Record<string, unknown> | null; metadata: {version: number}}}>(`${this.mount}/data/${encodeKeyPath(key)}`, isSecretRead)
    if (!body?.data.data) return undefined
    return {key, data: toSecretData(body.data.data), version: body.data.metadata.version}
  }

  /**
   * A write, with check-and-set when `options.cas` is given. A CAS mismatch
   * is a Conflict, never retried. A write whose answer was lost but which
   * landed (its retry then meets a Conflict) is recognised by withStoreRetry.
   */
  async write(key: string, data: SecretData, options: WriteOptions = {}): Promise<number> {
    const path = `${this.mount}/data/${encodeKeyPath(key)}`
    const payload: {data: Record<string, string>; options?: {cas: number}} = {data: {}}
    for (const [property, value] of data) payload.data[property] = value.revealString()
    if (options.cas !== undefined) payload.options = {cas: options.cas}
    try {
      const body = await this.#call<{data: {version: number}}>('POST', path, (client, limits) => client.write(path, payload, {timeout: limits.timeoutMs}), {
        casSensitive: options.cas !== undefined,
        expect: isWriteAnswer,
      })
      return body?.data.version ?? 0
    } finally {
      for (const property of Object.keys(payload.data)) payload.data[property] = ''
    }
  }

  async readMetadata(key: string): Promise<SecretMetadata | undefined> {
    const body = await this.#get<{data: RawMetadata}>(`${this.mount}/metadata/${encodeKeyPath(key)}`, isMetadata)
    if (!body) return undefined
    const raw = body.data
    const currentVersion = raw.current_version ?? 0
    const versions: Record<number, SecretVersionState> = {}
    for (const [number, state] of Object.entries(raw.versions ?? {})) versions[Number(number)] = versionState(Number(number), state)
    return {
      currentVersion,
      maxVersions: raw.max_versions ?? 0,
      casRequired: raw.cas_required ?? false,
      deleteVersionAfter: raw.delete_version_after ?? '0s',
      customMetadata: raw.custom_metadata ?? {},
      updatedTime: raw.updated_time,
      current: versions[currentVersion] ?? {version: currentVersion, deleted: false, destroyed: false},
      versions,
    }
  }

  async writeMetadata(key: string, update: MetadataUpdate): Promise<void> {
    const path = `${this.mount}/metadata/${encodeKeyPath(key)}`
    const payload: Record<string, unknown> = {}
    if (update.maxVersions !== undefined) payload.max_versions = update.maxVersions
    if (update.casRequired !== undefined) payload.cas_required = update.casRequired
    if (update.deleteVersionAfter !== undefined) payload.delete_version_after = update.deleteVersionAfter
    if (update.customMetadata !== undefined) payload.custom_metadata = update.customMetadata
    await this.#call('POST', path, (client, limits) => client.write(path, payload, {timeout: limits.timeoutMs}), {expect: isEmptyAnswer})
  }

  async delete(key: string): Promise<void> {
    const path = `${this.mount}/metadata/${encodeKeyPath(key)}`
    await this.#call('DELETE', path, (client, limits) => client.delete(path, {timeout: limits.timeoutMs}), {expect: isEmptyAnswer})
  }

  async softDelete(key: string, version: number): Promise<void> {
    const path = `${this.mount}/delete/${encodeKeyPath(key)}`
    await this.#call('POST', path, (client, limits) => client.write(path, {versions: [version]}, {timeout: limits.timeoutMs}), {expect: isEmptyAnswer})
  }

  /**
   * KV v2 destroy: the versions' data is gone for good. Not part of
   * SecretStore (no backend-neutral meaning); tests use it to plant that state.
   */
  async destroyVersions(key: string, versions: number[]): Promise<void> {
    const path = `${this.mount}/destroy/${encodeKeyPath(key)}`
    await this.#call('POST', path, (client, limits) => client.write(path, {versions}, {timeout: limits.timeoutMs}), {expect: isEmptyAnswer})
  }

  async close(): Promise<void> {
    this.#http.close()
  }

  /**
   * Reads (LIST, data and metadata GETs) go through VaultHttp, not node-vault:
   * same keep-alive agent, concurrency limit and timeout, but
   * without axios' per-request cost, which dominated whole-tree walks
   * (`verify regions` reads every key twice per region). 404 is an answer
   * (when it is Vault's JSON); a 200 must have the shape the endpoint
   * promises, or it is a (retryable) error — never "absent" or "empty".
   * Not retried here: withStoreRetry retries the store's calls (connect.ts).
   */
  async #get<T>(path: string, expect: (body: unknown) => boolean): Promise<T | undefined> {
    const response = await this.#http.request<T>('GET', path, {accept: [404], expect, retry: false})
    return response.status === 404 ? undefined : response.body
  }

  /**
   * Runs one node-vault call through the region's VaultHttp.run: the same
   * concurrency limit, timeout, deadline and error conversion as every other
   * request; retried, like the reads, by withStoreRetry. 404 is an answer
   * (undefined), not an error.
   */
  async #call<T>(
    method: string,
    path: string,
    send: (client: NodeVault.client, limits: AttemptLimits) => Promise<unknown>,
    options: {casSensitive?: boolean; expect?: (body: unknown) => boolean} = {},
  ): Promise<T | undefined> {
    const client = await this.#nodeVault()
    // The token may have changed since the last call (login, renewal).
    client.token = this.#http.token?.revealString() ?? ''
    return this.#http.run(method, path, async (limits) => {
      let body: unknown
      try {
        body = await send(client, limits)
      } catch (error) {
        const response = (error as {response?: {statusCode?: number; body?: unknown}}).response
        const failure =
          response?.statusCode === undefined
            ? this.#http.transportError(method, path, error, limits)
            : // Vault's 404 (its JSON error object) is an answer: absent.
              this.#http.judgeAnswer(method, path, nodeVaultAnswer(response.statusCode, response.body), {accept: [404], casSensitive: options.casSensitive})
        if (failure === undefined) return undefined
        throw failure
      }
      // node-vault does not say 200 from 204: an empty body is judged as the empty answer of a write.
      const problem = this.#http.judgeAnswer(method, path, nodeVaultAnswer(200, body), {expect: options.expect})
      if (problem) throw problem
      return body as T
    }, {retry: false})
  }
}

/** node-vault's answer (axios parsed JSON bodies into objects; anything else stays text) as the Vault backend judges answers. */
function nodeVaultAnswer(status: number, body: unknown): HttpAnswer {
  if (body === undefined || body === null || body === '') return {status, json: undefined, bytes: 0}
  if (typeof body === 'string') return {status, json: undefined, bytes: Buffer.byteLength(body)}
  return {status, json: body, bytes: Buffer.byteLength(JSON.stringify(body))}
}

function versionState(version: number, raw: {created_time?: string; deletion_time?: string; destroyed?: boolean}): SecretVersionState {
  const deletionTime = raw.deletion_time ?? ''
  return {
    version,
    createdTime: raw.created_time,
    deleted: deletionTime !== '' && new Date(deletionTime).getTime() <= Date.now(),
    destroyed: raw.destroyed ?? false,
    deletionTime,
  }
}

const isObject = (value: unknown): value is Record<string, any> => typeof value === 'object' && value !== null && !Array.isArray(value)

/** LIST answers `{data: {keys: [...]}}`: anything else is not a folder listing, empty or not. */
function isListing(body: unknown): boolean {
  return isObject(body) && isObject(body.data) && Array.isArray(body.data.keys) && body.data.keys.every((key: unknown) => typeof key === 'string')
}

/** A KV v2 read answers `{data: {data: {...} | null, metadata: {version: N}}}`. */
function isSecretRead(body: unknown): boolean {
  return isObject(body) && isObject(body.data) && (body.data.data === null || isObject(body.data.data)) && isObject(body.data.metadata) && typeof body.data.metadata.version === 'number'
}

/** A KV v2 metadata read answers `{data: {current_version: N, versions: {...}}}`. */
function isMetadata(body: unknown): boolean {
  return isObject(body) && isObject(body.data) && typeof body.data.current_version === 'number' && isObject(body.data.versions)
}

/** A KV v2 write answers `{data: {version: N, ...}}`. */
function isWriteAnswer(body: unknown): boolean {
  return isObject(body) && isObject(body.data) && typeof body.data.version === 'number'
}

/** Metadata writes and deletes answer 204 without a body (or, from some servers, a JSON object). */
function isEmptyAnswer(body: unknown): boolean {
  return body === undefined || body === null || body === '' || isObject(body)
}

interface RawMetadata {
  current_version?: number
  max_versions?: number
  cas_required?: boolean
  delete_version_after?: string
  custom_metadata?: Record<string, string> | null
  updated_time?: string
  versions?: Record<string, {created_time?: string; deletion_time?: string; destroyed?: boolean}>
}
