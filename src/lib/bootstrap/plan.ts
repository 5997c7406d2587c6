import {ToolkitError} from '../errors/errors.js'
import {DEFAULT_REMOTE_KEY_TEMPLATE, pushEntries, pushStores, remoteKeyFor} from '../eso/push-secret.js'
import {EXTERNAL_SECRET_API_VERSION, PUSH_SECRET_API_VERSION} from '../eso/api.js'
import type {KubeClient, KubeObject, ObservedSecret} from '../kube/client.js'
import {renderTable} from '../report/table.js'
import {secretId, type SpecSecret} from './spec.js'

/**
 * create:  the Secret does not exist — ask for its values, create it and its PushSecret.
 * rotate:  it exists and --rotate names it — ask again and replace the values.
 * push:    it exists but its PushSecret does not (an interrupted run, or made by hand) — add the PushSecret only.
 * update:  it exists with a PushSecret that does not push what it must (a region added to or removed from
 *          the configuration, or keys it lacks) — the PushSecret is rewritten and ESO pushes now; values untouched.
 * repush:  it exists with its PushSecret, but a Vault lacks a value or holds a property the Secret no longer
 *          has — ESO is told to push now and the stale properties are removed (check-and-set); values untouched.
 * keep:    it exists with its PushSecret and every Vault holds it — left alone, only checked in the Vaults.
 * cluster: generatedInCluster — ESO makes it from the manifests --output-dir writes; the wizard does not.
 * regenerate: generatedInCluster and named by --rotate — ESO generates a new value (its ExternalSecret is
 *          told to refresh), then pushes it to every Vault.
 */
export type PlanAction = 'create' | 'rotate' | 'push' | 'update' | 'repush' | 'keep' | 'cluster' | 'regenerate'

export interface ObservedState {
  secret?: ObservedSecret
  pushSecretExists: boolean
  /** The PushSecret as the API server returned it (to compare its stores and keys with what it must push). */
  pushSecret?: KubeObject
  /** generatedInCluster only: the ExternalSecret that generates it. */
  externalSecret?: KubeObject
  namespaceExists?: boolean
}

/** How an existing PushSecret differs from the one the configuration asks for (names only). */
export interface PushSecretChange {
  addStores: string[]
  removeStores: string[]
  addKeys: string[]
  removeKeys: string[]
}

export interface PlannedSecret {
  id: string
  secret: SpecSecret
  action: PlanAction
  /** Where ESO pushes it in each region's Vault (KV path below the mount). */
  remoteKey: string
  /** Spec keys the existing Secret lacks (push/keep); `--rotate` re-asks them. */
  missingKeys: string[]
  /** The existing Secret (push/keep): what the Vaults must end up holding. */
  existing?: ObservedSecret
  /** update: what changes in the PushSecret. */
  pushChange?: PushSecretChange
  /** repush: what each Vault lacks (e.g. "region2: missing", "region1: stale zone"). */
  vaultGaps?: string[]
}

export interface BootstrapPlan {
  secrets: PlannedSecret[]
}

/** Secrets the wizard asks values for. */
export function needsValues(planned: PlannedSecret): boolean {
  return planned.action === 'create' || planned.action === 'rotate'
}

/** Secrets this run writes something for (after the confirmation). */
export function isWrite(planned: PlannedSecret): boolean {
  return planned.action !== 'keep' && planned.action !== 'cluster'
}

/** Secrets whose Vault copies the wizard checks at the end. */
export function isVerified(planned: PlannedSecret): boolean {
  return planned.action !== 'cluster'
}

/** Pure: what the existing PushSecret lacks or has too much, against the stores and keys it must push. */
export function pushSecretChange(pushSecret: KubeObject, stores: string[], keys: string[], remoteKey: string): PushSecretChange | undefined {
  const have = pushStores(pushSecret)
  const entries = pushEntries(pushSecret)
  // An entry pushes a key where the wizard expects it only at {namespace}/{name}, property = key.
  const pushed = new Set(entries.filter((entry) => entry.remoteKey === remoteKey && (entry.property ?? entry.secretKey) === entry.secretKey).map((entry) => entry.secretKey))
  const change: PushSecretChange = {
    addStores: stores.filter((store) => !have.has(store)),
    removeStores: [...have].filter((store) => !stores.includes(store)).sort(),
    addKeys: keys.filter((key) => !pushed.has(key)),
    removeKeys: [...new Set(entries.map((entry) => entry.secretKey))].filter((key) => !keys.includes(key)).sort(),
  }
  return Object.values(change).some((list) => list.length > 0) ? change : undefined
}

/** `--rotate ns/name` must name a secret of the spec that the wizard owns. */
export function checkRotateTargets(secrets: SpecSecret[], rotate: string[]): void {
  for (const target of rotate) {
    const secret = secrets.find((candidate) => secretId(candidate) === target)
    if (!secret) {
      const known = secrets.map(secretId).join(', ')
      throw new ToolkitError('ROTATE_UNKNOWN', `--rotate ${target}: the bootstrap spec has no secret ${target} (known: ${known})`, {
        hint: 'Pass --rotate NAMESPACE/NAME of a secret in the spec.',
      })
    }
  }
}

/** A generatedInCluster secret named by --rotate: ESO regenerates it (eso/nudge.ts says how), so its ExternalSecret and Secret must exist. */
function regeneratePlan(id: string, secret: SpecSecret, remoteKey: string, state: ObservedState | undefined): PlannedSecret {
  if (!state?.externalSecret) {
    throw new ToolkitError('ROTATE_NO_EXTERNALSECRET', `--rotate ${id}: ESO generates this secret, but its ExternalSecret ${id} does not exist`, {
      hint: 'Write its manifests with `secrets bootstrap --spec … --output-dir DIR`, apply them (commit them for Flux, or kubectl apply -f DIR), then rotate.',
    })
  }
  if (!state.secret) {
    throw new ToolkitError('ROTATE_NOT_GENERATED', `--rotate ${id}: ESO has not generated this secret yet (the Secret does not exist)`, {
      hint: `Check the ExternalSecret's status: kubectl -n ${secret.namespace} describe externalsecret ${secret.name}`,
    })
  }
  return {id, secret, action: 'regenerate', remoteKey, missingKeys: [], existing: state.secret}
}

/**
 * Pure: what to do with each secret of the spec, given what the cluster holds.
 * With `stores` (every region's ClusterSecretStore), an existing PushSecret
 * that does not push to exactly those stores, or not every key, is planned
 * as `update`.
 */
export function planBootstrap(secrets: SpecSecret[], observed: Map<string, ObservedState>, rotate: string[], stores?: string[]): BootstrapPlan {
  checkRotateTargets(secrets, rotate)
  const rotating = new Set(rotate)
  return {
    secrets: secrets.map((secret): PlannedSecret => {
      const id = secretId(secret)
      const remoteKey = remoteKeyFor(DEFAULT_REMOTE_KEY_TEMPLATE, secret)
      const state = observed.get(id)
      if (secret.generatedInCluster) return rotating.has(id) ? regeneratePlan(id, secret, remoteKey, state) : {id, secret, action: 'cluster', remoteKey, missingKeys: []}
      if (!state?.secret) return {id, secret, action: 'create', remoteKey, missingKeys: []}
      if (rotating.has(id)) return {id, secret, action: 'rotate', remoteKey, missingKeys: [], existing: state.secret}
      const missingKeys = secret.keys.map((key) => key.key).filter((key) => !state.secret!.data.has(key))
      const planned: PlannedSecret = {id, secret, action: 'keep', remoteKey, missingKeys, existing: state.secret}
      if (!state.pushSecretExists) {
        if (missingKeys.length < secret.keys.length) planned.action = 'push'
        return planned
      }
      const change = stores && state.pushSecret ? pushSecretChange(state.pushSecret, stores, pushedKeys(planned), remoteKey) : undefined
      if (change) {
        planned.action = 'update'
        planned.pushChange = change
      }
      return planned
    }),
  }
}

/**
 * Marks the kept secrets that a Vault does not hold as it must (missing,
 * different, or with properties the Secret no longer has) for a re-push:
 * re-running the wizard is then the way to repair a failed wait.
 */
export function markRepush(plan: BootstrapPlan, gaps: Map<string, string[]>): void {
  for (const planned of plan.secrets) {
    const found = gaps.get(planned.id)
    if (planned.action === 'keep' && found && found.length > 0) {
      planned.action = 'repush'
      planned.vaultGaps = found
    }
  }
}

/** Reads, for every secret of the spec, whether it and its PushSecret (and for generated ones its ExternalSecret) exist. Nothing is written. */
export async function observeCluster(kube: KubeClient, secrets: SpecSecret[], options: {rotate?: string[]} = {}): Promise<Map<string, ObservedState>> {
  const observed = new Map<string, ObservedState>()
  const namespaces = new Map<string, boolean>()
  for (const secret of secrets) {
    const id = secretId(secret)
    if (!namespaces.has(secret.namespace)) namespaces.set(secret.namespace, await kube.namespaceExists(secret.namespace))
    const namespaceExists = namespaces.get(secret.namespace)!
    if (secret.generatedInCluster) {
      // Only a rotation reads them: the wizard does not manage generated secrets otherwise.
      if (!options.rotate?.includes(id) || !namespaceExists) {
        observed.set(id, {pushSecretExists: false, namespaceExists})
        continue
      }
      const externalSecret = await kube.read(EXTERNAL_SECRET_API_VERSION, 'ExternalSecret', secret.name, secret.namespace)
      observed.set(id, {secret: await kube.getSecret(secret.namespace, secret.name), pushSecretExists: false, externalSecret, namespaceExists})
      continue
    }
    if (!namespaceExists) {
      observed.set(id, {pushSecretExists: false, namespaceExists})
      continue
    }
    const existing = await kube.getSecret(secret.namespace, secret.name)
    const pushSecret = await kube.read(PUSH_SECRET_API_VERSION, 'PushSecret', secret.name, secret.namespace)
    observed.set(id, {secret: existing, pushSecretExists: pushSecret !== undefined, pushSecret, namespaceExists})
  }
  return observed
}

/** Namespaces the run would create (names only): what the confirmation says. */
export function namespacesToCreate(plan: BootstrapPlan, observed: Map<string, ObservedState>): string[] {
  return [...new Set(plan.secrets.filter((planned) => isWrite(planned) && observed.get(planned.id)?.namespaceExists === false).map((planned) => planned.secret.namespace))].sort()
}

/** The keys a PushSecret may list: ESO fails the whole push when a listed key is absent from the Secret. */
export function pushedKeys(planned: PlannedSecret, written?: Map<string, unknown>): string[] {
  const present = written ?? planned.existing?.data ?? new Map()
  return planned.secret.keys.map((key) => key.key).filter((key) => present.has(key))
}

const ACTION_TEXT: Record<PlanAction, string> = {
  create: 'create',
  rotate: 'rotate (--rotate: values asked again and replaced)',
  push: 'add PushSecret (the Secret exists)',
  update: 'update PushSecret',
  repush: 're-push (the Secret exists)',
  keep: 'keep (exists)',
  cluster: 'skip (generated in the cluster by ESO: see --output-dir)',
  regenerate: 'regenerate (--rotate: ESO generates a new value, pushed to every Vault)',
}

function describeChange(change: PushSecretChange): string {
  const parts = [
    change.addStores.length > 0 ? `add ${change.addStores.join(', ')}` : '',
    change.removeStores.length > 0 ? `stop pushing to ${change.removeStores.join(', ')} (its Vault keeps what it holds)` : '',
    change.addKeys.length > 0 ? `push keys ${change.addKeys.join(', ')}` : '',
    change.removeKeys.length > 0 ? `stop pushing keys ${change.removeKeys.join(', ')}` : '',
  ]
  return parts.filter(Boolean).join('; ')
}

function actionText(planned: PlannedSecret): string {
  if (planned.action === 'update' && planned.pushChange) return `${ACTION_TEXT.update}: ${describeChange(planned.pushChange)}`
  if (planned.action === 'repush' && planned.vaultGaps) return `${ACTION_TEXT.repush}: ${planned.vaultGaps.join('; ')}`
  return ACTION_TEXT[planned.action]
}

function describeKeys(planned: PlannedSecret, collected?: Map<string, Map<string, unknown>>): string {
  const values = collected?.get(planned.id)
  return planned.secret.keys
    .map((key) => {
      if (values && !values.has(key.key)) return `${key.key} (left empty: not created)`
      return key.source === 'generate' ? `${key.key} (generated)` : key.key
    })
    .join(', ')
}

/**
 * The plan before the prompts, and the summary before the confirmation (with
 * `collected`, which keys got a value): names, types, keys and actions — never values.
 */
export function renderPlan(plan: BootstrapPlan, context: {specSource: string; server: string; stores: string[]}, collected?: Map<string, Map<string, unknown>>): string {
  const rows = plan.secrets.map((planned) => {
    const missing = planned.missingKeys.length > 0 ? ` — lacks ${planned.missingKeys.join(', ')} (use --rotate ${planned.id} to enter them)` : ''
    return [planned.id, planned.secret.type, describeKeys(planned, needsValues(planned) ? collected : undefined), `${actionText(planned)}${missing}`]
  })
  return [
    `${collected ? 'Summary of what will be written' : 'Bootstrap plan'} (spec: ${context.specSource}; Kubernetes: ${context.server}):`,
    renderTable(['SECRET', 'TYPE', 'KEYS', 'ACTION'], rows),
    '',
    `Each Secret written gets a PushSecret of the same name pushing every key to ${context.stores.join(', ')} (remote key ${DEFAULT_REMOTE_KEY_TEMPLATE}).`,
  ].join('\n')
}

export interface PlanSummaryJson {
  namespace: string
  name: string
  type: string
  keys: {key: string; source: 'prompt' | 'generate'}[]
  action: PlanAction
  remoteKey: string
  missingKeys: string[]
  pushChange?: PushSecretChange
  vaultGaps?: string[]
}

/** The plan as --json shows it: built field by field so that no value can slip in. */
export function planToJson(plan: BootstrapPlan): PlanSummaryJson[] {
  return plan.secrets.map((planned) => ({
    namespace: planned.secret.namespace,
    name: planned.secret.name,
    type: planned.secret.type,
    keys: planned.secret.keys.map((key) => ({key: key.key, source: key.source})),
    action: planned.action,
    remoteKey: planned.remoteKey,
    missingKeys: planned.missingKeys,
    ...(planned.pushChange ? {pushChange: planned.pushChange} : {}),
    ...(planned.vaultGaps ? {vaultGaps: planned.vaultGaps} : {}),
  }))
}
