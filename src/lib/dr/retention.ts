export interface RetentionRules {
  /** Keep the newest N. */
  keepLast?: number
  /** Keep everything taken within this long before the newest snapshot (--keep-within, parsed by the one duration flag). */
  keepWithinMs?: number
}

export interface Dated {
  name: string
  createdAt: Date
}

export interface RetentionDecision<T extends Dated> {
  keep: {item: T; reasons: string[]}[]
  remove: T[]
}

/**
 * Which snapshots (already narrowed to one region's regular snapshots) a
 * retention policy keeps. As in restic's `forget`, a snapshot stays when any
 * rule keeps it, and --keep-within counts back from the newest snapshot, not
 * from the clock, so a stopped schedule never prunes its last good copies.
 * With no rule at all, everything is kept.
 */
export function applyRetention<T extends Dated>(items: T[], rules: RetentionRules): RetentionDecision<T> {
  const newestFirst = [...items].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || b.name.localeCompare(a.name))
  if (rules.keepLast === undefined && rules.keepWithinMs === undefined) return {keep: newestFirst.map((item) => ({item, reasons: ['no retention rule']})), remove: []}
  const newest = newestFirst[0]?.createdAt.getTime() ?? 0
  const keep: RetentionDecision<T>['keep'] = []
  const remove: T[] = []
  for (const [position, item] of newestFirst.entries()) {
    const reasons: string[] = []
    if (rules.keepLast !== undefined && position < rules.keepLast) reasons.push(`among the newest ${rules.keepLast}`)
    if (rules.keepWithinMs !== undefined && newest - item.createdAt.getTime() <= rules.keepWithinMs) reasons.push('within --keep-within of the newest')
    if (reasons.length > 0) keep.push({item, reasons})
    else remove.push(item)
  }
  return {keep, remove}
}
