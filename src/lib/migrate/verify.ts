import {setTimeout as sleep} from 'node:timers/promises'

import pLimit from 'p-limit'

import {conditionOf, PUSH_SECRET_API_VERSION, type KubeClient, type KubeObject, type ObservedSecret} from '../kube/client.js'
import type {SecretValue} from '../secret/secret-value.js'
import type {SecretData} from '../vault/secret-store.js'
import type {RegionVault} from '../vault/connect.js'
import {MIGRATED_FROM_LABEL, SOURCE_ANNOTATION, type PlannedSecret} from './mapping.js'

export type CheckStatus =
  | 'in-sync'
  | 'secret-missing'
  | 'source-differs'
  | 'pushsecret-missing'
  | 'pushsecret-not-ready'
  | 'missing-in-vault'
  | 'property-missing'
  | 'value-differs'

/** One Secret in one place (a region, or "kubernetes" for the Secret itself). Names only, never values. */
export interface CheckRow {
  secret: string
  where: string
  status: CheckStatus
  /** The Secret keys concerned. */
  keys: string[]
  detail?: string
}

export interface VerifyReport {
  secrets: number
  rows: CheckRow[]
  counts: Partial<Record<CheckStatus, number>>
  inSync: boolean
  /** Sources whose every Secret is in sync everywhere (for --remove-sources). */
  verifiedSources: string[]
}

export interface VerifyTarget {
  namespace: string
  name: string
}

interface PushEntry {
  secretKey: string
  remoteKey: string
  property?: string
}

function pushEntries(pushSecret: {spec?: Record<string, unknown>} | undefined): PushEntry[] {
  const data = (pushSecret?.spec?.data as {match?: {secretKey?: string; remoteRef?: {remoteKey?: string; property?: string}}}[] | undefined) ?? []
  return data
    .filter((entry) => entry.match?.secretKey && entry.match.remoteRef?.remoteKey)
    .map((entry) => ({secretKey: entry.match!.secretKey!, remoteKey: entry.match!.remoteRef!.remoteKey!, property: entry.match!.remoteRef!.property}))
}

function storesOf(pushSecret: {spec?: Record<string, unknown>}): Set<string> {
  const refs = (pushSecret.spec?.secretStoreRefs as {name?: string; kind?: string}[] | undefined) ?? []
  return new Set(refs.filter((ref) => (ref.kind ?? 'SecretStore') === 'ClusterSecretStore').map((ref) => ref.name ?? ''))
}

/** The Secrets and PushSecrets of the namespaces concerned, read with one LIST each. */
interface KubeView {
  secrets: Map<string, ObservedSecret>
  pushSecrets: Map<string, KubeObject>
}

async function readKubeView(kube: KubeClient, namespaces: string[]): Promise<KubeView> {
  const view: KubeView = {secrets: new Map(), pushSecrets: new Map()}
  for (const namespace of namespaces) {
    if (!(await kube.namespaceExists(namespace))) continue
    for (const secret of await kube.listSecrets(namespace)) view.secrets.set(`${namespace}/${secret.name}`, secret)
    for (const object of await kube.list(PUSH_SECRET_API_VERSION, 'PushSecret', {namespace})) view.pushSecrets.set(`${namespace}/${object.metadata?.name}`, object)
  }
  return view
}

/** Compares one Secret with what every region's Vault holds at the remote keys its PushSecret names. */
async function checkSecret(target: VerifyTarget, systems: {view: KubeView; vaults: RegionVault[]}, source: PlannedSecret | undefined): Promise<{rows: CheckRow[]; sourcePath?: string}> {
  const id = `${target.namespace}/${target.name}`
  const secret = systems.view.secrets.get(id)
  if (!secret) return {rows: [{secret: id, where: 'kubernetes', status: 'secret-missing', keys: source ? [...source.spec.data.keys()].sort() : []}]}
  const rows: CheckRow[] = []
  if (source) {
    const differing = [...source.spec.data].filter(([key, value]) => !secret.data.get(key)?.equals(value)).map(([key]) => key)
    if (differing.length > 0) rows.push({secret: id, where: 'kubernetes', status: 'source-differs', keys: differing.sort(), detail: `differs from ${source.source}`})
  }
  const pushSecret = systems.view.pushSecrets.get(id)
  if (!pushSecret) {
    rows.push({secret: id, where: 'kubernetes', status: 'pushsecret-missing', keys: []})
    return {rows, sourcePath: secret.annotations[SOURCE_ANNOTATION]}
  }
  const ready = conditionOf(pushSecret, 'Ready')
  if (ready?.status !== 'True') {
    rows.push({secret: id, where: 'kubernetes', status: 'pushsecret-not-ready', keys: [], detail: ready ? `${ready.reason ?? ''} ${ready.message ?? ''}`.trim().slice(0, 300) : 'no Ready condition yet'})
  }
  const entries = pushEntries(pushSecret)
  const stores = storesOf(pushSecret)
  for (const vault of systems.vaults) {
    const where = `region ${vault.region.name}`
    if (!stores.has(vault.region.clusterSecretStore)) {
      rows.push({secret: id, where, status: 'missing-in-vault', keys: [...secret.data.keys()].sort(), detail: `the PushSecret does not push to ${vault.region.clusterSecretStore}`})
      continue
    }
    const remote = new Map<string, SecretData | undefined>()
    const problems = new Map<CheckStatus, string[]>()
    const note = (status: CheckStatus, key: string) => problems.set(status, [...(problems.get(status) ?? []), key])
    for (const key of [...secret.data.keys()].sort()) {
      const entry = entries.find((candidate) => candidate.secretKey === key)
      if (!entry) {
        note('missing-in-vault', key)
        continue
      }
      if (!remote.has(entry.remoteKey)) remote.set(entry.remoteKey, (await vault.store.read(entry.remoteKey))?.data)
      const data = remote.get(entry.remoteKey)
      if (!data) {
        note('missing-in-vault', key)
        continue
      }
      const value: SecretValue | undefined = data.get(entry.property ?? key)
      if (!value) note('property-missing', key)
      else if (!value.equals(secret.data.get(key)!)) note('value-differs', key)
    }
    if (problems.size === 0) rows.push({secret: id, where, status: 'in-sync', keys: []})
    for (const [status, keys] of problems) rows.push({secret: id, where, status, keys})
  }
  return {rows, sourcePath: secret.annotations[SOURCE_ANNOTATION]}
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
 * (constant-time compare in memory; nothing printed).
 */
export async function verifyMigration(
  systems: {kube: KubeClient; vaults: RegionVault[]},
  options: {targets: VerifyTarget[]; sources?: PlannedSecret[]; concurrency: number},
): Promise<VerifyReport> {
  const sources = new Map((options.sources ?? []).map((item) => [`${item.spec.namespace}/${item.spec.name}`, item]))
  const targets = new Map(options.targets.map((target) => [`${target.namespace}/${target.name}`, target]))
  for (const [id, item] of sources) if (!targets.has(id)) targets.set(id, {namespace: item.spec.namespace, name: item.spec.name})
  const limit = pLimit(options.concurrency)
  const ids = [...targets.keys()].sort()
  const view = await readKubeView(systems.kube, [...new Set([...targets.values()].map((target) => target.namespace))].sort())
  const results = await Promise.all(ids.map((id) => limit(() => checkSecret(targets.get(id)!, {view, vaults: systems.vaults}, sources.get(id)))))
  const rows = results.flatMap((result) => result.rows)
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
  return {
    secrets: ids.length,
    rows,
    counts,
    inSync: rows.every((row) => row.status === 'in-sync'),
    verifiedSources: [...allSources].filter((source) => !failedSources.has(source)).sort(),
  }
}

/** Polls until everything is in sync or the time is up; returns the last report. */
export async function verifyUntil(run: () => Promise<VerifyReport>, waitMs: number, intervalMs = 2_000): Promise<VerifyReport> {
  const deadline = Date.now() + waitMs
  for (;;) {
    const report = await run()
    if (report.inSync || Date.now() + intervalMs > deadline) return report
    await sleep(intervalMs)
  }
}
