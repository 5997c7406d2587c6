import type NodeVault from 'node-vault'

import {SecretValue} from '../secret/secret-value.js'
import {StoreRequestError, safeDetail} from './errors.js'
import {isRetryable, withRetry} from './retry.js'
import type {MetadataUpdate, SecretData, SecretMetadata, SecretRecord, SecretStore, WriteOptions} from './secret-store.js'
import type {VaultHttp} from './vault-http.js'

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

  async *list(prefix = ''): AsyncIterable<string> {
    const normalized = prefix.replace(/^\/+/, '')
    // A prefix may name a secret itself as well as a folder.
    if (normalized !== '' && !normalized.endsWith('/')) {
      if ((await this.readMetadata(normalized)) !== undefined) yield normalized
      yield* this.#walk(`${normalized}/`)
      return
    }
    yield* this.#walk(normalized)
  }

  async *#walk(folder: string): AsyncIterable<string> {
    const body = await this.#get<{data?: {keys?: string[]}}>(`${this.mount}/metadata/${encodeKeyPath(folder)}?list=true`)
    const keys = [...(body?.data?.keys ?? [])].sort()
    for (const entry of keys) {
      if (entry.endsWith('/')) yield* this.#walk(`${folder}${entry}`)
      else yield `${folder}${entry}`
    }
  }

  async read(key: string): Promise<SecretRecord | undefined> {
    const body = await this.#get<{data?: {data?: Record<string, unknown> | null; metadata?: {version?: number}}}>(`${this.mount}/data/${encodeKeyPath(key)}`)
    if (!body?.data?.data) return undefined
    return {key, data: toSecretData(body.data.data), version: body.data.metadata?.version ?? 0}
  }

  async write(key: string, data: SecretData, options: WriteOptions = {}): Promise<number> {
    const path = `${this.mount}/data/${encodeKeyPath(key)}`
    const payload: {data: Record<string, string>; options?: {cas: number}} = {data: {}}
    for (const [property, value] of data) payload.data[property] = value.revealString()
    if (options.cas !== undefined) payload.options = {cas: options.cas}
    const body = await this.#call<{data?: {version?: number}}>('POST', path, (client) => client.write(path, payload), {
      // A CAS mismatch is final: retrying it would only race the other writer again.
      casSensitive: options.cas !== undefined,
    })
    return body?.data?.version ?? 0
  }

  async readMetadata(key: string): Promise<SecretMetadata | undefined> {
    const body = await this.#get<{data?: RawMetadata}>(`${this.mount}/metadata/${encodeKeyPath(key)}`)
    if (!body?.data) return undefined
    const raw = body.data
    const currentVersion = raw.current_version ?? 0
    const version = raw.versions?.[String(currentVersion)]
    const deletionTime = version?.deletion_time ?? ''
    return {
      currentVersion,
      maxVersions: raw.max_versions ?? 0,
      casRequired: raw.cas_required ?? false,
      deleteVersionAfter: raw.delete_version_after ?? '0s',
      customMetadata: raw.custom_metadata ?? {},
      current: {
        version: currentVersion,
        createdTime: version?.created_time,
        deleted: deletionTime !== '' && new Date(deletionTime).getTime() <= Date.now(),
        destroyed: version?.destroyed ?? false,
      },
    }
  }

  async writeMetadata(key: string, update: MetadataUpdate): Promise<void> {
    const path = `${this.mount}/metadata/${encodeKeyPath(key)}`
    const payload: Record<string, unknown> = {}
    if (update.maxVersions !== undefined) payload.max_versions = update.maxVersions
    if (update.casRequired !== undefined) payload.cas_required = update.casRequired
    if (update.deleteVersionAfter !== undefined) payload.delete_version_after = update.deleteVersionAfter
    if (update.customMetadata !== undefined) payload.custom_metadata = update.customMetadata
    await this.#call('POST', path, (client) => client.write(path, payload))
  }

  async delete(key: string): Promise<void> {
    const path = `${this.mount}/metadata/${encodeKeyPath(key)}`
    await this.#call('DELETE', path, (client) => client.delete(path))
  }

  async softDelete(key: string, version: number): Promise<void> {
    const path = `${this.mount}/delete/${encodeKeyPath(key)}`
    await this.#call('POST', path, (client) => client.write(path, {versions: [version]}))
  }

  async close(): Promise<void> {
    this.#http.close()
  }


  /**
   * Reads (LIST, data and metadata GETs) go through VaultHttp, not node-vault:
   * same keep-alive agent, concurrency limit, timeout and retry policy, but
   * without axios' per-request cost, which dominated whole-tree walks
   * (`verify regions` reads every key twice per region). 404 is an answer.
   */
  async #get<T>(path: string): Promise<T | undefined> {
    const response = await this.#http.request<T>('GET', path, {accept: [404]})
    return response.status === 404 ? undefined : response.body
  }

  /**
   * Runs one node-vault call under the region's concurrency limit and retry
   * policy. 404 is an answer (undefined), not an error.
   */
  async #call<T>(method: string, path: string, send: (client: NodeVault.client) => Promise<unknown>, options: {casSensitive?: boolean} = {}): Promise<T | undefined> {
    const client = await this.#nodeVault()
    // The token may have changed since the last call (login, renewal).
    client.token = this.#http.token?.revealString() ?? ''
    return this.#http.limit(() =>
      withRetry(
        async () => {
          try {
            return (await send(client)) as T
          } catch (error) {
            const converted = this.#convert(method, path, error, options.casSensitive ?? false)
            if (converted === 'absent') return undefined
            throw converted
          }
        },
        (error) => error instanceof StoreRequestError && error.retryable,
        this.#http.retryPolicy,
      ),
    )
  }

  #convert(method: string, path: string, error: unknown, casSensitive: boolean): StoreRequestError | 'absent' {
    const response = (error as {response?: {statusCode?: number; body?: {errors?: unknown}}}).response
    const status = response?.statusCode
    if (status === 404) return 'absent'
    const detail = safeDetail(response?.body?.errors)
    if (status !== undefined) {
      const cas = casSensitive && status === 400 && /check-and-set/i.test(detail ?? '')
      return new StoreRequestError({region: this.name, method, path, status, detail, networkCode: cas ? 'CAS' : undefined, retryable: isRetryable(status, undefined)})
    }
    const code = (error as {code?: string}).code ?? 'UNKNOWN'
    return new StoreRequestError({region: this.name, method, path, networkCode: code, retryable: isRetryable(undefined, code)})
  }
}

interface RawMetadata {
  current_version?: number
  max_versions?: number
  cas_required?: boolean
  delete_version_after?: string
  custom_metadata?: Record<string, string> | null
  versions?: Record<string, {created_time?: string; deletion_time?: string; destroyed?: boolean}>
}
