import {isToolkitError} from '../errors/errors.js'
import type {SecretStore} from '../vault/secret-store.js'
import type {RepairAction, RepairPlan, RepairStep} from './plan.js'
import {forEachLimited} from './slots.js'

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

/**
 * Copies the source's current value to the target. The value is read again
 * here (the comparison kept only hashes) and must still be the version that
 * was compared; the write is a check-and-set on the target version that was
 * compared, so a concurrent writer on either side wins and is reported.
 */
async function copyValue(step: RepairStep, source: SecretStore, target: SecretStore): Promise<void> {
  const record = await source.read(step.key)
  if (!record || record.version !== step.sourceVersion) {
    const now = record ? `now version ${record.version}` : 'now has no current value'
    throw new Conflict(`changed in ${source.name} since it was compared (version ${step.sourceVersion}, ${now}); not copied`, 'SOURCE_CHANGED')
  }
  try {
    await target.write(step.key, record.data, {cas: step.targetVersion})
  } catch (error) {
    if (isToolkitError(error) && error.code === 'CAS_MISMATCH') {
      const expected = step.targetVersion === 0 ? 'absent' : `at version ${step.targetVersion}`
      throw new Conflict(`changed in ${target.name} since it was compared (check-and-set expected it ${expected}); not overwritten`, 'CAS_MISMATCH')
    }
    throw error
  } finally {
    record.data.clear()
  }
}

/** Deletions have no check-and-set in KV v2: re-read the target's version and stop if it moved. */
async function requireTargetUnchanged(step: RepairStep, target: SecretStore): Promise<boolean> {
  const metadata = await target.readMetadata(step.key)
  if (!metadata) return false
  if (metadata.currentVersion !== step.targetVersion) {
    throw new Conflict(`changed in ${target.name} since it was compared (version ${step.targetVersion}, now ${metadata.currentVersion}); not deleted`, 'TARGET_CHANGED')
  }
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
 * Applies a plan to the target region: keys in parallel, each key's steps in
 * order. A conflict or failure stops that key only and is reported; the rest
 * of the plan still runs. Nothing outside the plan is touched.
 */
export async function applyRepair(plan: RepairPlan, stores: {from: SecretStore; to: SecretStore}, options: ApplyOptions = {}): Promise<RepairResult> {
  if (stores.from.name !== plan.from || stores.to.name !== plan.to) {
    throw new Error(`applyRepair: stores ${stores.from.name}→${stores.to.name} do not match the plan ${plan.from}→${plan.to}`)
  }
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
