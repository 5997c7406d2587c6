// `dr rehydrate`: the cluster (the source of truth) is lost and the regional
// stores hold the only copies. The PushSecrets say where every key went; this
// reads the values back, plans (create / unchanged / differs), writes the
// Secrets by server-side apply and checks each Secret against every region.
// Values stay SecretValues in memory: they go to Kubernetes and nowhere else.
import {ToolkitError} from '../errors/errors.js'
import {EXTERNAL_SECRET_API_VERSION} from '../eso/api.js'
import {keepsRestoredValue, markRestored} from '../eso/generated.js'
import {generatedTargetOf, type GeneratedTarget, type PushMapping} from '../eso/push-map.js'
import {checkStore, type ExpectedValue, type StoreReader} from '../eso/store-check.js'
import type {KubeClient, ObservedSecret} from '../kube/client.js'
import {SecretValue} from '../secret/secret-value.js'
import type {SecretRecord} from '../vault/secret-store.js'
import {confirmGate, runStage, type WorkflowHooks} from '../workflow/runner.js'
import type {RehydrateMap} from './rehydrate-map.js'

/** One region as rehydrate needs it: its name, the ESO store that pushes to it, and its store. */
export interface RehydrateRegion {
  name: string
  clusterSecretStore: string
  store: StoreReader
}

/**
 * create: absent, will be written; unchanged: present with these values;
 * differs: present with other values, left alone (--overwrite replaces it);
 * overwrite: present with other values, replaced; conflict: the regions hold
 * different values; incomplete: a key is in no region that may be read;
 * unsupported: the PushSecret cannot be read back exactly.
 */
export type RehydrateAction = 'create' | 'unchanged' | 'differs' | 'overwrite' | 'conflict' | 'incomplete' | 'unsupported'

/** A per-key observation of the regions, names only. */
export interface KeyNote {
  key: string
  region: string
  state: 'missing' | 'differs'
}

export interface RehydrateItem {
  /** namespace/name of the Secret. */
  secret: string
  namespace: string
  name: string
  action: RehydrateAction
  /** The region(s) whose values are used. */
  from: string[]
  keys: string[]
  type: string
  /** The PushSecret records the Secret's type, labels and annotations; without it the type is Opaque. */
  recorded: boolean
  namespaceExists: boolean
  /** conflict: the keys the regions disagree on, and which regions. */
  conflicts: {key: string; regions: string[]}[]
  /** Keys a region lacks or holds differently from the values used (a finding, not a blocker). */
  regionNotes: KeyNote[]
  /** The generator-filled ExternalSecret that owns this Secret, and what rehydrate does about it. */
  generated?: {externalSecret: string; inCluster: boolean; synced: boolean; keepsRestoredValue: boolean; markRestored: boolean}
  notes: string[]
}

export interface RehydratePlan {
  origin: string
  items: RehydrateItem[]
  /** The namespaces that do not exist (created only with --create-namespaces). */
  missingNamespaces: string[]
  /** Files of --source that were not read. */
  skipped: {path: string; reason: string}[]
  counts: Partial<Record<RehydrateAction, number>>
  /** Any region disagreement without --from: nothing may be written. */
  conflicts: number
}

interface Resolved {
  item: RehydrateItem
  values: Map<string, SecretValue>
  mapping: PushMapping
  target?: GeneratedTarget
}

/** The values of one PushSecret that one store holds: by Secret key, and what is missing (keys, or a remote key for a whole-Secret push). */
async function readFromStore(store: StoreReader, mapping: PushMapping): Promise<{values: Map<string, SecretValue>; missing: string[]; problems: string[]}> {
  const records = new Map<string, SecretRecord | undefined>()
  const read = async (remoteKey: string) => {
    if (!records.has(remoteKey)) records.set(remoteKey, await store.read(remoteKey))
    return records.get(remoteKey)
  }
  const values = new Map<string, SecretValue>()
  const missing: string[] = []
  const problems: string[] = []
  for (const entry of mapping.entries) {
    const record = await read(entry.remoteKey)
    if (entry.kind === 'key') {
      if (!entry.property) {
        problems.push(`key ${entry.secretKey} is pushed without a property (as a whole remote secret), which cannot be read back byte for byte`)
        continue
      }
      const value = record?.data.get(entry.property)
      if (value) values.set(entry.secretKey, value)
      else missing.push(entry.secretKey)
      continue
    }
    // The whole Secret, as ESO pushes it when no secretKey is named.
    if (!record) {
      missing.push(`(whole Secret at ${entry.remoteKey})`)
      continue
    }
    if (!entry.property) {
      for (const [key, value] of record.data) values.set(key, value)
      continue
    }
    const json = record.data.get(entry.property)
    if (!json) {
      missing.push(`(whole Secret at ${entry.remoteKey} property ${entry.property})`)
      continue
    }
    let parsed: unknown
    try {
      parsed = JSON.parse(json.revealString())
    } catch {
      parsed = undefined
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed) || Object.values(parsed).some((value) => typeof value !== 'string')) {
      problems.push(`${entry.remoteKey} property ${entry.property} is not the JSON object of strings ESO pushes for a whole Secret`)
      continue
    }
    for (const [key, value] of Object.entries(parsed as Record<string, string>)) values.set(key, SecretValue.fromString(value))
  }
  return {values, missing, problems}
}

function sameData(observed: ObservedSecret, values: Map<string, SecretValue>): boolean {
  if (observed.data.size !== values.size) return false
  for (const [key, value] of values) if (!observed.data.get(key)?.equals(value)) return false
  return true
}

/**
 * Reads the map's values from the regions and decides, per Secret, what to
 * do. Without `from`, every region the PushSecret pushes to is read and any
 * value they disagree on is a conflict; with `from`, that region's values are
 * used and the others' differences are notes.
 */
export async function planRehydrate(
  systems: {kube: KubeClient; regions: RehydrateRegion[]},
  map: RehydrateMap,
  options: {from?: string; overwrite: boolean},
): Promise<{plan: RehydratePlan; resolved: Resolved[]}> {
  if (options.from && !systems.regions.some((region) => region.name === options.from)) {
    throw new ToolkitError('USAGE', `--from ${options.from}: no such region in the configuration (${systems.regions.map((region) => region.name).join(', ')})`, {hint: 'Name one of the configured regions.'})
  }
  const generatedBySecret = new Map(map.generated.map((target) => [`${target.namespace}/${target.secret}`, target]))
  const namespaces = new Map<string, boolean>()
  const resolved: Resolved[] = []
  const seen = new Set<string>()
  for (const mapping of [...map.mappings].sort((a, b) => (`${a.namespace}/${a.secret}` < `${b.namespace}/${b.secret}` ? -1 : 1))) {
    const id = `${mapping.namespace}/${mapping.secret || mapping.pushSecret}`
    const item: RehydrateItem = {
      secret: id,
      namespace: mapping.namespace,
      name: mapping.secret,
      action: 'create',
      from: [],
      keys: [],
      type: mapping.recorded?.type ?? 'Opaque',
      recorded: mapping.recorded !== undefined,
      namespaceExists: true,
      conflicts: [],
      regionNotes: [],
      notes: [],
    }
    const values = new Map<string, SecretValue>()
    resolved.push({item, values, mapping})
    if (seen.has(id)) {
      item.action = 'unsupported'
      item.notes.push(`another PushSecret pushes ${id} too (${mapping.origin}); rehydrate restores each Secret from one PushSecret`)
      continue
    }
    seen.add(id)
    if (!mapping.namespace) {
      item.action = 'unsupported'
      item.notes.push(`PushSecret ${mapping.pushSecret} in ${mapping.origin} has no namespace (and no kustomization sets one)`)
      continue
    }
    if (mapping.unsupported) {
      item.action = 'unsupported'
      item.notes.push(`PushSecret ${mapping.namespace}/${mapping.pushSecret}: ${mapping.unsupported}`)
      continue
    }
    if (!mapping.recorded) item.notes.push('no type/labels/annotations recorded on the PushSecret: restored as type Opaque without labels')
    const regions = systems.regions.filter((region) => mapping.stores.includes(region.clusterSecretStore))
    if (regions.length === 0) {
      item.action = 'incomplete'
      item.notes.push(`the PushSecret pushes to no configured region's store (${mapping.stores.join(', ') || 'none'})`)
      continue
    }
    const sources = options.from ? regions.filter((region) => region.name === options.from) : regions
    if (sources.length === 0) {
      item.action = 'incomplete'
      item.notes.push(`the PushSecret does not push to region ${options.from}'s store`)
      continue
    }
    const perRegion = new Map<string, Awaited<ReturnType<typeof readFromStore>>>()
    for (const region of regions) perRegion.set(region.name, await readFromStore(region.store, mapping))
    const problems = [...new Set([...perRegion.values()].flatMap((answer) => answer.problems))]
    if (problems.length > 0) {
      item.action = 'unsupported'
      item.notes.push(...problems)
      continue
    }
    const keys = new Set<string>([...perRegion.values()].flatMap((answer) => [...answer.values.keys(), ...answer.missing.filter((key) => !key.startsWith('('))]))
    for (const key of [...keys].sort()) {
      const present = sources.filter((region) => perRegion.get(region.name)!.values.has(key))
      if (present.length === 0) {
        item.action = 'incomplete'
        item.notes.push(`key ${key} is in no ${options.from ? `region ${options.from}` : 'region'}`)
        continue
      }
      const chosen = perRegion.get(present[0].name)!.values.get(key)!
      const disagreeing = present.filter((region) => !perRegion.get(region.name)!.values.get(key)!.equals(chosen))
      if (disagreeing.length > 0) {
        item.conflicts.push({key, regions: present.map((region) => region.name)})
        continue
      }
      values.set(key, chosen)
      for (const region of regions) {
        const held = perRegion.get(region.name)!.values.get(key)
        if (!held) item.regionNotes.push({key, region: region.name, state: 'missing'})
        else if (!held.equals(chosen)) item.regionNotes.push({key, region: region.name, state: 'differs'})
      }
    }
    for (const [name, answer] of perRegion) for (const whole of answer.missing.filter((key) => key.startsWith('('))) item.notes.push(`region ${name}: nothing at ${whole.slice(1, -1)}`)
    item.from = sources.filter((region) => [...values.keys()].some((key) => perRegion.get(region.name)!.values.get(key)?.equals(values.get(key)!))).map((region) => region.name)
    item.keys = [...values.keys()].sort()
    if (item.conflicts.length > 0) {
      item.action = 'conflict'
      continue
    }
    if (item.action === 'incomplete') continue
    if (values.size === 0) {
      item.action = 'incomplete'
      item.notes.push('no value found in any region')
      continue
    }
    if (!namespaces.has(mapping.namespace)) namespaces.set(mapping.namespace, await systems.kube.namespaceExists(mapping.namespace))
    item.namespaceExists = namespaces.get(mapping.namespace)!
    const observed = item.namespaceExists ? await systems.kube.getSecret(mapping.namespace, mapping.secret) : undefined
    if (observed) item.action = sameData(observed, values) ? 'unchanged' : options.overwrite ? 'overwrite' : 'differs'
    const declared = generatedBySecret.get(id)
    if (declared) {
      const live = item.namespaceExists ? await systems.kube.read(EXTERNAL_SECRET_API_VERSION, 'ExternalSecret', declared.externalSecret, declared.namespace) : undefined
      const target = (live && generatedTargetOf(live)) || declared
      const keeps = keepsRestoredValue(target)
      const willMark = live !== undefined && !target.synced && ['create', 'unchanged', 'overwrite'].includes(item.action)
      item.generated = {externalSecret: `${target.namespace}/${target.externalSecret}`, inCluster: live !== undefined, synced: live !== undefined && target.synced, keepsRestoredValue: keeps, markRestored: willMark}
      resolved.at(-1)!.target = target
      if (!keeps) {
        item.notes.push(`ExternalSecret ${target.externalSecret} would regenerate a restored value (creationPolicy ${target.creationPolicy}, refreshPolicy ${target.refreshPolicy ?? 'Periodic'}): rewrite it as \`secrets bootstrap --output-dir\` does (refreshPolicy CreatedOnce, creationPolicy Orphan)`)
      }
      if (!live) item.notes.push(`ExternalSecret ${target.externalSecret} is not in the cluster yet: apply it (ESO stopped) and re-run rehydrate, so that ESO finds the Secret created instead of generating a new value`)
      else if (target.synced && item.action === 'differs') item.notes.push(`ExternalSecret ${target.externalSecret} has synced already: ESO generated a new value after the loss; --overwrite puts the stored one back (ESO keeps it)`)
    }
  }
  const items = resolved.map((entry) => entry.item)
  const counts: Partial<Record<RehydrateAction, number>> = {}
  for (const item of items) counts[item.action] = (counts[item.action] ?? 0) + 1
  return {
    plan: {
      origin: map.origin,
      items,
      missingNamespaces: [...namespaces].filter(([, exists]) => !exists).map(([name]) => name).sort(),
      skipped: map.skipped,
      counts,
      conflicts: items.filter((item) => item.action === 'conflict').length,
    },
    resolved,
  }
}

/** Whether the plan leaves something undone or unsafe: conflicts, keys in no region, Secrets left alone, ExternalSecrets that would regenerate. */
export function planFindings(plan: RehydratePlan): string[] {
  const findings: string[] = []
  for (const item of plan.items) {
    if (['conflict', 'incomplete', 'unsupported', 'differs'].includes(item.action)) findings.push(`${item.secret}: ${item.action}`)
    if (item.generated && (!item.generated.keepsRestoredValue || !item.generated.inCluster)) findings.push(`${item.secret}: ExternalSecret ${item.generated.externalSecret} ${item.generated.inCluster ? 'would regenerate a restored value' : 'not in the cluster yet'}`)
  }
  return findings
}

export interface ApplyResult {
  written: string[]
  namespacesCreated: string[]
  externalSecretsMarked: string[]
}

/**
 * Writes the planned Secrets (server-side apply; --overwrite takes over the
 * fields another manager owns), then the sync record of each generator-filled
 * ExternalSecret that never synced, so ESO keeps the restored value.
 */
export async function applyRehydrate(
  kube: KubeClient,
  planned: {plan: RehydratePlan; resolved: Resolved[]},
  options: {createNamespaces: boolean; onWritten?: (secret: string) => void; now?: () => Date},
): Promise<ApplyResult> {
  const now = options.now ?? (() => new Date())
  if (planned.plan.conflicts > 0) throw new ToolkitError('INTERNAL', 'a plan with conflicts is never applied')
  if (planned.plan.missingNamespaces.length > 0 && !options.createNamespaces) {
    throw new ToolkitError('NAMESPACE_MISSING', `namespace(s) ${planned.plan.missingNamespaces.join(', ')} do not exist; nothing was written`, {
      hint: 'Apply the GitOps namespaces first, or re-run with --create-namespaces.',
    })
  }
  const result: ApplyResult = {written: [], namespacesCreated: [], externalSecretsMarked: []}
  for (const namespace of planned.plan.missingNamespaces) {
    await kube.ensureNamespace(namespace)
    result.namespacesCreated.push(namespace)
  }
  for (const {item, values, mapping, target} of planned.resolved) {
    if (item.action === 'create' || item.action === 'overwrite') {
      await kube.applySecret(
        {namespace: item.namespace, name: item.name, type: item.type, labels: mapping.recorded?.labels ?? {}, annotations: mapping.recorded?.annotations ?? {}, data: values},
        {force: item.action === 'overwrite'},
      )
      result.written.push(item.secret)
      options.onWritten?.(item.secret)
    }
    if (item.generated?.markRestored && target) {
      await markRestored(kube, target, now(), item.from.join('+'))
      result.externalSecretsMarked.push(item.generated.externalSecret)
    }
  }
  return result
}

export type VerifyState = 'in-sync' | 'secret-missing' | 'differs' | 'missing-in-store' | 'store-error' | 'not-checked'

/** One Secret in one place ("kubernetes", or "region NAME"). Names only. */
export interface VerifyRow {
  secret: string
  where: string
  state: VerifyState
  keys: string[]
  /** Whether this place is a source of the Secret's values (its rows decide the exit code). */
  source: boolean
  detail?: string
}

/**
 * migrate verify's check, per Secret × region, for what was rehydrated: the
 * Secret in Kubernetes holds the values used, and each region holds each of
 * them at the PushSecret's remote key and property (constant-time compare).
 */
export async function verifyRehydrate(systems: {kube: KubeClient; regions: RehydrateRegion[]}, resolved: Resolved[]): Promise<VerifyRow[]> {
  const rows: VerifyRow[] = []
  for (const {item, values, mapping} of resolved) {
    if (!['create', 'overwrite', 'unchanged'].includes(item.action)) continue
    const observed = await systems.kube.getSecret(item.namespace, item.name)
    if (!observed) rows.push({secret: item.secret, where: 'kubernetes', state: 'secret-missing', keys: item.keys, source: true})
    else {
      const differing = [...values].filter(([key, value]) => !observed.data.get(key)?.equals(value)).map(([key]) => key)
      rows.push({secret: item.secret, where: 'kubernetes', state: differing.length === 0 ? 'in-sync' : 'differs', keys: differing, source: true})
    }
    const expected: ExpectedValue[] = []
    let partial = false
    for (const entry of mapping.entries) {
      if (entry.kind === 'key' && entry.property && values.has(entry.secretKey)) expected.push({key: entry.secretKey, remoteKey: entry.remoteKey, property: entry.property, value: values.get(entry.secretKey)!})
      else if (entry.kind === 'whole' && !entry.property) for (const [key, value] of values) expected.push({key, remoteKey: entry.remoteKey, property: key, value})
      else partial = true
    }
    for (const region of systems.regions.filter((candidate) => mapping.stores.includes(candidate.clusterSecretStore))) {
      const where = `region ${region.name}`
      const source = item.from.includes(region.name)
      try {
        const checks = await checkStore(region.store, {id: item.secret, values: expected})
        const wrong = checks.filter((check) => check.state !== 'in-sync')
        const missing = wrong.filter((check) => check.state === 'secret-missing' || check.state === 'property-missing').map((check) => check.key)
        const differing = wrong.filter((check) => check.state === 'differs').map((check) => check.key)
        if (wrong.length === 0) rows.push({secret: item.secret, where, state: partial ? 'not-checked' : 'in-sync', keys: [], source, ...(partial ? {detail: 'a whole-Secret JSON property is not compared'} : {})})
        if (missing.length > 0) rows.push({secret: item.secret, where, state: 'missing-in-store', keys: missing, source})
        if (differing.length > 0) rows.push({secret: item.secret, where, state: 'differs', keys: differing, source})
      } catch (error) {
        rows.push({secret: item.secret, where, state: 'store-error', keys: [], source, detail: (error as Error).message})
      }
    }
  }
  return rows
}

export interface RehydrateRun {
  plan: RehydratePlan
  findings: string[]
  applied?: ApplyResult
  verify?: VerifyRow[]
  /** Why nothing was written: the regions disagree, or --dry-run. */
  stoppedAt?: 'conflicts' | 'dry-run'
  /** Every rehydrated Secret matches its source region(s) and nothing is left undone. */
  ok: boolean
}

/** The Secrets a plan writes (or whose ExternalSecret it marks). */
export function planWrites(plan: RehydratePlan): RehydrateItem[] {
  return plan.items.filter((item) => item.action === 'create' || item.action === 'overwrite' || item.generated?.markRestored)
}

/**
 * The rehydrate workflow, as named stages of the one runner: read the values
 * and plan → (conflicts or --dry-run stop here, nothing written) →
 * confirmation gate → apply → check. `onPlan` shows the plan before the gate.
 */
export async function runRehydrate(
  systems: {kube: KubeClient; regions: RehydrateRegion[]},
  map: RehydrateMap,
  options: {from?: string; overwrite: boolean; createNamespaces: boolean; dryRun: boolean; onPlan?: (plan: RehydratePlan) => void},
  hooks: WorkflowHooks,
): Promise<RehydrateRun> {
  const planned = await runStage(`Read ${map.mappings.length} PushSecret(s)' values from the regions and plan`, () => planRehydrate(systems, map, options), hooks)
  const {plan} = planned
  options.onPlan?.(plan)
  const findings = planFindings(plan)
  if (plan.conflicts > 0) return {plan, findings, stoppedAt: 'conflicts', ok: false}
  if (options.dryRun) return {plan, findings, stoppedAt: 'dry-run', ok: findings.length === 0}
  if (plan.missingNamespaces.length > 0 && !options.createNamespaces) {
    throw new ToolkitError('NAMESPACE_MISSING', `namespace(s) ${plan.missingNamespaces.join(', ')} do not exist in ${systems.kube.server}; nothing was written`, {
      hint: 'Apply the GitOps namespaces first, or re-run with --create-namespaces.',
    })
  }
  const writes = planWrites(plan)
  if (writes.length > 0 || plan.missingNamespaces.length > 0) {
    const namespaces = plan.missingNamespaces.length > 0 ? ` and create ${plan.missingNamespaces.length} namespace(s)` : ''
    await confirmGate(hooks, {message: `Write ${writes.length} Secret(s) to ${systems.kube.server}${namespaces}?`})
  }
  const applied = await runStage(`Write ${writes.length} Secret(s) (server-side apply)`, () => applyRehydrate(systems.kube, planned, {createNamespaces: options.createNamespaces}), hooks)
  const verify = await runStage('Check every Secret against Kubernetes and each region', () => verifyRehydrate(systems, planned.resolved), hooks)
  const failed = verify.filter((row) => row.source && row.state !== 'in-sync' && row.state !== 'not-checked')
  return {plan, findings, applied, verify, ok: failed.length === 0 && findings.length === 0}
}
