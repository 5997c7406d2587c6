import {isToolkitError} from '../errors/errors.js'
import type {SecretStore} from '../vault/secret-store.js'
import type {VaultHttp} from '../vault/vault-http.js'
import {VaultKvStore} from '../vault/vault-kv-store.js'

export interface KeyCounts {
  /** KV v2 mount → number of keys (soft-deleted ones included: their metadata is still there). */
  mounts: Record<string, number>
  /** What could not be counted, and why: the counts are then partial, never silently. */
  notes: string[]
}

export async function countStoreKeys(store: SecretStore): Promise<number> {
  let count = 0
  for await (const _ of store.list('')) count += 1
  return count
}

/** The KV v2 mounts the token can see (sys/mounts needs a policy many tokens lack: undefined then). */
async function kvV2Mounts(http: VaultHttp): Promise<string[] | undefined> {
  try {
    const {body} = await http.request<Record<string, any>>('GET', 'sys/mounts', {retry: false})
    const table: Record<string, any> = body?.data ?? body ?? {}
    return Object.entries(table)
      .filter(([, mount]) => mount?.type === 'kv' && String(mount?.options?.version ?? '1') === '2')
      .map(([path]) => path.replace(/\/$/, ''))
      .sort()
  } catch (error) {
    if (isToolkitError(error) && error.code === 'PERMISSION_DENIED') return undefined
    throw error
  }
}

/**
 * Keys per KV v2 mount, counted through the SecretStore interface. A mount
 * the token may not list is named in `notes` rather than failing the
 * snapshot: the counts are a check, the snapshot is the point.
 */
export async function countKeysPerMount(http: VaultHttp, configuredMount: string): Promise<KeyCounts> {
  const notes: string[] = []
  let mounts = await kvV2Mounts(http)
  if (mounts === undefined) {
    notes.push(`the token may not read sys/mounts: counted the configured mount ${configuredMount} only`)
    mounts = [configuredMount]
  }
  const counts: Record<string, number> = {}
  for (const mount of mounts) {
    try {
      // Shares the region's connection: closing it is the caller's business.
      counts[mount] = await countStoreKeys(new VaultKvStore(http, mount))
    } catch (error) {
      if (isToolkitError(error) && error.code === 'PERMISSION_DENIED') notes.push(`mount ${mount}: the token may not list it`)
      else throw error
    }
  }
  return {mounts: counts, notes}
}

export interface CountComparison {
  mount: string
  expected: number
  actual?: number
}

/** Mounts whose count differs from the expected one (a mount that could not be counted differs too). */
export function compareKeyCounts(expected: Record<string, number>, actual: Record<string, number>): CountComparison[] {
  return Object.entries(expected)
    .filter(([mount, count]) => actual[mount] !== count)
    .map(([mount, count]) => ({mount, expected: count, actual: actual[mount]}))
}
