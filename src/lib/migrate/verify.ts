import pLimit from 'p-limit'

import {PUSH_SECRET_API_VERSION} from '../eso/api.js'
import {pushEntries, pushStores} from '../eso/push-secret.js'
import {describeReady, readyCondition} from '../eso/status.js'
import {checkStoreExact, type ExpectedValue, type PropertyState} from '../eso/store-check.js'
import type {KubeClient, KubeObject, ObservedSecret} from '../kube/client.js'
import type {RegionVault} from '../vault/connect.js'
import {ownersOf, pruneExposure, type FluxInventory} from '../gitops/ownership.js'
import {readFluxInventories} from './apply.js'
import {MIGRATED_FROM_LABEL, SOURCE_ANNOTATION, type PlannedSecret} from './mapping.js'
import type {RunRecord} from './run-record.js'
import {displayText} from '../report/display.js'
import {pollUntil} from '../workflow/poll.js'

export type CheckStatus =
  | 'in-sync'
  | 'secret-missing'
  | 'source-differs'
  | 'pushsecret-missing'
  | 'pushsecret-not-ready'
  | 'missing-in-vault'
  | 'property-missing'
  | 'value-differs'
  | 'source-not-migrated'
  | 'stale-property'
  | 'still-prunable'

/** One Secret in one place (a region, or "kubernetes" for the Secret itself). Names only, never values. */
export interface CheckRow {
  secret: string
  where: string
  status: CheckStatus
  /** The Secret keys concerned. */
  keys: string[]
  detail?: string
}

/**
 * What the "all present" claim rests on: the run records of `migrate sops`
 * (every Secret a run set out to migrate), the SOPS files given with
 * --source, the Secrets named on the command line — or nothing but the
 * Secrets that happen to exist, which proves no completeness.
 */
export interface Completeness {
  basis: Array<'run-records' | 'source' | 'named'>
  /** False when only labelled Secrets were found: a run cut off early would look complete. */
  proven: boolean
  runRecords: {object: string; id: string; state: string; planned: number}[]
  /** Secrets the records (or sources) plan that do not exist in Kubernetes. */
  missing: string[]
}

export interface VerifyReport {
  secrets: number
  rows: CheckRow[]
  counts: Partial<Record<CheckStatus, number>>
  inSync: boolean
  completeness: Completeness
  /** Sources whose every Secret is in sync everywhere (for --remove-sources). */
  verifiedSources: string[]
}

export interface VerifyTarget {
  namespace: string
  name: string
}

/** The Secrets and PushSecrets of the namespaces concerned, read with one LIST each. */
interface KubeView {
  secrets: Map<string, ObservedSecret>
  pushSecrets: Map<string, KubeObject>
  /** Flux Kustomizations' inventories: a Secret listed there is Flux's even without its labels. */
  fluxInventories: FluxInventory[]
}

async function readKubeView(kube: KubeClient, namespaces: string[]): Promise<KubeView> {
  const view: KubeView = {secrets: new Map(), pushSecrets: new Map(), fluxInventories: await readFluxInventories(kube)}
  for (const namespace of namespaces) {
    if (!(await kube.namespaceExists(namespace))) continue
    for (const secret of await kube.listSecrets(namespace)) view.secrets.set(`${namespace}/${secret.name}`, secret)
    for (const object of await kube.list(PUSH_SECRET_API_VERSION, 'PushSecret', {namespace})) view.pushSecrets.set(`${namespace}/${object.metadata?.name}`, object)
  }
  return view
}

/** A store's answer for one property, as verify reports it. */
const STORE_STATUS: Record<PropertyState, CheckStatus | undefined> = {
  'in-sync': undefined,
  'secret-missing': 'missing-in-vault',
  'property-missing': 'property-missing',
  differs: 'value-differs',
}

/** Compares one Secret with what every region's Vault holds at the remote keys its PushSecret names. */
async function checkSecret(
  target: VerifyTarget,
  systems: {view: KubeView; vaults: RegionVault[]},
  source: PlannedSecret | undefined,
  recorded: {source: string; run: string} | undefined,
): Promise<{rows: CheckRow[]; sourcePath?: string}> {
  const id = `${target.namespace}/${target.name}`
  const secret = systems.view.secrets.get(id)
  if (!secret) {
    const detail = recorded ? `planned by migration run ${recorded.run} from ${displayText(recorded.source)}; never created` : undefined
    return {rows: [{secret: id, where: 'kubernetes', status: 'secret-missing', keys: source ? [...source.spec.data.keys()].sort() : [], ...(detail ? {detail} : {})}], sourcePath: source?.source ?? recorded?.source}
  }
  const rows: CheckRow[] = []
  // A GitOps tool that applied this Secret deletes it once its source leaves Git, unless protected (migrate sops adds that).
  const exposure = pruneExposure(secret, ownersOf(secret, {fluxInventories: systems.view.fluxInventories}))
  if (exposure.length > 0) rows.push({secret: id, where: 'kubernetes', status: 'still-prunable', keys: [], detail: exposure.join('; ')})
  if (source) {
    const differing = [...source.spec.data].filter(([key, value]) => !secret.data.get(key)?.equals(value)).map(([key]) => key)
    if (differing.length > 0) rows.push({secret: id, where: 'kubernetes', status: 'source-differs', keys: differing.sort(), detail: `differs from ${source.source}`})
  }
  const pushSecret = systems.view.pushSecrets.get(id)
  if (!pushSecret) {
    rows.push({secret: id, where: 'kubernetes', status: 'pushsecret-missing', keys: []})
    return {rows, sourcePath: secret.annotations[SOURCE_ANNOTATION]}
  }
  const ready = readyCondition(pushSecret)
  if (ready?.status !== 'True') {
    rows.push({secret: id, where: 'kubernetes', status: 'pushsecret-not-ready', keys: [], detail: ready ? describeReady(ready) : 'no Ready condition yet'})
  }
  const entries = pushEntries(pushSecret)
  const stores = pushStores(pushSecret)
  for (const vault of systems.vaults) {
    const where = `region ${vault.region.name}`
    if (!stores.has(vault.region.clusterSecretStore)) {
      rows.push({secret: id, where, status: 'missing-in-vault', keys: [...secret.data.keys()].sort(), detail: `the PushSecret does not push to ${vault.region.clusterSecretStore}`})
      continue
    }
    // Keys the PushSecret does not push are missing in every store; the others are read and compared (eso/store-check.ts).
    const keys = [...secret.data.keys()].sort()
    const expected: ExpectedValue[] = []
    for (const key of keys) {
      const entry = entries.find((candidate) => candidate.secretKey === key)
      if (entry) expected.push({key, remoteKey: entry.remoteKey, property: entry.property ?? key, value: secret.data.get(key)!})
    }
    // A property at one of its remote keys that the Secret does not have (and no other PushSecret pushes there) is stale:
    // ESO pushes properties but never removes one, so a key dropped from the Secret stays in the Vault.
    const exact = await checkStoreExact(vault.store, {id, values: expected, exclusive: true, tolerated: keys})
    const stale = exact.stale.filter((property) => !pushedByOthers(systems.view, id).has(`${property.remoteKey}\u0000${property.property}`))
    if (stale.length > 0) {
      rows.push({
        secret: id,
        where,
        status: 'stale-property',
        keys: stale.map((property) => property.property),
        detail: `the Vault holds ${stale.map((property) => `${property.remoteKey}#${property.property}`).join(', ')}, which the Secret does not have: remove with check-and-set, e.g. ${stale.map((property) => `\`vault kv patch -mount=${vault.region.vault.mount} -cas=<current version> -remove-data=${property.property} ${property.remoteKey}\``).join(', ')}`,
      })
    }
    const states = new Map(exact.properties.map((check) => [check.key, check.state]))
    const problems = new Map<CheckStatus, string[]>()
    for (const key of keys) {
      const status = STORE_STATUS[states.get(key) ?? 'secret-missing']
      if (status) problems.set(status, [...(problems.get(status) ?? []), key])
    }
    if (problems.size === 0 && stale.length === 0) rows.push({secret: id, where, status: 'in-sync', keys: []})
    for (const [status, problemKeys] of problems) rows.push({secret: id, where, status, keys: problemKeys})
  }
  return {rows, sourcePath: secret.annotations[SOURCE_ANNOTATION]}
}

/** "remoteKey\u0000property" pairs that PushSecrets other than `id`'s push: a shared remote key's other properties are not stale. */
function pushedByOthers(view: KubeView, id: string): Set<string> {
  const pushed = new Set<string>()
  for (const [other, pushSecret] of view.pushSecrets) {
    if (other === id) continue
    for (const entry of pushEntries(pushSecret)) pushed.add(`${entry.remoteKey}\u0000${entry.property ?? entry.secretKey}`)
  }
  return pushed
}

/** The Secrets a migration created: by label, across namespaces (or in one). */
export async function findMigratedSecrets(kube: KubeClient, namespace?: string): Promise<VerifyTarget[]> {
  const items = await kube.list('v1', 'Secret', {namespace, labelSelector: MIGRATED_FROM_LABEL})
  return items.map((item) => ({namespace: item.metadata!.namespace!, name: item.metadata!.name!}))
}

/**
 * Proves each migrated value arrived: the Secret exists (and matches its SOPS
 * source when given), its PushSecret is Ready, and in every region the Vault
 * secret holds each property with a value equal to the Kubernetes value
 * (constant-time compare in memory; nothing printed). Every Secret a run
 * record or a source plans is checked too, so one that was never created is
 * reported missing instead of going unseen.
 */
export async function verifyMigration(
  systems: {kube: KubeClient; vaults: RegionVault[]},
  options: {targets: VerifyTarget[]; sources?: PlannedSecret[]; runRecords?: RunRecord[]; named?: boolean; concurrency: number},
): Promise<VerifyReport> {
  const sources = new Map((options.sources ?? []).map((item) => [`${item.spec.namespace}/${item.spec.name}`, item]))
  const targets = new Map(options.targets.map((target) => [`${target.namespace}/${target.name}`, target]))
  for (const [id, item] of sources) if (!targets.has(id)) targets.set(id, {namespace: item.spec.namespace, name: item.spec.name})
  const records = options.runRecords ?? []
  const recorded = new Map<string, {source: string; run: string}>()
  for (const record of records) {
    for (const entry of record.entries) {
      const id = `${entry.namespace}/${entry.name}`
      if (!recorded.has(id)) recorded.set(id, {source: entry.source, run: record.object})
      if (!targets.has(id)) targets.set(id, {namespace: entry.namespace, name: entry.name})
    }
  }
  const limit = pLimit(options.concurrency)
  const ids = [...targets.keys()].sort()
  const view = await readKubeView(systems.kube, [...new Set([...targets.values()].map((target) => target.namespace))].sort())
  const results = await Promise.all(ids.map((id) => limit(() => checkSecret(targets.get(id)!, {view, vaults: systems.vaults}, sources.get(id), recorded.get(id)))))
  const rows = results.flatMap((result) => result.rows)
  rows.push(...unmigratedSources(records, [...recorded.values()].map((entry) => entry.source), view))
  const counts: Partial<Record<CheckStatus, number>> = {}
  for (const row of rows) counts[row.status] = (counts[row.status] ?? 0) + 1
  const failedSources = new Set<string>()
  const allSources = new Set<string>()
  results.forEach((result, index) => {
    const source = sources.get(ids[index])?.source ?? result.sourcePath
    if (!source) return
    allSources.add(source)
    if (result.rows.some((row) => row.status !== 'in-sync')) failedSources.add(source)
  })
  const basis: Completeness['basis'] = []
  if (records.length > 0) basis.push('run-records')
  if (sources.size > 0) basis.push('source')
  if (options.named) basis.push('named')
  return {
    secrets: ids.length,
    rows,
    counts,
    inSync: rows.every((row) => row.status === 'in-sync'),
    completeness: {
      basis,
      proven: basis.length > 0,
      runRecords: records.map((record) => ({object: record.object, id: record.id, state: record.state, planned: record.plannedTotal})),
      missing: rows.filter((row) => row.status === 'secret-missing').map((row) => row.secret),
    },
    verifiedSources: [...allSources].filter((source) => !failedSources.has(source)).sort(),
  }
}

/**
 * Files a run skipped (--continue-on-error) that no run has migrated since
 * and no Secret comes from: their SOPS files must stay.
 */
function unmigratedSources(records: RunRecord[], recordedSources: string[], view: KubeView): CheckRow[] {
  const migrated = new Set(recordedSources)
  for (const secret of view.secrets.values()) {
    const source = secret.annotations[SOURCE_ANNOTATION]
    if (source) migrated.add(source)
  }
  const rows = new Map<string, CheckRow>()
  for (const record of records) {
    for (const source of record.skippedSources) {
      if (migrated.has(source) || rows.has(source)) continue
      rows.set(source, {secret: displayText(source), where: 'source', status: 'source-not-migrated', keys: [], detail: `skipped by migration run ${record.object} (--continue-on-error); no Secret comes from it`})
    }
  }
  return [...rows.values()].sort((a, b) => (a.secret < b.secret ? -1 : 1))
}

/** What ESO's next push can still change; anything else (a Secret never created, a skipped file) waiting does not fix. */
const SETTLING: CheckStatus[] = ['pushsecret-not-ready', 'missing-in-vault', 'property-missing', 'value-differs']

/** Polls until everything is in sync, nothing left could change by waiting, or the time is up; returns the last report. */
export async function verifyUntil(run: () => Promise<VerifyReport>, waitMs: number, intervalMs = 2_000): Promise<VerifyReport> {
  const settled = (report: VerifyReport) => report.inSync || !report.rows.some((row) => SETTLING.includes(row.status))
  // A whole verification is not run once more at the deadline when the next could not start before it.
  return (await pollUntil(run, settled, {timeoutMs: waitMs, intervalMs, attemptAtDeadline: false})).value
}
