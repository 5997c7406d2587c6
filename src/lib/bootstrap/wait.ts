import {checkStoreExact, compareValue, waitForStores, type StaleProperty, type StoreReader, type WaitOptions} from '../eso/store-check.js'
import {isToolkitError} from '../errors/errors.js'
import type {SecretValue} from '../secret/secret-value.js'
import {isStoreError, type SecretRecord, type SecretStore} from '../vault/secret-store.js'

// The wizard's view of "do the Vaults hold these values?": one remote key per
// secret, property = key. The check itself is src/lib/eso/store-check.ts,
// shared with `migrate verify`; this file only shapes its answer for the
// wizard's report, and removes the properties a rotation left behind.

/** What one region's Vault must hold for one secret. */
export interface VaultExpectation {
  id: string
  remoteKey: string
  values: Map<string, SecretValue>
  /** Properties that are not stale although not expected: keys the Secret has beyond the spec. */
  tolerated?: string[]
}

/** The slice of a region the wait needs (a SecretStore fits). */
export type VaultReader = StoreReader

/** differs: a value is off, or the Vault holds a property the Secret no longer has (`stale`). */
export type VaultState = 'in-sync' | 'missing' | 'differs' | 'error'

export interface VaultCheck {
  region: string
  id: string
  remoteKey: string
  state: VaultState
  /** Keys absent from, or different in, the Vault (names only). */
  keys: string[]
  /** Properties the Vault holds at the remote key that the Secret does not have (names only). */
  stale?: string[]
  /** For state "error": the error message (names paths and regions, never values). */
  detail?: string
}

export type {WaitOptions}

/** Pure: does the Vault's secret hold every expected key with the expected value, and nothing else? */
export function compareRecord(expected: Map<string, SecretValue>, record: SecretRecord | undefined): {state: VaultState; keys: string[]; stale: string[]} {
  if (!record) return {state: 'missing', keys: [...expected.keys()], stale: []}
  const off = [...expected].filter(([key, value]) => compareValue({key, remoteKey: record.key, property: key, value}, record) !== 'in-sync').map(([key]) => key)
  const stale = [...record.data.keys()].filter((key) => !expected.has(key)).sort()
  return off.length === 0 && stale.length === 0 ? {state: 'in-sync', keys: [], stale: []} : {state: 'differs', keys: off, stale}
}

function expectationFor(expectation: VaultExpectation) {
  return {
    id: expectation.id,
    // bootstrap's remote key {namespace}/{name} is this Secret's alone: anything else there is stale.
    exclusive: true,
    tolerated: expectation.tolerated,
    values: [...expectation.values].map(([key, value]) => ({key, remoteKey: expectation.remoteKey, property: key, value})),
  }
}

/**
 * Polls every region until each holds every expected secret, or the timeout
 * passes; answers the last state of each (region, secret). A region that
 * fails to answer is retried until the timeout like a missing secret. A
 * stale property does not extend the wait (nothing but a removal takes it
 * away) but makes the pair `differs`.
 */
export async function waitForVaults(expectations: VaultExpectation[], readers: VaultReader[], options: WaitOptions): Promise<VaultCheck[]> {
  const byId = new Map(expectations.map((expectation) => [expectation.id, expectation]))
  const checks = await waitForStores(expectations.map(expectationFor), readers, options)
  return checks.map((check): VaultCheck => {
    const {remoteKey} = byId.get(check.id)!
    const base = {region: check.store, id: check.id, remoteKey}
    if (check.error !== undefined) return {...base, state: 'error', keys: [], detail: check.error}
    if (check.inSync) return {...base, state: 'in-sync', keys: []}
    const stale = check.stale.map((property) => property.property)
    // One remote key per secret: either nothing is there, or some properties are off.
    if (check.properties.every((property) => property.state === 'secret-missing')) return {...base, state: 'missing', keys: check.properties.map((property) => property.key)}
    return {...base, state: 'differs', keys: check.properties.filter((property) => property.state !== 'in-sync').map((property) => property.key), ...(stale.length > 0 ? {stale} : {})}
  })
}

/** What happened to the stale properties of one secret in one region. */
export interface StaleRemoval {
  region: string
  id: string
  remoteKey: string
  removed: string[]
  /** Why they are still there (names only), e.g. the store cannot check-and-set, or it kept changing. */
  failed?: string
}

const REMOVAL_ATTEMPTS = 3

/**
 * Removes the properties a Secret no longer has from one region's secret,
 * with check-and-set: read the current version, write it back without them
 * only if nobody (ESO) wrote in between; on a conflict, read and try again.
 * The values stay in memory; a property the Secret has again is kept.
 */
export async function removeStaleProperties(store: Pick<SecretStore, 'name' | 'read' | 'write' | 'capabilities'>, expectation: VaultExpectation): Promise<StaleRemoval> {
  const base = {region: store.name, id: expectation.id, remoteKey: expectation.remoteKey}
  if (!store.capabilities.checkAndSet) {
    return {...base, removed: [], failed: `the store of ${store.name} cannot check-and-set, so nothing is removed behind ESO's back: remove the stale properties of ${expectation.remoteKey} by hand`}
  }
  for (let attempt = 1; ; attempt++) {
    let record: SecretRecord | undefined
    try {
      record = await store.read(expectation.remoteKey)
      if (!record) return {...base, removed: []}
      const keep = (key: string) => expectation.values.has(key) || (expectation.tolerated ?? []).includes(key)
      const stale: StaleProperty[] = [...record.data.keys()].filter((key) => !keep(key)).map((property) => ({remoteKey: expectation.remoteKey, property}))
      if (stale.length === 0) return {...base, removed: []}
      const kept = new Map([...record.data].filter(([key]) => keep(key)))
      await store.write(expectation.remoteKey, kept, {cas: record.version})
      return {...base, removed: stale.map((property) => property.property).sort()}
    } catch (error) {
      if (isStoreError(error, 'Conflict') && attempt < REMOVAL_ATTEMPTS) continue
      const reason = isStoreError(error, 'Conflict') ? `it changed ${REMOVAL_ATTEMPTS} times while being cleaned` : isToolkitError(error) ? error.message : `unexpected error (${(error as Error)?.name ?? 'unknown'})`
      return {...base, removed: [], failed: reason}
    }
  }
}

/** One read: the state of one secret in one region now (after a removal). */
export async function checkVaultOnce(store: StoreReader, expectation: VaultExpectation): Promise<VaultCheck> {
  const base = {region: store.name, id: expectation.id, remoteKey: expectation.remoteKey}
  try {
    const {properties, stale} = await checkStoreExact(store, expectationFor(expectation))
    const off = properties.filter((property) => property.state !== 'in-sync').map((property) => property.key)
    if (off.length === 0 && stale.length === 0) return {...base, state: 'in-sync', keys: []}
    if (properties.every((property) => property.state === 'secret-missing')) return {...base, state: 'missing', keys: off}
    return {...base, state: 'differs', keys: off, ...(stale.length > 0 ? {stale: stale.map((property) => property.property)} : {})}
  } catch (error) {
    return {...base, state: 'error', keys: [], detail: isToolkitError(error) ? error.message : `unexpected error (${(error as Error)?.name ?? 'unknown'})`}
  }
}
