import type {Readable} from 'node:stream'

import {ExitCode, ToolkitError} from '../errors/errors.js'
import {SecretValue} from '../secret/secret-value.js'
import {StoreRequestError} from './errors.js'
import {isStoreError} from './secret-store.js'
import type {VaultHttp} from './vault-http.js'
import {autopilotState, leaderInfo, tokenInfo, type AutopilotInfo, type LeaderInfo, type TokenInfo} from './status-reads.js'

export interface VaultHealth {
  initialized: boolean
  sealed: boolean
  standby: boolean
  version: string
  clusterName?: string
  clusterId?: string
}

export interface RaftIndexes {
  leaderAddress?: string
  isSelf: boolean
  raftCommittedIndex?: number
  raftAppliedIndex?: number
}

/**
 * What only a Vault (or OpenBao) server has beyond its SecretStore: server
 * status, Raft snapshots, the token's own capabilities. dr and the region
 * checks use it as `admin` next to the store; another backend has none, and
 * the store interface does not depend on it.
 */
export interface VaultAdmin {
  readonly region: string
  health(): Promise<VaultHealth>
  /** Fails with a clear message unless the server is reachable, initialized, unsealed and active. */
  requireActive(): Promise<VaultHealth>
  sealType(): Promise<string | undefined>
  leader(): Promise<RaftIndexes>
  /** The KV v2 mounts the token can see; undefined when it may not read sys/mounts. */
  kvV2Mounts(): Promise<string[] | undefined>
  /** The token's capabilities on each path (sys/capabilities-self). */
  capabilitiesSelf(paths: string[]): Promise<Record<string, string[]>>
  /** Looks the token up (auth/token/lookup-self): throws when it is no longer valid. */
  lookupSelf(options?: {timeoutMs?: number}): Promise<void>
  /**
   * True once a request through the request handler gets any HTTP answer
   * (200, 403, 503 …): the handler is no longer held by a restore's lock.
   */
  handlerAnswers(timeoutMs: number): Promise<boolean>
  snapshotStream(): Promise<Readable>
  restoreStream(body: Readable, options: {force: boolean; contentLength?: number}): Promise<void>
  /** sys/init: the unseal keys and root token, once (bootstrap --init-vault). */
  init(keyShares: number, keyThreshold: number): Promise<{keys: SecretValue[]; rootToken: SecretValue}>
  unseal(key: SecretValue): Promise<{sealed: boolean; progress: number; threshold: number}>
  /** sys/leader as `status` reports it: HA, the leader's address, the Raft indexes. */
  leaderInfo(): Promise<LeaderInfo>
  /** The token's own lease (lookup-self): its TTL, never its id. */
  tokenInfo(): Promise<TokenInfo>
  /** Raft autopilot's verdict; undefined when the token may not read it or the storage is not Raft. */
  autopilotState(): Promise<AutopilotInfo | undefined>
}

/** Server status and Raft snapshot streams: the parts node-vault does not cover or buffers. */
export class VaultSys implements VaultAdmin {
  constructor(readonly http: VaultHttp) {}

  leaderInfo(): Promise<LeaderInfo> {
    return leaderInfo(this.http)
  }

  tokenInfo(): Promise<TokenInfo> {
    return tokenInfo(this.http)
  }

  autopilotState(): Promise<AutopilotInfo | undefined> {
    return autopilotState(this.http)
  }

  get region(): string {
    return this.http.region
  }

  /** sys/health answers with its status code (429 standby, 501 uninitialized, 503 sealed): all are answers. */
  async health(): Promise<VaultHealth> {
    const {body} = await this.http.request<Record<string, any>>('GET', 'sys/health', {accept: [429, 472, 473, 501, 503], retry: false})
    return {
      initialized: Boolean(body?.initialized),
      sealed: Boolean(body?.sealed),
      standby: Boolean(body?.standby),
      version: String(body?.version ?? 'unknown'),
      clusterName: body?.cluster_name,
      clusterId: body?.cluster_id,
    }
  }

  async sealType(): Promise<string | undefined> {
    const {body} = await this.http.request<Record<string, any>>('GET', 'sys/seal-status', {retry: false})
    return body?.type
  }

  async leader(): Promise<RaftIndexes> {
    const {body} = await this.http.request<Record<string, any>>('GET', 'sys/leader')
    return {
      leaderAddress: body?.leader_address,
      isSelf: Boolean(body?.is_self),
      raftCommittedIndex: body?.raft_committed_index,
      raftAppliedIndex: body?.raft_applied_index,
    }
  }

  async kvV2Mounts(): Promise<string[] | undefined> {
    try {
      const {body} = await this.http.request<Record<string, any>>('GET', 'sys/mounts', {retry: false})
      const table: Record<string, any> = body?.data ?? body ?? {}
      return Object.entries(table)
        .filter(([, mount]) => mount?.type === 'kv' && String(mount?.options?.version ?? '1') === '2')
        .map(([path]) => path.replace(/\/$/, ''))
        .sort()
    } catch (error) {
      if (isStoreError(error, 'Denied')) return undefined
      throw error
    }
  }

  async capabilitiesSelf(paths: string[]): Promise<Record<string, string[]>> {
    const {body} = await this.http.request<Record<string, any>>('POST', 'sys/capabilities-self', {body: {paths}, retry: false})
    return Object.fromEntries(paths.map((path) => [path, (body?.data?.[path] ?? body?.[path] ?? []) as string[]]))
  }

  async lookupSelf(options: {timeoutMs?: number} = {}): Promise<void> {
    await this.http.request('GET', 'auth/token/lookup-self', {retry: false, timeoutMs: options.timeoutMs})
  }

  async handlerAnswers(timeoutMs: number): Promise<boolean> {
    try {
      await this.lookupSelf({timeoutMs})
      return true
    } catch (error) {
      return error instanceof StoreRequestError && error.status !== undefined
    }
  }

  /**
   * Fails with a clear message unless the server can take reads and writes:
   * reachable, initialized, unsealed and active.
   */
  async requireActive(): Promise<VaultHealth> {
    const health = await this.health()
    const where = `region ${this.region} (${this.http.address.origin})`
    if (!health.initialized) {
      throw new ToolkitError('NOT_INITIALIZED', `${where} is not initialized`, {hint: 'Initialize it first (`secrets bootstrap --init-vault` or `vault operator init`).', exitCode: ExitCode.Error})
    }
    if (health.sealed) {
      throw new ToolkitError('SEALED', `${where} is sealed`, {hint: 'Unseal it (`vault operator unseal`) and re-run.', exitCode: ExitCode.Error})
    }
    if (health.standby) {
      throw new ToolkitError('STANDBY', `${where} is a standby node`, {hint: 'Point the region address at the active node (or the load balancer in front of it).'})
    }
    return health
  }

  async init(keyShares: number, keyThreshold: number): Promise<{keys: SecretValue[]; rootToken: SecretValue}> {
    const {body} = await this.http.request<{keys_base64?: string[]; keys?: string[]; root_token?: string}>('POST', 'sys/init', {
      body: {secret_shares: keyShares, secret_threshold: keyThreshold},
      retry: false,
    })
    return {
      keys: (body.keys ?? []).map((key) => SecretValue.fromString(key)),
      rootToken: SecretValue.fromString(body.root_token ?? ''),
    }
  }

  async unseal(key: SecretValue): Promise<{sealed: boolean; progress: number; threshold: number}> {
    const {body} = await this.http.request<{sealed: boolean; progress: number; t: number}>('POST', 'sys/unseal', {body: {key: key.revealString()}, retry: false})
    return {sealed: body.sealed, progress: body.progress, threshold: body.t}
  }

  /** The Raft snapshot as a stream (GET sys/storage/raft/snapshot). */
  snapshotStream(): Promise<Readable> {
    return this.http.download('sys/storage/raft/snapshot')
  }

  /** Restores a Raft snapshot from a stream; `force` skips the cluster-identity check (snapshot-force). */
  async restoreStream(body: Readable, options: {force: boolean; contentLength?: number}): Promise<void> {
    const path = options.force ? 'sys/storage/raft/snapshot-force' : 'sys/storage/raft/snapshot'
    await this.http.upload(path, body, {contentLength: options.contentLength})
  }
}
