import {compareValue, waitForStores, type StoreReader, type WaitOptions} from '../eso/store-check.js'
import type {SecretValue} from '../secret/secret-value.js'
import type {SecretRecord} from '../vault/secret-store.js'

// The wizard's view of "do the Vaults hold these values?": one remote key per
// secret, property = key. The check itself is src/lib/eso/store-check.ts,
// shared with `migrate verify`; this file only shapes its answer for the
// wizard's report.

/** What one region's Vault must hold for one secret. */
export interface VaultExpectation {
  id: string
  remoteKey: string
  values: Map<string, SecretValue>
}

/** The slice of a region the wait needs (a SecretStore fits). */
export type VaultReader = StoreReader

export type VaultState = 'in-sync' | 'missing' | 'differs' | 'error'

export interface VaultCheck {
  region: string
  id: string
  remoteKey: string
  state: VaultState
  /** Keys absent from, or different in, the Vault (names only). */
  keys: string[]
  /** For state "error": the error message (names paths and regions, never values). */
  detail?: string
}

export type {WaitOptions}

/** Pure: does the Vault's secret hold every expected key with the expected value? Extra properties are ignored. */
export function compareRecord(expected: Map<string, SecretValue>, record: SecretRecord | undefined): {state: VaultState; keys: string[]} {
  if (!record) return {state: 'missing', keys: [...expected.keys()]}
  const off = [...expected].filter(([key, value]) => compareValue({key, remoteKey: record.key, property: key, value}, record) !== 'in-sync').map(([key]) => key)
  return off.length === 0 ? {state: 'in-sync', keys: []} : {state: 'differs', keys: off}
}

/**
 * Polls every region until each holds every expected secret, or the timeout
 * passes; answers the last state of each (region, secret). A region that
 * fails to answer is retried until the timeout like a missing secret.
 */
export async function waitForVaults(expectations: VaultExpectation[], readers: VaultReader[], options: WaitOptions): Promise<VaultCheck[]> {
  const byId = new Map(expectations.map((expectation) => [expectation.id, expectation]))
  const checks = await waitForStores(
    expectations.map((expectation) => ({
      id: expectation.id,
      values: [...expectation.values].map(([key, value]) => ({key, remoteKey: expectation.remoteKey, property: key, value})),
    })),
    readers,
    options,
  )
  return checks.map((check): VaultCheck => {
    const {remoteKey} = byId.get(check.id)!
    const base = {region: check.store, id: check.id, remoteKey}
    if (check.error !== undefined) return {...base, state: 'error', keys: [], detail: check.error}
    if (check.inSync) return {...base, state: 'in-sync', keys: []}
    // One remote key per secret: either nothing is there, or some properties are off.
    if (check.properties.every((property) => property.state === 'secret-missing')) return {...base, state: 'missing', keys: check.properties.map((property) => property.key)}
    return {...base, state: 'differs', keys: check.properties.filter((property) => property.state !== 'in-sync').map((property) => property.key)}
  })
}
