import {isStoreError} from './secret-store.js'
import type {VaultHttp} from './vault-http.js'

/** The token's own lease (auth/token/lookup-self): never its id or accessor. */
export interface TokenInfo {
  /** Seconds left; 0 with expires=false for a token that never expires (a root token). */
  ttlSeconds: number
  expires: boolean
  renewable: boolean
}

export async function tokenInfo(http: VaultHttp): Promise<TokenInfo> {
  const {body} = await http.request<{data?: {ttl?: number; renewable?: boolean; expire_time?: string | null}}>('GET', 'auth/token/lookup-self', {retry: false})
  const ttl = Number(body.data?.ttl ?? 0)
  return {ttlSeconds: ttl, expires: ttl > 0 || Boolean(body.data?.expire_time), renewable: Boolean(body.data?.renewable)}
}

/** sys/leader as status reports it (unauthenticated on Vault and OpenBao). */
export interface LeaderInfo {
  haEnabled: boolean
  isSelf: boolean
  leaderAddress?: string
  raftAppliedIndex?: number
  raftCommittedIndex?: number
}

export async function leaderInfo(http: VaultHttp): Promise<LeaderInfo> {
  const {body} = await http.request<Record<string, any>>('GET', 'sys/leader', {retry: false})
  return {
    haEnabled: Boolean(body?.ha_enabled),
    isSelf: Boolean(body?.is_self),
    leaderAddress: body?.leader_address || undefined,
    raftAppliedIndex: typeof body?.raft_applied_index === 'number' ? body.raft_applied_index : undefined,
    raftCommittedIndex: typeof body?.raft_committed_index === 'number' ? body.raft_committed_index : undefined,
  }
}

export interface AutopilotInfo {
  healthy: boolean
  failureTolerance?: number
  voters?: number
}

/** Raft autopilot's verdict; undefined when the token may not read it or the storage is not Raft. */
export async function autopilotState(http: VaultHttp): Promise<AutopilotInfo | undefined> {
  try {
    const {status, body} = await http.request<{data?: {healthy?: boolean; failure_tolerance?: number; voters?: string[]}}>('GET', 'sys/storage/raft/autopilot/state', {retry: false, accept: [400, 404]})
    if (status !== 200 || !body?.data) return undefined
    return {healthy: Boolean(body.data.healthy), failureTolerance: body.data.failure_tolerance, voters: body.data.voters?.length}
  } catch (error) {
    if (isStoreError(error, 'Denied') || isStoreError(error, 'NotFound')) return undefined
    throw error
  }
}
