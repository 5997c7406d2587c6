import type {Survey} from './content-evidence.js'

export interface KeyCounts {
  /** KV v2 mount → number of keys (soft-deleted ones included: their metadata is still there). */
  mounts: Record<string, number>
  /** What could not be counted, and why: the counts are then partial, never silently. */
  notes: string[]
}

/** The key counts of a survey (see content-evidence.ts: one walk gives both). */
export function keyCountsOf(survey: Survey): KeyCounts {
  return {mounts: Object.fromEntries(Object.entries(survey.mounts).map(([mount, found]) => [mount, found.count])), notes: survey.notes}
}

export interface CountComparison {
  mount: string
  expected: number
  actual?: number
}

/** Mounts whose count differs from the expected one (a mount that could not be counted differs too). */
export function compareKeyCounts(expected: Record<string, number>, actual: Record<string, number>): CountComparison[] {
  return Object.entries(expected)
    .filter(([mount, count]) => actual[mount] !== count)
    .map(([mount, count]) => ({mount, expected: count, actual: actual[mount]}))
}
