import {compareRegions} from '../../../src/lib/compare/compare.js'
import {planRepair} from '../../../src/lib/regions/plan.js'
import {renderPlan, renderRepairResult} from '../../../src/lib/regions/render.js'
import {applyRepair} from '../../../src/lib/regions/repair.js'
import type {RegionComparison} from '../../../src/lib/compare/types.js'
import {SecretValue} from '../../../src/lib/secret/secret-value.js'
import {MemoryStore} from '../../helpers/memory-store.js'

const CANARY = 'canary-repair-61c0d2aa'

/** One key per drift class, region1 being the truth. */
function drifted(): [MemoryStore, MemoryStore] {
  const r1 = new MemoryStore('region1')
  const r2 = new MemoryStore('region2')
  for (const store of [r1, r2]) store.put('same', {p: 'v'})
  r1.put('missing', {p: `${CANARY}-missing`}, {customMetadata: {'managed-by': 'eso'}, maxVersions: 7})
  r2.put('extra', {p: `${CANARY}-extra`})
  r1.put('value', {p: `${CANARY}-good`, q: 'same'})
  r2.put('value', {p: `${CANARY}-bad`, q: 'same'}).put('value', {p: `${CANARY}-bad2`, q: 'same'})
  r1.put('meta', {p: 'v'}, {casRequired: true, customMetadata: {'managed-by': 'eso'}})
  r2.put('meta', {p: 'v'}, {customMetadata: {'managed-by': 'manual', stale: 'x'}})
  for (const store of [r1, r2]) store.put('deleted-in-target', {p: `${CANARY}-d`})
  r2.softDeleteCurrent('deleted-in-target')
  for (const store of [r1, r2]) store.put('deleted-in-source', {p: `${CANARY}-s`})
  r1.destroyCurrent('deleted-in-source')
  return [r1, r2]
}

async function compare(r1: MemoryStore, r2: MemoryStore, prefix?: string): Promise<RegionComparison> {
  return compareRegions(r1, r2, {prefix})
}

describe('planRepair', () => {
  test('plans one change per difference; deletions only with deleteExtra', async () => {
    const [r1, r2] = drifted()
    const comparison = await compare(r1, r2)
    const plan = planRepair(comparison, {from: 'region1'})
    expect(plan).toMatchObject({from: 'region1', to: 'region2', deleteExtra: false})
    expect(plan.steps.map((s) => `${s.action} ${s.key}`)).toEqual([
      'update-value deleted-in-target',
      'copy-metadata meta',
      'create missing',
      'copy-metadata missing',
      'update-value value',
    ])
    expect(plan.steps.find((s) => s.key === 'value')).toMatchObject({sourceVersion: 1, targetVersion: 2})
    expect(plan.steps.find((s) => s.key === 'missing' && s.action === 'create')).toMatchObject({targetVersion: 0})
    expect(plan.skipped.map((s) => s.key)).toEqual(['deleted-in-source', 'extra'])

    const withDeletes = planRepair(comparison, {from: 'region1', deleteExtra: true})
    expect(withDeletes.steps.filter((s) => s.action === 'delete' || s.action === 'soft-delete').map((s) => `${s.action} ${s.key} v${s.targetVersion}`)).toEqual([
      'soft-delete deleted-in-source v1',
      'delete extra v1',
    ])
    expect(withDeletes.skipped).toEqual([])
  })

  test('works in either direction', async () => {
    const [r1, r2] = drifted()
    const plan = planRepair(await compare(r1, r2), {from: 'region2', deleteExtra: true})
    expect(plan.to).toBe('region1')
    expect(plan.steps.map((s) => `${s.action} ${s.key}`)).toContain('delete missing')
    expect(plan.steps.map((s) => `${s.action} ${s.key}`)).toContain('create extra')
  })

  test('refuses an unknown --from, an incomplete comparison and keys outside the walked scope', async () => {
    const [r1, r2] = drifted()
    const comparison = await compare(r1, r2)
    expect(() => planRepair(comparison, {from: 'region3'})).toThrow(/--from region3/)
    expect(() => planRepair({...comparison, errors: [{key: 'x', region: 'region2', code: 'PERMISSION_DENIED', message: 'denied'}]}, {from: 'region1'})).toThrow(/could not be read/)
    expect(() => planRepair({...comparison, prefix: 'apps'}, {from: 'region1'})).toThrow(/outside the compared prefix/)
    expect(() => planRepair({...comparison, exclude: ['val*']}, {from: 'region1'})).toThrow(/outside the compared prefix/)
  })

  test('the rendered plan names keys and reasons, never values', async () => {
    const [r1, r2] = drifted()
    const plan = planRepair(await compare(r1, r2), {from: 'region1', deleteExtra: true})
    const text = renderPlan(plan, 'table') + renderPlan(plan, 'markdown') + JSON.stringify(plan)
    expect(text).toContain('cas=2')
    expect(text).not.toContain(CANARY)
  })
})

describe('applyRepair', () => {
  test('makes the target match the source; the re-comparison is in sync', async () => {
    const [r1, r2] = drifted()
    const plan = planRepair(await compare(r1, r2), {from: 'region1', deleteExtra: true})
    const result = await applyRepair(plan, {from: r1, to: r2})
    expect(result.counts).toEqual({applied: plan.steps.length, conflict: 0, failed: 0, 'not-attempted': 0})
    const after = await compare(r1, r2)
    expect(after.differences).toEqual([])
    expect(after.inSync).toBe(true)
    expect(r2.valueOf('value', 'p')).toBe(`${CANARY}-good`)
    expect(r2.entries.get('missing')).toMatchObject({maxVersions: 7, customMetadata: {'managed-by': 'eso'}})
    expect(r2.entries.get('meta')!.customMetadata).toEqual({'managed-by': 'eso'})
    expect(r1.touched()).toEqual([])
    expect(JSON.stringify(result) + renderRepairResult(result, 'table')).not.toContain(CANARY)
  })

  test('a concurrent writer on the target makes check-and-set fail: reported, not overwritten', async () => {
    const [r1, r2] = drifted()
    const plan = planRepair(await compare(r1, r2), {from: 'region1'})
    // Between plan and apply, someone writes a new version of "value" and creates "missing".
    await r2.write('value', new Map([['p', SecretValue.fromString('concurrent-writer')]]))
    await r2.write('missing', new Map([['p', SecretValue.fromString('concurrent-create')]]))
    const result = await applyRepair(plan, {from: r1, to: r2})
    const byKey = (key: string) => result.outcomes.filter((o) => o.key === key).map((o) => `${o.action}:${o.result}`)
    expect(byKey('value')).toEqual(['update-value:conflict'])
    expect(byKey('missing')).toEqual(['create:conflict', 'copy-metadata:not-attempted'])
    expect(result.outcomes.find((o) => o.key === 'value')).toMatchObject({code: 'CAS_MISMATCH', message: expect.stringMatching(/region2 .*version 2.*not overwritten/)})
    expect(r2.valueOf('value', 'p')).toBe('concurrent-writer')
    expect(r2.valueOf('missing', 'p')).toBe('concurrent-create')
    expect(result.conflicts).toBe(2)
    expect(byKey('meta')).toEqual(['copy-metadata:applied'])
  })

  test('a source changed since the comparison is not copied', async () => {
    const [r1, r2] = drifted()
    const plan = planRepair(await compare(r1, r2), {from: 'region1'})
    r1.put('value', {p: 'newer', q: 'same'})
    const result = await applyRepair(plan, {from: r1, to: r2})
    expect(result.outcomes.find((o) => o.key === 'value')).toMatchObject({result: 'conflict', code: 'SOURCE_CHANGED'})
    expect(r2.valueOf('value', 'p')).toBe(`${CANARY}-bad2`)
  })

  test('a delete stops when the target key moved since the comparison', async () => {
    const [r1, r2] = drifted()
    const plan = planRepair(await compare(r1, r2), {from: 'region1', deleteExtra: true})
    r2.put('extra', {p: 'rewritten'})
    const result = await applyRepair(plan, {from: r1, to: r2})
    expect(result.outcomes.find((o) => o.key === 'extra')).toMatchObject({result: 'conflict', code: 'TARGET_CHANGED'})
    expect(r2.valueOf('extra', 'p')).toBe('rewritten')
  })

  test('touches only keys of the plan, under the walked prefix', async () => {
    const [r1, r2] = drifted()
    r1.put('apps/a', {p: '1'})
    r2.put('apps-2/b', {p: '1'})
    r2.put('apps/b', {p: '1'})
    const plan = planRepair(await compare(r1, r2, 'apps'), {from: 'region1', deleteExtra: true})
    await applyRepair(plan, {from: r1, to: r2})
    expect(r2.touched()).toEqual(['apps/a', 'apps/b'])
    expect(r2.version('apps-2/b')).toBe(1)
  })

  test('a failed step is reported and the rest of the plan still runs', async () => {
    const [r1, r2] = drifted()
    const plan = planRepair(await compare(r1, r2), {from: 'region1'})
    r2.failWith = (method, key) => (method === 'write' && key === 'value' ? Object.assign(new Error('boom'), {}) : undefined)
    const result = await applyRepair(plan, {from: r1, to: r2})
    expect(result.outcomes.find((o) => o.key === 'value')).toMatchObject({result: 'failed', code: 'UNEXPECTED'})
    expect(result.counts.applied).toBe(plan.steps.length - 1)
  })

  test('a target store without the capabilities the plan needs is refused before anything is written', async () => {
    const [r1, r2] = drifted()
    const plan = planRepair(await compare(r1, r2), {from: 'region1', deleteExtra: true})
    Object.assign(r2.capabilities, {softDelete: false, metadata: false})
    await expect(applyRepair(plan, {from: r1, to: r2})).rejects.toThrow(/region region2: its store cannot do what the plan needs \(metadata, softDelete\); nothing was applied/)
    expect(r2.touched()).toEqual([])
  })
})

describe('applyRepair against a concurrent soft-delete or destroy (the version number does not move)', () => {
  /** region1 holds the truth for "k"; region2 holds another value at version 1. */
  function pair(): [MemoryStore, MemoryStore] {
    const r1 = new MemoryStore('region1').put('k', {p: `${CANARY}-truth`})
    const r2 = new MemoryStore('region2').put('k', {p: `${CANARY}-old`})
    return [r1, r2]
  }

  test.each([
    ['soft-deleted', (store: MemoryStore) => store.softDeleteCurrent('k')],
    ['destroyed', (store: MemoryStore) => store.destroyCurrent('k')],
  ])('%s between the comparison and the repair: a conflict, nothing written', async (state, act) => {
    const [r1, r2] = pair()
    const plan = planRepair(await compare(r1, r2), {from: 'region1'})
    act(r2)
    const result = await applyRepair(plan, {from: r1, to: r2})
    expect(result.outcomes).toEqual([expect.objectContaining({key: 'k', action: 'update-value', result: 'conflict', code: 'TARGET_STATE_CHANGED', message: expect.stringContaining(`is now ${state} in region2`)})])
    expect(r2.version('k')).toBe(1)
    expect(r2.valueOf('k', 'p')).toBeUndefined()
    expect(r2.touched()).toEqual([])
  })

  test.each([
    ['soft-deleted', (store: MemoryStore) => store.softDeleteCurrent('k')],
    ['destroyed', (store: MemoryStore) => store.destroyCurrent('k')],
  ])('%s after the last check, just before the write lands: the written version is soft-deleted again, a conflict', async (state, act) => {
    const [r1, r2] = pair()
    const plan = planRepair(await compare(r1, r2), {from: 'region1'})
    r2.beforeWrite = (key) => {
      r2.beforeWrite = undefined
      act(r2)
      expect(key).toBe('k')
    }
    const result = await applyRepair(plan, {from: r1, to: r2})
    expect(result.outcomes).toEqual([
      expect.objectContaining({key: 'k', result: 'conflict', code: 'TARGET_STATE_CHANGED', message: expect.stringMatching(new RegExp(`version 1 was ${state} in region2 .*version 2 was soft-deleted again`))}),
    ])
    // Check-and-set let the write through (version 1 was still the current one), but nothing readable came back.
    expect(r2.version('k')).toBe(2)
    expect(r2.valueOf('k', 'p')).toBeUndefined()
    expect(JSON.stringify(result)).not.toContain(CANARY)
  })

  test('a delete step stops when the key was soft-deleted since the comparison', async () => {
    const r1 = new MemoryStore('region1')
    const r2 = new MemoryStore('region2').put('extra', {p: 'x'})
    const plan = planRepair(await compare(r1, r2), {from: 'region1', deleteExtra: true})
    r2.softDeleteCurrent('extra')
    const result = await applyRepair(plan, {from: r1, to: r2})
    expect(result.outcomes).toEqual([expect.objectContaining({key: 'extra', action: 'delete', result: 'conflict', code: 'TARGET_STATE_CHANGED'})])
    expect(r2.entries.has('extra')).toBe(true)
  })

  test('an unchanged target is still repaired (the extra reads cost no conflict)', async () => {
    const [r1, r2] = pair()
    const result = await applyRepair(planRepair(await compare(r1, r2), {from: 'region1'}), {from: r1, to: r2})
    expect(result.counts).toMatchObject({applied: 1, conflict: 0})
    expect(r2.valueOf('k', 'p')).toBe(`${CANARY}-truth`)
  })
})
