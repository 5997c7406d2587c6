// `dr reseed`: one region's store was rebuilt empty (or lost keys). The
// Secrets in Kubernetes are still the truth; ESO pushes only on each
// PushSecret's refreshInterval, so the region would stay empty for up to that
// long. This asks ESO to push every PushSecret that targets the region now,
// waits until the region holds every value, and says per Secret what is
// still missing, with the PushSecret's own condition message.
import {PUSH_SECRET_API_VERSION} from '../eso/api.js'
import {requestPush} from '../eso/nudge.js'
import {pushMappingOf, type PushMapping} from '../eso/push-map.js'
import {describeReady, readyCondition} from '../eso/status.js'
import {checkStore, waitForStores, type ExpectedValue, type StoreCheck, type StoreExpectation, type StoreReader} from '../eso/store-check.js'
import type {KubeClient} from '../kube/client.js'

export interface ReseedTarget {
  name: string
  clusterSecretStore: string
  store: StoreReader
}

export type ReseedState = 'in-sync' | 'missing' | 'differs' | 'secret-missing' | 'not-checked' | 'store-error'

/** One Secret the region must hold. Names only, never values. */
export interface ReseedRow {
  secret: string
  pushSecret: string
  state: ReseedState
  /** The keys the region lacks or holds differently. */
  keys: string[]
  /** The PushSecret's Ready condition when the Secret is not in sync (ESO's words: names, never values). */
  condition?: string
  detail?: string
}

export interface ReseedReport {
  region: string
  store: string
  dryRun: boolean
  pushSecrets: number
  nudged: number
  rows: ReseedRow[]
  counts: Partial<Record<ReseedState, number>>
  inSync: boolean
}

interface Candidate {
  mapping: PushMapping
  expectation?: StoreExpectation
  row?: ReseedRow
}

/** What the region must hold for one PushSecret, from the Secret in Kubernetes (read in memory). */
async function expectationFor(kube: KubeClient, mapping: PushMapping): Promise<Candidate> {
  const id = `${mapping.namespace}/${mapping.secret}`
  const base = {secret: id, pushSecret: `${mapping.namespace}/${mapping.pushSecret}`}
  if (mapping.unsupported) return {mapping, row: {...base, state: 'not-checked', keys: [], detail: mapping.unsupported}}
  const secret = await kube.getSecret(mapping.namespace, mapping.secret)
  if (!secret) return {mapping, row: {...base, state: 'secret-missing', keys: [], detail: 'the Secret does not exist in Kubernetes: ESO has nothing to push (after a cluster loss, run `secrets dr rehydrate` first)'}}
  const values: ExpectedValue[] = []
  for (const entry of mapping.entries) {
    if (entry.kind === 'key' && entry.property) {
      const value = secret.data.get(entry.secretKey)
      if (value) values.push({key: entry.secretKey, remoteKey: entry.remoteKey, property: entry.property, value})
    } else if (entry.kind === 'whole' && !entry.property) {
      for (const [key, value] of secret.data) values.push({key, remoteKey: entry.remoteKey, property: key, value})
    }
  }
  return {mapping, expectation: {id, values}}
}

function rowOf(check: StoreCheck, mapping: PushMapping): ReseedRow {
  const base = {secret: `${mapping.namespace}/${mapping.secret}`, pushSecret: `${mapping.namespace}/${mapping.pushSecret}`}
  if (check.error) return {...base, state: 'store-error', keys: [], detail: check.error}
  const missing = check.properties.filter((property) => property.state === 'secret-missing' || property.state === 'property-missing').map((property) => property.key)
  const differing = check.properties.filter((property) => property.state === 'differs').map((property) => property.key)
  if (missing.length > 0) return {...base, state: 'missing', keys: [...missing, ...differing]}
  if (differing.length > 0) return {...base, state: 'differs', keys: differing}
  return {...base, state: 'in-sync', keys: []}
}

/**
 * Reseeds one region: every PushSecret pushing to its store is nudged (the
 * push-requested-at annotation, a merge patch that takes no field from its
 * owner), then the region is polled until it holds every value or `waitMs`
 * passes. With `dryRun`, nothing is nudged: the region is read once and what
 * it lacks is listed.
 */
export async function reseedRegion(
  systems: {kube: KubeClient; region: ReseedTarget},
  options: {dryRun: boolean; waitMs: number; namespace?: string; now?: () => Date; onRound?: (inSync: number, total: number) => void},
): Promise<ReseedReport> {
  const {kube, region} = systems
  const now = options.now ?? (() => new Date())
  const objects = await kube.list(PUSH_SECRET_API_VERSION, 'PushSecret', {namespace: options.namespace})
  const mappings = objects.map((object) => pushMappingOf(object, 'cluster')).filter((mapping) => mapping.stores.includes(region.clusterSecretStore))
  mappings.sort((a, b) => (`${a.namespace}/${a.secret}` < `${b.namespace}/${b.secret}` ? -1 : 1))
  const candidates: Candidate[] = []
  for (const mapping of mappings) candidates.push(await expectationFor(kube, mapping))
  const checked = candidates.filter((candidate) => candidate.expectation)
  let nudged = 0
  let checks: StoreCheck[]
  if (options.dryRun) {
    checks = []
    for (const candidate of checked) {
      try {
        const properties = await checkStore(region.store, candidate.expectation!)
        checks.push({store: region.name, id: candidate.expectation!.id, properties, stale: [], inSync: properties.every((property) => property.state === 'in-sync')})
      } catch (error) {
        checks.push({store: region.name, id: candidate.expectation!.id, properties: [], stale: [], inSync: false, error: (error as Error).message})
      }
    }
  } else {
    const at = now()
    for (const candidate of checked) {
      await requestPush(kube, {namespace: candidate.mapping.namespace, name: candidate.mapping.pushSecret}, at)
      nudged += 1
    }
    checks = await waitForStores(
      checked.map((candidate) => candidate.expectation!),
      [region.store],
      {timeoutMs: options.waitMs, intervalMs: 1000, onRound: options.onRound},
    )
  }
  const byId = new Map(checks.map((check) => [check.id, check]))
  const rows: ReseedRow[] = []
  for (const candidate of candidates) {
    if (candidate.row) {
      rows.push(candidate.row)
      continue
    }
    const row = rowOf(byId.get(candidate.expectation!.id)!, candidate.mapping)
    if (row.state !== 'in-sync' && !options.dryRun) {
      // ESO's verdict on the push, read after the wait: why the value is not there.
      const pushSecret = await kube.read(PUSH_SECRET_API_VERSION, 'PushSecret', candidate.mapping.pushSecret, candidate.mapping.namespace)
      const ready = readyCondition(pushSecret)
      row.condition = ready ? `Ready=${ready.status} ${describeReady(ready)}` : 'no Ready condition yet (is the ESO controller running?)'
    }
    rows.push(row)
  }
  const counts: Partial<Record<ReseedState, number>> = {}
  for (const row of rows) counts[row.state] = (counts[row.state] ?? 0) + 1
  return {
    region: region.name,
    store: region.clusterSecretStore,
    dryRun: options.dryRun,
    pushSecrets: mappings.length,
    nudged,
    rows,
    counts,
    inSync: rows.every((row) => row.state === 'in-sync'),
  }
}
