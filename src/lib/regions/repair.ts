import {isToolkitError, ToolkitError} from '../errors/errors.js'
import {isStoreError, type SecretMetadata, type SecretStore, type StoreCapabilities} from '../vault/secret-store.js'
import type {RepairAction, RepairPlan, RepairStep} from './plan.js'
import {forEachLimited} from '../compare/slots.js'
import type {KeyState} from '../compare/types.js'

export type StepResult = 'applied' | 'conflict' | 'failed' | 'not-attempted'

export interface StepOutcome {
  key: string
  action: RepairAction
  result: StepResult
  /** Why it did not apply; names versions and regions, never values. */
  message?: string
  code?: string
}

export interface RepairResult {
  from: string
  to: string
  outcomes: StepOutcome[]
  counts: Record<StepResult, number>
  /** Some step conflicted with a concurrent writer (nothing was overwritten). */
  conflicts: number
  failures: number
}

export interface ApplyOptions {
  /** Keys repaired at once (default 8): a key's own steps always run in order. */
  concurrency?: number
  onProgress?: (done: number, total: number) => void
}

class Conflict extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message)
  }
}

function casConflict(step: RepairStep, target: SecretStore): Conflict {
  const expected = step.targetVersion === 0 ? 'absent' : `at version ${step.targetVersion}`
  return new Conflict(`changed in ${target.name} since it was compared (check-and-set expected it ${expected}); not overwritten`, 'CAS_MISMATCH')
}

/** A key's state as its metadata tells it, in the comparison's terms. */
function stateOf(metadata: SecretMetadata | undefined, version?: number): KeyState | undefined {
  if (!metadata) return 'absent'
  if (version === undefined || version === metadata.currentVersion) {
    if (metadata.currentVersion === 0) return 'no-version'
    return metadata.current.destroyed ? 'destroyed' : metadata.current.deleted ? 'deleted' : 'live'
  }
  const state = metadata.versions?.[version]
  // Trimmed by max_versions, or a backend without version history: nothing to tell.
  if (!state) return undefined
  return state.destroyed ? 'destroyed' : state.deleted ? 'deleted' : 'live'
}

const describeState = (state: KeyState | undefined): string =>
  state === 'deleted' ? 'soft-deleted' : state === 'no-version' ? 'without a version' : state === 'absent' ? 'absent' : (state ?? 'unknown')

/**
 * The target as the comparison saw it, read again right before a change:
 * same current version, and the same deletion state — a soft-delete or a
 * destroy leaves the version number alone, so check-and-set alone would let
 * a repair bring a deleted value back.
 */
async function requireTargetAsCompared(step: RepairStep, target: SecretStore, verb: string, read?: SecretMetadata): Promise<void> {
  const metadata = read ?? (await target.readMetadata(step.key))
  const version = metadata?.currentVersion ?? 0
  if (version !== (step.targetVersion ?? 0)) {
    // For a write this is the check-and-set failing early, and reported as such.
    if (verb === 'overwritten') throw casConflict(step, target)
    throw new Conflict(`changed in ${target.name} since it was compared (version ${step.targetVersion ?? 0}, now ${version}); not ${verb}`, 'TARGET_CHANGED')
  }
  const now = stateOf(metadata)
  if (step.targetState !== undefined && now !== step.targetState) {
    throw new Conflict(
      `version ${step.targetVersion ?? 0} is now ${describeState(now)} in ${target.name} (it was ${describeState(step.targetState)} when compared): someone changed it since; not ${verb}`,
      'TARGET_STATE_CHANGED',
    )
  }
}

/**
 * Copies the source's current value to the target. The value is read again
 * here (the comparison kept only hashes) and must still be the version that
 * was compared; the target's version and deletion state are read again right
 * before the write, which is a check-and-set on the target version that was
 * compared, so a concurrent writer on either side wins and is reported. A
 * soft-delete or destroy that lands between that read and the write (it
 * does not move the version, so check-and-set lets the write through) is
 * caught by reading the state once more afterwards: the written version is
 * then soft-deleted again, so nothing deleted comes back, and the step is a
 * conflict.
 */
async function copyValue(step: RepairStep, source: SecretStore, target: SecretStore): Promise<void> {
  const record = await source.read(step.key)
  if (!record || record.version !== step.sourceVersion) {
    const now = record ? `now version ${record.version}` : 'now has no current value'
    record?.data.clear()
    throw new Conflict(`changed in ${source.name} since it was compared (version ${step.sourceVersion}, ${now}); not copied`, 'SOURCE_CHANGED')
  }
  let written: number
  try {
    // A create is guarded by check-and-set 0 alone: there is no earlier version whose deletion it could undo.
    if (step.action !== 'create') await requireTargetAsCompared(step, target, 'overwritten')
    written = await target.write(step.key, record.data, {cas: step.targetVersion})
  } catch (error) {
    if (isStoreError(error, 'Conflict')) throw casConflict(step, target)
    throw error
  } finally {
    record.data.clear()
  }
  if (step.action === 'create' || step.targetState === undefined) return
  const after = stateOf(await target.readMetadata(step.key), step.targetVersion)
  if (after !== undefined && after !== step.targetState) {
    await target.softDelete(step.key, written)
    throw new Conflict(
      `version ${step.targetVersion} was ${describeState(after)} in ${target.name} while the repair wrote version ${written} on top of it: version ${written} was soft-deleted again, so nothing deleted came back`,
      'TARGET_STATE_CHANGED',
    )
  }
}

/** Deletions have no check-and-set in KV v2: re-read the target's version and state, and stop if either moved. */
async function requireTargetUnchanged(step: RepairStep, target: SecretStore): Promise<boolean> {
  const metadata = await target.readMetadata(step.key)
  if (!metadata) return false
  await requireTargetAsCompared(step, target, 'deleted', metadata)
  return true
}

async function applyStep(step: RepairStep, source: SecretStore, target: SecretStore): Promise<void> {
  switch (step.action) {
    case 'create':
    case 'update-value':
      await copyValue(step, source, target)
      return
    case 'copy-metadata': {
      const metadata = step.metadata!
      await target.writeMetadata(step.key, {
        maxVersions: metadata.maxVersions,
        casRequired: metadata.casRequired,
        deleteVersionAfter: metadata.deleteVersionAfter,
        customMetadata: metadata.customMetadata,
      })
      return
    }
    case 'delete':
      if (await requireTargetUnchanged(step, target)) await target.delete(step.key)
      return
    case 'soft-delete':
      if (await requireTargetUnchanged(step, target)) await target.softDelete(step.key, step.targetVersion!)
  }
}

/**
 * What each action needs of the target store. A repair is only as safe as its
 * guards: a value is written with check-and-set on the version compared, and
 * deletions re-read that version first.
 */
const NEEDS: Record<RepairAction, (keyof StoreCapabilities)[]> = {
  create: ['checkAndSet'],
  'update-value': ['checkAndSet', 'versions'],
  'copy-metadata': ['metadata'],
  delete: ['versions'],
  'soft-delete': ['versions', 'softDelete'],
}

/** Refuses, before anything is written, a plan whose steps the target store cannot carry out with their guards. */
function requireCapabilities(plan: RepairPlan, target: SecretStore): void {
  const lacking = [...new Set(plan.steps.flatMap((step) => NEEDS[step.action].filter((capability) => !target.capabilities[capability])))].sort()
  if (lacking.length > 0) {
    throw new ToolkitError('STORE_UNSUPPORTED', `region ${plan.to}: its store cannot do what the plan needs (${lacking.join(', ')}); nothing was applied`, {
      hint: 'Repair this store by other means, or limit the plan (--path, --exclude, without --delete-extra) to steps it supports.',
    })
  }
}

/**
 * Applies a plan to the target region: keys in parallel, each key's steps in
 * order. A conflict or failure stops that key only and is reported; the rest
 * of the plan still runs. Nothing outside the plan is touched.
 */
export async function applyRepair(plan: RepairPlan, stores: {from: SecretStore; to: SecretStore}, options: ApplyOptions = {}): Promise<RepairResult> {
  if (stores.from.name !== plan.from || stores.to.name !== plan.to) {
    throw new Error(`applyRepair: stores ${stores.from.name}→${stores.to.name} do not match the plan ${plan.from}→${plan.to}`)
  }
  requireCapabilities(plan, stores.to)
  const byKey = new Map<string, RepairStep[]>()
  for (const step of plan.steps) {
    const steps = byKey.get(step.key)
    if (steps) steps.push(step)
    else byKey.set(step.key, [step])
  }
  const outcomes: StepOutcome[] = []
  let done = 0
  await forEachLimited(byKey.values(), options.concurrency ?? 8, async (steps) => {
    let stopped: string | undefined
    for (const step of steps) {
      if (stopped) {
        outcomes.push({key: step.key, action: step.action, result: 'not-attempted', message: `an earlier step of this key ${stopped}`})
        continue
      }
      try {
        await applyStep(step, stores.from, stores.to)
        outcomes.push({key: step.key, action: step.action, result: 'applied'})
      } catch (error) {
        if (error instanceof Conflict) {
          outcomes.push({key: step.key, action: step.action, result: 'conflict', message: error.message, code: error.code})
          stopped = 'conflicted'
        } else {
          const message = isToolkitError(error) ? error.message : `unexpected error: ${(error as Error).message}`
          outcomes.push({key: step.key, action: step.action, result: 'failed', message, code: isToolkitError(error) ? error.code : 'UNEXPECTED'})
          stopped = 'failed'
        }
      }
    }
    done++
    options.onProgress?.(done, byKey.size)
  })
  const order = new Map(plan.steps.map((step, index) => [step, index]))
  const position = (outcome: StepOutcome) => order.get(byKey.get(outcome.key)!.find((step) => step.action === outcome.action)!) ?? 0
  outcomes.sort((x, y) => position(x) - position(y))
  const counts: Record<StepResult, number> = {applied: 0, conflict: 0, failed: 0, 'not-attempted': 0}
  for (const outcome of outcomes) counts[outcome.result]++
  return {from: plan.from, to: plan.to, outcomes, counts, conflicts: counts.conflict, failures: counts.failed}
}
