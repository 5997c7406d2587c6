import {ToolkitError} from '../errors/errors.js'
import {keyScope} from '../compare/scope.js'
import type {ComparedMetadata, KeyDifference, KeyState, RegionComparison, RegionSide} from '../compare/types.js'

export type RepairAction = 'create' | 'update-value' | 'copy-metadata' | 'delete' | 'soft-delete'

export const REPAIR_ACTIONS: RepairAction[] = ['create', 'update-value', 'copy-metadata', 'delete', 'soft-delete']

/**
 * One change to the target region. Steps of the same key run in plan order
 * (value before metadata); a step that fails or conflicts stops that key.
 */
export interface RepairStep {
  key: string
  action: RepairAction
  /** Why, in words an operator can check against the comparison. */
  reason: string
  /** create / update-value: the source version that was compared; a different one at apply time is a conflict. */
  sourceVersion?: number
  /**
   * The target version read by the comparison. create/update-value write with
   * check-and-set on it (0: the key must still be absent); delete/soft-delete
   * re-read it first and stop if it moved.
   */
  targetVersion?: number
  /**
   * The target's state that was compared (live, deleted, destroyed…). A
   * soft-delete or destroy does not change the version number, so the
   * repair re-reads the state too, right before it writes, and after.
   */
  targetState?: KeyState
  /** copy-metadata: the source's metadata, written whole (custom_metadata is replaced, not merged). */
  metadata?: ComparedMetadata
}

export interface SkippedKey {
  key: string
  classes: string[]
  reason: string
}

export interface RepairPlan {
  from: string
  to: string
  prefix: string
  exclude: string[]
  deleteExtra: boolean
  steps: RepairStep[]
  skipped: SkippedKey[]
  /** Steps per action, zero included. */
  counts: Record<RepairAction, number>
  /** Keys the plan changes. */
  keys: number
}

export interface PlanOptions {
  /** The region whose state is copied. */
  from: string
  /** Also delete keys that exist only in the target, and soft-delete target values whose source version is deleted. */
  deleteExtra?: boolean
}

const isLive = (side: RegionSide) => side.state === 'live'

function stepsFor(difference: KeyDifference, from: string, to: string, deleteExtra: boolean): RepairStep[] | SkippedKey {
  const key = difference.key
  const source = difference.regions[from]
  const target = difference.regions[to]
  const skip = (reason: string): SkippedKey => ({key, classes: difference.classes, reason})
  const copyMetadata = (reason: string): RepairStep[] => (source.metadata ? [{key, action: 'copy-metadata', reason, metadata: source.metadata}] : [])

  if (source.state === 'absent') {
    if (!deleteExtra) return skip(`exists only in ${to}; --delete-extra deletes it`)
    return [{key, action: 'delete', reason: `exists only in ${to}`, targetVersion: target.version, targetState: target.state}]
  }
  if (target.state === 'absent') {
    if (!isLive(source)) {
      const mirrored = copyMetadata(`exists only in ${from}, which holds no current value (${source.state}): its metadata is mirrored`)
      return mirrored.length > 0 ? mirrored : skip(`exists only in ${from}, which holds no current value (${source.state}) and no metadata to copy`)
    }
    return [
      {key, action: 'create', reason: `exists only in ${from}`, sourceVersion: source.version, targetVersion: 0, targetState: 'absent'},
      ...copyMetadata(`created from ${from}`),
    ]
  }
  const steps: RepairStep[] = []
  if (isLive(source) && (!isLive(target) || difference.properties.length > 0)) {
    const what = isLive(target) ? `properties differ: ${difference.properties.map((p) => p.property).join(', ')}` : `current version is ${target.state} in ${to}`
    steps.push({key, action: 'update-value', reason: what, sourceVersion: source.version, targetVersion: target.version, targetState: target.state})
  } else if (!isLive(source) && isLive(target)) {
    if (!deleteExtra) return skip(`current version is ${source.state} in ${from} but live in ${to}; --delete-extra soft-deletes it in ${to}`)
    steps.push({key, action: 'soft-delete', reason: `current version is ${source.state} in ${from}`, targetVersion: target.version, targetState: target.state})
  }
  if (difference.metadata.length > 0) steps.push(...copyMetadata(`differs: ${difference.metadata.map((m) => m.field).join(', ')}`))
  return steps
}

/**
 * The changes that make the other region match `options.from`, for the keys
 * of a comparison only. Every key is checked against the comparison's prefix
 * and excludes once more: a repair never reaches outside what was walked.
 */
export function planRepair(comparison: RegionComparison, options: PlanOptions): RepairPlan {
  const [first, second] = comparison.regions
  if (options.from !== first && options.from !== second) {
    throw new ToolkitError('UNKNOWN_REGION', `--from ${options.from} is not one of the compared regions (${first}, ${second})`, {
      hint: `Use --from ${first} or --from ${second}.`,
    })
  }
  if (comparison.incomplete) {
    throw new ToolkitError('INCOMPLETE_COMPARISON', `cannot plan a repair: the comparison stopped early (${comparison.incomplete.message})`, {
      hint: 'Fix the cause and re-run: a repair is planned only from a complete comparison, so that nothing is deleted or overwritten on a partial view.',
    })
  }
  if (comparison.errors.length > 0) {
    throw new ToolkitError('INCOMPLETE_COMPARISON', `cannot plan a repair: ${comparison.errors.length} key(s) could not be read (first: ${comparison.errors[0].key} in ${comparison.errors[0].region})`, {
      hint: 'Fix the read errors (permissions, server health) and re-run: a repair is planned only from a complete comparison.',
    })
  }
  const from = options.from
  const to = from === first ? second : first
  const deleteExtra = options.deleteExtra ?? false
  const scope = keyScope(comparison.prefix, comparison.exclude)
  const steps: RepairStep[] = []
  const skipped: SkippedKey[] = []
  for (const difference of comparison.differences) {
    if (!scope.includes(difference.key)) {
      throw new ToolkitError('OUT_OF_SCOPE', `key ${difference.key} is outside the compared prefix "${comparison.prefix}" or excluded`, {
        hint: 'This is a bug: the comparison returned a key it should not have walked. Nothing was changed.',
      })
    }
    const planned = stepsFor(difference, from, to, deleteExtra)
    if (Array.isArray(planned)) steps.push(...planned)
    else skipped.push(planned)
  }
  const counts = Object.fromEntries(REPAIR_ACTIONS.map((action) => [action, 0])) as Record<RepairAction, number>
  for (const step of steps) counts[step.action]++
  return {from, to, prefix: comparison.prefix, exclude: comparison.exclude, deleteExtra, steps, skipped, counts, keys: new Set(steps.map((step) => step.key)).size}
}

/** Deletions need the target region's name typed, not just "y". */
export function planDeletes(plan: RepairPlan): boolean {
  return plan.counts.delete + plan.counts['soft-delete'] > 0
}
