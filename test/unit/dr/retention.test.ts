import {applyRetention} from '../../../src/lib/dr/retention.js'

const HOUR = 3_600_000
const DAY = 24 * HOUR

// The --keep-within grammar is the one duration grammar: test/unit/cli/duration.test.ts.
describe('applyRetention', () => {
  const base = Date.parse('2025-02-01T00:00:00Z')
  // Newest first: 0h, 12h, 1d, 2d, 3d, 10d old.
  const items = [0, 12 * HOUR, DAY, 2 * DAY, 3 * DAY, 10 * DAY].map((age, i) => ({name: `s${i}`, createdAt: new Date(base - age)}))
  const names = (list: {name: string}[]) => list.map((x) => x.name)
  const shuffled = [items[3], items[0], items[5], items[1], items[4], items[2]]

  test('no rule keeps everything', () => {
    expect(applyRetention(shuffled, {}).remove).toEqual([])
  })

  test('--keep N keeps the newest N whatever the input order', () => {
    const decision = applyRetention(shuffled, {keepLast: 2})
    expect(names(decision.keep.map((k) => k.item))).toEqual(['s0', 's1'])
    expect(names(decision.remove)).toEqual(['s2', 's3', 's4', 's5'])
  })

  test('--keep-within counts back from the newest snapshot, not from now', () => {
    // Even if the newest is old (a stopped schedule), its window is kept.
    const old = items.map((item) => ({...item, createdAt: new Date(item.createdAt.getTime() - 365 * DAY)}))
    expect(names(applyRetention(old, {keepWithinMs: DAY}).remove)).toEqual(['s3', 's4', 's5'])
  })

  test('the window edge is inclusive', () => {
    expect(names(applyRetention(items, {keepWithinMs: 2 * DAY}).remove)).toEqual(['s4', 's5'])
  })

  test('both rules: a snapshot stays if either keeps it (restic semantics)', () => {
    const decision = applyRetention(items, {keepLast: 4, keepWithinMs: 12 * HOUR})
    expect(names(decision.remove)).toEqual(['s4', 's5'])
    expect(decision.keep[0].reasons).toEqual(['among the newest 4', 'within --keep-within of the newest'])
    expect(decision.keep[3].reasons).toEqual(['among the newest 4'])
  })

  test('keeping more than exist removes nothing', () => {
    expect(applyRetention(items, {keepLast: 100}).remove).toEqual([])
  })
})
