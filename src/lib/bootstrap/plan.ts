import {ToolkitError} from '../errors/errors.js'
import {DEFAULT_REMOTE_KEY_TEMPLATE, remoteKeyFor} from '../eso/push-secret.js'
import {PUSH_SECRET_API_VERSION} from '../eso/api.js'
import type {KubeClient, ObservedSecret} from '../kube/client.js'
import {renderTable} from '../report/table.js'
import {secretId, type SpecSecret} from './spec.js'

/**
 * create:  the Secret does not exist — ask for its values, create it and its PushSecret.
 * rotate:  it exists and --rotate names it — ask again and replace the values.
 * push:    it exists but its PushSecret does not (an interrupted run, or made by hand) — add the PushSecret only.
 * keep:    it exists with its PushSecret — left alone, only checked in the Vaults.
 * cluster: generatedInCluster — ESO makes it from the manifests --output-dir writes; the wizard does not.
 */
export type PlanAction = 'create' | 'rotate' | 'push' | 'keep' | 'cluster'

export interface ObservedState {
  secret?: ObservedSecret
  pushSecretExists: boolean
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
}

export interface BootstrapPlan {
  secrets: PlannedSecret[]
}

/** Secrets the wizard asks values for. */
export function needsValues(planned: PlannedSecret): boolean {
  return planned.action === 'create' || planned.action === 'rotate'
}

/** Secrets whose Vault copies the wizard checks at the end. */
export function isVerified(planned: PlannedSecret): boolean {
  return planned.action !== 'cluster'
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
    if (secret.generatedInCluster) {
      throw new ToolkitError('ROTATE_CLUSTER_GENERATED', `--rotate ${target}: this secret is generated in the cluster by ESO, not by the wizard`, {
        hint: `Rotate it in the cluster: kubectl -n ${secret.namespace} annotate externalsecret ${secret.name} force-sync=$(date +%s) --overwrite`,
      })
    }
  }
}

/** Pure: what to do with each secret of the spec, given what the cluster holds. */
export function planBootstrap(secrets: SpecSecret[], observed: Map<string, ObservedState>, rotate: string[]): BootstrapPlan {
  checkRotateTargets(secrets, rotate)
  const rotating = new Set(rotate)
  return {
    secrets: secrets.map((secret) => {
      const id = secretId(secret)
      const remoteKey = remoteKeyFor(DEFAULT_REMOTE_KEY_TEMPLATE, secret)
      if (secret.generatedInCluster) return {id, secret, action: 'cluster', remoteKey, missingKeys: []}
      const state = observed.get(id) ?? {pushSecretExists: false}
      if (!state.secret) return {id, secret, action: 'create', remoteKey, missingKeys: []}
      if (rotating.has(id)) return {id, secret, action: 'rotate', remoteKey, missingKeys: [], existing: state.secret}
      const missingKeys = secret.keys.map((key) => key.key).filter((key) => !state.secret!.data.has(key))
      const action: PlanAction = state.pushSecretExists || missingKeys.length === secret.keys.length ? 'keep' : 'push'
      return {id, secret, action, remoteKey, missingKeys, existing: state.secret}
    }),
  }
}

/** Reads, for every secret the wizard owns, whether it and its PushSecret exist (nothing is written). */
export async function observeCluster(kube: KubeClient, secrets: SpecSecret[]): Promise<Map<string, ObservedState>> {
  const observed = new Map<string, ObservedState>()
  for (const secret of secrets) {
    if (secret.generatedInCluster) continue
    const existing = await kube.getSecret(secret.namespace, secret.name)
    const pushSecret = await kube.read(PUSH_SECRET_API_VERSION, 'PushSecret', secret.name, secret.namespace)
    observed.set(secretId(secret), {secret: existing, pushSecretExists: pushSecret !== undefined})
  }
  return observed
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
  keep: 'keep (exists)',
  cluster: 'skip (generated in the cluster by ESO: see --output-dir)',
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
    return [planned.id, planned.secret.type, describeKeys(planned, needsValues(planned) ? collected : undefined), `${ACTION_TEXT[planned.action]}${missing}`]
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
  }))
}
