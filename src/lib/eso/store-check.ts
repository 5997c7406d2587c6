// "Do the stores hold these values?" — the question both `migrate verify` and
// the bootstrap wizard ask after ESO was told to push. Answered per secret ×
// store × property, in memory: values are compared with SecretValue.equals
// (constant time) and never leave this module.

import {isToolkitError} from '../errors/errors.js'
import type {SecretValue} from '../secret/secret-value.js'
import type {SecretRecord, SecretStore} from '../vault/secret-store.js'
import {pollUntil} from '../workflow/poll.js'

/** The slice of a store a check needs: any SecretStore fits, whichever backend it is. */
export type StoreReader = Pick<SecretStore, 'name' | 'read'>

/** One value a store must hold: the Secret's key `key`, pushed to `remoteKey` as `property`. */
export interface ExpectedValue {
  key: string
  remoteKey: string
  property: string
  value: SecretValue
}

/** What a store must hold for one Secret. */
export interface StoreExpectation {
  id: string
  values: ExpectedValue[]
  /**
   * The remote keys belong to this Secret alone (bootstrap's `{namespace}/{name}`):
   * a property there that no expected value names is stale — the Secret no
   * longer has it, and ESO never removes it — and is a difference.
   */
  exclusive?: boolean
  /** With `exclusive`: property names that are not stale although not expected (keys the Secret has but does not push). */
  tolerated?: string[]
}

/** A property a store holds at one of the Secret's remote keys that the Secret no longer has. */
export interface StaleProperty {
  remoteKey: string
  property: string
}

/**
 * secret-missing: nothing at the remote key; property-missing: the secret is
 * there without this property; differs: the property holds another value.
 */
export type PropertyState = 'in-sync' | 'secret-missing' | 'property-missing' | 'differs'

export interface PropertyCheck {
  key: string
  remoteKey: string
  state: PropertyState
}

/** One Secret in one store. Names and states only, never values. */
export interface StoreCheck {
  store: string
  id: string
  /** In the order of the expectation's values; empty when `error` is set. */
  properties: PropertyCheck[]
  /** With `exclusive`: properties the store holds that the Secret no longer has (names only). */
  stale: StaleProperty[]
  /** Every property in sync and nothing stale. */
  inSync: boolean
  /** The store did not answer: its error message (names paths and regions, never values). */
  error?: string
}

/** Pure: does `record` (what the store holds at the expected remote key) hold the expected value? Extra properties are ignored. */
export function compareValue(expected: ExpectedValue, record: SecretRecord | undefined): PropertyState {
  if (!record) return 'secret-missing'
  const held = record.data.get(expected.property)
  if (!held) return 'property-missing'
  return held.equals(expected.value) ? 'in-sync' : 'differs'
}

/** Reads each remote key of the expectation once and compares every value. A store error is thrown as the store raised it. */
export async function checkStore(store: StoreReader, expectation: StoreExpectation): Promise<PropertyCheck[]> {
  return (await checkStoreExact(store, expectation)).properties
}

/**
 * Pure: the properties `records` hold (by remote key) that no expected value
 * names at that remote key, minus `alsoPushed` ("remoteKey\u0000property" of
 * other PushSecrets that push there). Sorted; names only.
 */
export function staleProperties(expected: readonly ExpectedValue[], records: ReadonlyMap<string, SecretRecord | undefined>, alsoPushed: ReadonlySet<string> = new Set()): StaleProperty[] {
  const named = new Set(expected.map((value) => `${value.remoteKey}\u0000${value.property}`))
  const stale: StaleProperty[] = []
  for (const [remoteKey, record] of records) {
    for (const property of record?.data.keys() ?? []) {
      const id = `${remoteKey}\u0000${property}`
      if (!named.has(id) && !alsoPushed.has(id)) stale.push({remoteKey, property})
    }
  }
  return stale.sort((a, b) => (a.remoteKey === b.remoteKey ? (a.property < b.property ? -1 : 1) : a.remoteKey < b.remoteKey ? -1 : 1))
}

/** checkStore, and with `exclusive` the stale properties at the same remote keys (one read per remote key either way). */
export async function checkStoreExact(store: StoreReader, expectation: StoreExpectation): Promise<{properties: PropertyCheck[]; stale: StaleProperty[]}> {
  const records = new Map<string, SecretRecord | undefined>()
  const properties: PropertyCheck[] = []
  for (const expected of expectation.values) {
    if (!records.has(expected.remoteKey)) records.set(expected.remoteKey, await store.read(expected.remoteKey))
    properties.push({key: expected.key, remoteKey: expected.remoteKey, state: compareValue(expected, records.get(expected.remoteKey))})
  }
  if (!expectation.exclusive) return {properties, stale: []}
  const tolerated = new Set([...records.keys()].flatMap((remoteKey) => (expectation.tolerated ?? []).map((property) => `${remoteKey}\u0000${property}`)))
  return {properties, stale: staleProperties(expectation.values, records, tolerated)}
}

/** Every expected value is there (stale properties aside): nothing more will come by waiting. */
function valuesThere(check: StoreCheck): boolean {
  return check.error === undefined && check.properties.every((property) => property.state === 'in-sync')
}

export interface WaitOptions {
  timeoutMs: number
  intervalMs?: number
  /** Called after every round with the number of (store, secret) pairs in sync and the total. */
  onRound?: (inSync: number, total: number) => void
  now?: () => number
  sleep?: (ms: number) => Promise<unknown>
}

/**
 * Polls every store until each holds every expected value, or the timeout
 * passes; answers the last state of each (store, secret), store by store. A
 * pair whose values are all there is not read again: a stale property does
 * not make it wait (ESO never removes one, so waiting cannot help), it is
 * reported. A store that fails to answer is an error state, retried until
 * the timeout like a value not there yet: ESO may still be pushing, and the
 * store may come back.
 */
export async function waitForStores(expectations: StoreExpectation[], stores: StoreReader[], options: WaitOptions): Promise<StoreCheck[]> {
  const checks = new Map<string, StoreCheck>()
  const keyOf = (store: string, id: string) => `${store}\u0000${id}`
  const round = async () => {
    await Promise.all(
      stores.flatMap((store) =>
        expectations.map(async (expectation) => {
          const previous = checks.get(keyOf(store.name, expectation.id))
          if (previous && valuesThere(previous)) return
          let check: StoreCheck
          try {
            const {properties, stale} = await checkStoreExact(store, expectation)
            check = {store: store.name, id: expectation.id, properties, stale, inSync: properties.every((property) => property.state === 'in-sync') && stale.length === 0}
          } catch (error) {
            const detail = isToolkitError(error) ? error.message : `unexpected error (${(error as Error)?.name ?? 'unknown'})`
            check = {store: store.name, id: expectation.id, properties: [], stale: [], inSync: false, error: detail}
          }
          checks.set(keyOf(store.name, expectation.id), check)
        }),
      ),
    )
    return [...checks.values()]
  }
  await pollUntil(round, (all) => all.every(valuesThere), {
    timeoutMs: options.timeoutMs,
    intervalMs: options.intervalMs ?? 1000,
    onProgress: (all) => options.onRound?.(all.filter((check) => check.inSync).length, all.length),
    now: options.now,
    sleep: options.sleep,
  })
  return stores.flatMap((store) => expectations.map((expectation) => checks.get(keyOf(store.name, expectation.id))!))
}
