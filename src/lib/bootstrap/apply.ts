import type {RegionConfig} from '../config/schema.js'
import {isToolkitError, ToolkitError} from '../errors/errors.js'
import {buildPushSecret, DEFAULT_REMOTE_KEY_TEMPLATE, MANAGED_BY_LABEL, MANAGED_BY_VALUE, type PushSecret, type PushSecretOptions} from '../eso/push-secret.js'
import type {KubeClient} from '../kube/client.js'
import type {PlannedSecret} from './plan.js'
import {pushedKeys} from './plan.js'
import type {SecretValues} from './values.js'

export const CREATED_BY_LABEL = 'secrets-toolkit.io/created-by'
export const CREATED_BY_VALUE = 'bootstrap'
/**
 * Changing it makes ESO push at once: the PushSecret controller does not
 * watch Secrets, but it re-pushes whenever the PushSecret's labels or
 * annotations change. A timestamp, never anything derived from a value.
 */
export const PUSH_REQUESTED_ANNOTATION = 'secrets-toolkit.io/push-requested-at'

export const BOOTSTRAP_LABELS = {[MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [CREATED_BY_LABEL]: CREATED_BY_VALUE}

export const BOOTSTRAP_PUSH_OPTIONS: PushSecretOptions = {
  remoteKeyTemplate: DEFAULT_REMOTE_KEY_TEMPLATE,
  // Credentials outlive their PushSecret: deleting it must not delete them from the Vaults.
  deletionPolicy: 'None',
  refreshInterval: '1h',
  labels: BOOTSTRAP_LABELS,
}

/** What this run has written so far, per secret: reported when a later step fails. */
export interface AppliedState {
  namespace: boolean
  pushSecret: boolean
  secret: boolean
}

export function pushSecretFor(planned: PlannedSecret, keys: string[], regions: RegionConfig[], requestedAt: Date): PushSecret {
  const object = buildPushSecret({namespace: planned.secret.namespace, name: planned.secret.name, keys}, regions, BOOTSTRAP_PUSH_OPTIONS)
  object.metadata.annotations = {[PUSH_REQUESTED_ANNOTATION]: requestedAt.toISOString()}
  return object
}

/**
 * Writes one secret. The PushSecret goes first, so that the Secret — whose
 * existence is what a re-run checks — never exists without it: an
 * interruption leaves either nothing, or a PushSecret waiting for its
 * Secret, and the re-run creates the Secret. The PushSecret is applied again
 * after the Secret so that ESO pushes the final values at once.
 */
export async function applyPlannedSecret(
  kube: KubeClient,
  planned: PlannedSecret,
  values: SecretValues | undefined,
  regions: RegionConfig[],
  state: AppliedState,
  now: () => Date = () => new Date(),
): Promise<void> {
  if (planned.action === 'keep' || planned.action === 'cluster') return
  const {namespace, name, type} = planned.secret
  await kube.ensureNamespace(namespace)
  state.namespace = true
  if (planned.action === 'push') {
    await kube.apply(pushSecretFor(planned, pushedKeys(planned), regions, now()))
    state.pushSecret = true
    return
  }
  if (!values) throw new ToolkitError('INTERNAL', `${planned.id}: no values were collected`)
  const keys = pushedKeys(planned, values)
  await kube.apply(pushSecretFor(planned, keys, regions, now()))
  state.pushSecret = true
  // A rotation replaces fields another manager may own (kubectl, an earlier tool): --rotate is the operator's say-so.
  await kube.applySecret({namespace, name, type, labels: BOOTSTRAP_LABELS, annotations: {}, data: values}, {force: planned.action === 'rotate'})
  state.secret = true
  await kube.apply(pushSecretFor(planned, keys, regions, now()))
}

/** One line per secret: what exists after an interrupted run. Names only. */
export function describeApplied(secrets: PlannedSecret[], states: Map<string, AppliedState>): string[] {
  const lines: string[] = []
  for (const planned of secrets) {
    if (planned.action === 'keep' || planned.action === 'cluster') continue
    const state = states.get(planned.id)
    if (planned.action === 'push') {
      lines.push(`${planned.id}: ${state?.pushSecret ? 'PushSecret added' : 'PushSecret not added (the Secret exists)'}`)
    } else if (state?.secret) {
      lines.push(`${planned.id}: ${planned.action === 'rotate' ? 'rotated' : 'created'} (Secret and PushSecret)`)
    } else if (state?.pushSecret) {
      lines.push(`${planned.id}: NOT ${planned.action === 'rotate' ? 'rotated' : 'created'} — only its PushSecret exists, waiting for the Secret`)
    } else {
      lines.push(`${planned.id}: NOT ${planned.action === 'rotate' ? 'rotated' : 'created'}`)
    }
  }
  return lines
}

/** The error of an interrupted apply: the cause, what exists, and that a re-run completes it. */
export function incompleteError(cause: unknown, secrets: PlannedSecret[], states: Map<string, AppliedState>): ToolkitError {
  const reason = isToolkitError(cause) ? cause.message : `unexpected error: ${(cause as Error)?.message ?? String(cause)}`
  const rotations = secrets.filter((planned) => planned.action === 'rotate' && !states.get(planned.id)?.secret).map((planned) => planned.id)
  const rerun = rotations.length > 0 ? ` (with --rotate ${rotations.join(' --rotate ')} for the rotations not done)` : ''
  return new ToolkitError('BOOTSTRAP_INCOMPLETE', `stopped: ${reason}\nState of each secret:\n  ${describeApplied(secrets, states).join('\n  ')}`, {
    hint: `A Secret is never left without its PushSecret. Re-run the same command${rerun} once the cause is fixed: existing Secrets are kept, and only the missing ones are asked for.`,
    exitCode: isToolkitError(cause) ? cause.exitCode : undefined,
  })
}
