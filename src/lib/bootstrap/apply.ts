import type {RegionConfig} from '../config/schema.js'
import {isToolkitError, ToolkitError} from '../errors/errors.js'
import {applySecretAndPushSecret, PUSH_REQUESTED_ANNOTATION, withPushRequest, type WrittenKind} from '../eso/apply.js'
import {buildPushSecret, DEFAULT_REMOTE_KEY_TEMPLATE, MANAGED_BY_LABEL, MANAGED_BY_VALUE, type PushSecret, type PushSecretOptions} from '../eso/push-secret.js'
import {requestPush, requestRegeneration} from '../eso/nudge.js'
import {readyCondition, describeReady} from '../eso/status.js'
import {EXTERNAL_SECRET_API_VERSION} from '../eso/api.js'
import type {KubeClient} from '../kube/client.js'
import type {PlannedSecret} from './plan.js'
import {isWrite, pushedKeys} from './plan.js'
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

export interface ApplyOptions {
  now?: () => Date
  /** regenerate: how long ESO may take to write the new value. */
  regenerateTimeoutMs?: number
  sleep?: (ms: number) => Promise<unknown>
}

/**
 * Writes one secret: the Secret, then its PushSecret with a push request
 * (eso/apply.ts says why in that order). A stop between the two leaves a
 * Secret without its PushSecret, which the re-run plans as "add PushSecret".
 * Answers the values the Vaults must hold when this run changed them
 * (regenerate: what ESO generated), else undefined.
 */
export async function applyPlannedSecret(
  kube: KubeClient,
  planned: PlannedSecret,
  values: SecretValues | undefined,
  regions: RegionConfig[],
  state: AppliedState,
  options: ApplyOptions = {},
): Promise<SecretValues | undefined> {
  const {now = () => new Date(), regenerateTimeoutMs = 120_000, sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))} = options
  if (!isWrite(planned)) return undefined
  const {namespace, name, type} = planned.secret
  if (planned.action === 'regenerate') return regenerate(kube, planned, state, {now, regenerateTimeoutMs, sleep})
  await kube.ensureNamespace(namespace)
  state.namespace = true
  const onWritten = (kind: WrittenKind) => {
    if (kind === 'Secret') state.secret = true
    else state.pushSecret = true
  }
  if (planned.action === 'push' || planned.action === 'update' || planned.action === 'repush') {
    // The PushSecret as the configuration asks for it (every region's store, every key the Secret has), with a push request.
    // The Secret's record for `dr rehydrate`: as it exists (kubectl's last-applied annotation is never recorded).
    const existing = planned.existing!
    const pushSecret = buildPushSecret({namespace, name, keys: pushedKeys(planned)}, regions, {
      ...BOOTSTRAP_PUSH_OPTIONS,
      record: {type: existing.type, labels: existing.labels, annotations: existing.annotations},
    })
    // update: the plan showed the operator what changes in it; the toolkit takes it over from whoever wrote it.
    await applySecretAndPushSecret(kube, {pushSecret, pushSecretChanged: true}, {forcePushSecret: planned.action === 'update', onWritten, now})
    return undefined
  }
  if (!values) throw new ToolkitError('INTERNAL', `${planned.id}: no values were collected`)
  // The Secret's record for `dr rehydrate`: exactly as applied below.
  const pushSecret = buildPushSecret({namespace, name, keys: pushedKeys(planned, values)}, regions, {...BOOTSTRAP_PUSH_OPTIONS, record: {type, labels: BOOTSTRAP_LABELS, annotations: {}}})
  await applySecretAndPushSecret(
    kube,
    {
      // A rotation replaces fields another manager may own (kubectl, an earlier tool): --rotate is the operator's say-so.
      secret: {spec: {namespace, name, type, labels: BOOTSTRAP_LABELS, annotations: {}, data: values}, force: planned.action === 'rotate'},
      pushSecret,
      // The PushSecret may exist (rotate) or not (create); it is written either way, with the push request.
      pushSecretChanged: true,
    },
    {forcePushSecret: planned.action === 'rotate', onWritten, now},
  )
  return values
}

/** How long the Secret must stay unchanged, after ESO recorded its sync, before its values count as the rotation's result. */
export const REGENERATE_SETTLE_MS = 2_000

/**
 * A generatedInCluster secret: ESO generates new values (eso/nudge.ts), the
 * wizard waits until the Secret holds them — every key changed, ESO's sync
 * recorded, the Secret unchanged for REGENERATE_SETTLE_MS — then asks ESO to
 * push them now. The new values stay in memory, for the wait.
 */
async function regenerate(
  kube: KubeClient,
  planned: PlannedSecret,
  state: AppliedState,
  options: {now: () => Date; regenerateTimeoutMs: number; sleep: (ms: number) => Promise<unknown>},
): Promise<SecretValues> {
  const {namespace, name} = planned.secret
  const before = planned.existing!.data
  const keys = planned.secret.keys.map((key) => key.key)
  const clock = () => options.now().getTime()
  await requestRegeneration(kube, {namespace, name}, options.now())
  const deadline = clock() + options.regenerateTimeoutMs
  // ESO can regenerate twice for one request: the Secret it writes wakes a
  // second reconcile that may still read the ExternalSecret without the sync
  // record from its cache. The values taken are those that stay once ESO has
  // recorded the sync; taking the first new ones made the wait for the
  // Vaults expect values that were already replaced (about one run in three).
  let settled: {version: string | undefined; since: number} | undefined
  for (;;) {
    const current = await kube.getSecret(namespace, name)
    const data = current?.data ?? (new Map() as SecretValues)
    const changed = keys.every((key) => data.has(key) && !before.get(key)?.equals(data.get(key)!))
    if (changed && (await syncRecorded(kube, namespace, name))) {
      if (!settled || settled.version !== current?.resourceVersion) settled = {version: current?.resourceVersion, since: clock()}
      else if (clock() - settled.since >= REGENERATE_SETTLE_MS) {
        state.secret = true
        await requestPush(kube, {namespace, name}, options.now())
        state.pushSecret = true
        return new Map(keys.map((key) => [key, data.get(key)!]))
      }
    } else settled = undefined
    if (clock() >= deadline) {
      const externalSecret = await kube.read(EXTERNAL_SECRET_API_VERSION, 'ExternalSecret', name, namespace).catch(() => undefined)
      const ready = readyCondition(externalSecret)
      throw new ToolkitError('REGENERATE_TIMEOUT', `${planned.id}: ESO did not write new values within ${Math.round(options.regenerateTimeoutMs / 1000)} s (ExternalSecret ${ready ? `Ready=${ready.status} ${describeReady(ready)}` : 'without a Ready condition'})`, {
        hint: `Check the ESO controller and \`kubectl -n ${namespace} describe externalsecret ${name}\`, then rotate again.`,
      })
    }
    await options.sleep(500)
  }
}

/** ESO has recorded a sync of the ExternalSecret since its record was cleared for the regeneration. */
async function syncRecorded(kube: KubeClient, namespace: string, name: string): Promise<boolean> {
  const externalSecret = await kube.read(EXTERNAL_SECRET_API_VERSION, 'ExternalSecret', name, namespace)
  const refreshTime = (externalSecret?.status as {refreshTime?: unknown} | undefined)?.refreshTime
  return typeof refreshTime === 'string' && refreshTime !== ''
}

/** One line per secret: what exists after an interrupted run. Names only. */
export function describeApplied(secrets: PlannedSecret[], states: Map<string, AppliedState>): string[] {
  const lines: string[] = []
  for (const planned of secrets) {
    if (!isWrite(planned)) continue
    const state = states.get(planned.id)
    if (planned.action === 'push') {
      lines.push(`${planned.id}: ${state?.pushSecret ? 'PushSecret added' : 'PushSecret not added (the Secret exists)'}`)
    } else if (planned.action === 'update' || planned.action === 'repush') {
      lines.push(`${planned.id}: ${state?.pushSecret ? `PushSecret ${planned.action === 'update' ? 'updated' : 're-pushed'}` : `PushSecret NOT ${planned.action === 'update' ? 'updated' : 're-pushed'} (the Secret is unchanged)`}`)
    } else if (planned.action === 'regenerate') {
      lines.push(`${planned.id}: ${state?.pushSecret ? 'regenerated by ESO and pushed' : state?.secret ? 'regenerated by ESO, NOT pushed yet' : 'NOT regenerated (or not seen in time)'}`)
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
