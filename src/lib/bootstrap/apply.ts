import type {RegionConfig} from '../config/schema.js'
import {isToolkitError, ToolkitError} from '../errors/errors.js'
import {applySecretAndPushSecret, PUSH_REQUESTED_ANNOTATION, withPushRequest, type WrittenKind} from '../eso/apply.js'
import {buildPushSecret, DEFAULT_REMOTE_KEY_TEMPLATE, MANAGED_BY_LABEL, MANAGED_BY_VALUE, type PushSecret, type PushSecretOptions} from '../eso/push-secret.js'
import type {KubeClient} from '../kube/client.js'
import type {PlannedSecret} from './plan.js'
import {pushedKeys} from './plan.js'
import type {SecretValues} from './values.js'

export const CREATED_BY_LABEL = 'secrets-toolkit.io/created-by'
export const CREATED_BY_VALUE = 'bootstrap'
export {PUSH_REQUESTED_ANNOTATION}

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
  return withPushRequest(buildPushSecret({namespace: planned.secret.namespace, name: planned.secret.name, keys}, regions, BOOTSTRAP_PUSH_OPTIONS), requestedAt)
}

/**
 * Writes one secret: the Secret, then its PushSecret with a push request
 * (eso/apply.ts says why in that order). A stop between the two leaves a
 * Secret without its PushSecret, which the re-run plans as "add PushSecret".
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
  const onWritten = (kind: WrittenKind) => {
    if (kind === 'Secret') state.secret = true
    else state.pushSecret = true
  }
  if (planned.action === 'push') {
    const pushSecret = buildPushSecret({namespace, name, keys: pushedKeys(planned)}, regions, BOOTSTRAP_PUSH_OPTIONS)
    await applySecretAndPushSecret(kube, {pushSecret, pushSecretChanged: true}, {forcePushSecret: false, onWritten, now})
    return
  }
  if (!values) throw new ToolkitError('INTERNAL', `${planned.id}: no values were collected`)
  const pushSecret = buildPushSecret({namespace, name, keys: pushedKeys(planned, values)}, regions, BOOTSTRAP_PUSH_OPTIONS)
  await applySecretAndPushSecret(
    kube,
    {
      // A rotation replaces fields another manager may own (kubectl, an earlier tool): --rotate is the operator's say-so.
      secret: {spec: {namespace, name, type, labels: BOOTSTRAP_LABELS, annotations: {}, data: values}, force: planned.action === 'rotate'},
      pushSecret,
      // The PushSecret may exist (rotate) or not (create); it is written either way, with the push request.
      pushSecretChanged: true,
    },
    {forcePushSecret: false, onWritten, now},
  )
}

/** One line per secret: what exists after an interrupted run. Names only. */
export function describeApplied(secrets: PlannedSecret[], states: Map<string, AppliedState>): string[] {
  const lines: string[] = []
  for (const planned of secrets) {
    if (planned.action === 'keep' || planned.action === 'cluster') continue
    const state = states.get(planned.id)
    if (planned.action === 'push') {
      lines.push(`${planned.id}: ${state?.pushSecret ? 'PushSecret added' : 'PushSecret not added (the Secret exists)'}`)
    } else if (state?.secret && state.pushSecret) {
      lines.push(`${planned.id}: ${planned.action === 'rotate' ? 'rotated' : 'created'} (Secret and PushSecret)`)
    } else if (state?.secret) {
      lines.push(`${planned.id}: Secret ${planned.action === 'rotate' ? 'rotated' : 'created'}, its PushSecret NOT written: nothing pushes it to the Vaults yet`)
    } else {
      lines.push(`${planned.id}: NOT ${planned.action === 'rotate' ? 'rotated' : 'created'}`)
    }
  }
  return lines
}

/** The error of an interrupted apply: the cause, what exists, and that a re-run completes it. */
export function incompleteError(cause: unknown, secrets: PlannedSecret[], states: Map<string, AppliedState>): ToolkitError {
  const reason = isToolkitError(cause) ? cause.message : `unexpected error: ${(cause as Error)?.message ?? String(cause)}`
  // A rotated Secret whose PushSecret write failed was not pushed; rotating it again writes both.
  const rotations = secrets.filter((planned) => planned.action === 'rotate' && !states.get(planned.id)?.pushSecret).map((planned) => planned.id)
  const rerun = rotations.length > 0 ? ` (with --rotate ${rotations.join(' --rotate ')} for the rotations not done)` : ''
  return new ToolkitError('BOOTSTRAP_INCOMPLETE', `stopped: ${reason}\nState of each secret:\n  ${describeApplied(secrets, states).join('\n  ')}`, {
    hint: `Re-run the same command${rerun} once the cause is fixed: existing Secrets are kept (one without its PushSecret gets it), and only the missing ones are asked for.`,
    exitCode: isToolkitError(cause) ? cause.exitCode : undefined,
  })
}
