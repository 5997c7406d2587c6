// dr restore --compare-region needs only two stores: here two in-memory ones.
import {compareWithRegion} from '../../../src/lib/dr/compare-region.js'
import {StoreError} from '../../../src/lib/vault/secret-store.js'
import {MemoryStore} from '../../helpers/memory-store.js'

const region = (store: MemoryStore) => ({name: store.name, store, close: async () => {}})

describe('compareWithRegion', () => {
  test('in sync, then drift after a write to one side', async () => {
    const restored = new MemoryStore('region1').put('app/db', {password: 'pw'})
    const other = new MemoryStore('region2').put('app/db', {password: 'pw'})
    const same = await compareWithRegion(region(restored), region(other))
    expect(same.inSync).toBe(true)
    expect(same.summary).toMatch(/^Compared region1 and region2 \(whole mount\): 1 keys in .* — IN SYNC$/)
    other.put('app/db', {password: 'changed'})
    const drift = await compareWithRegion(region(restored), region(other))
    expect(drift.inSync).toBe(false)
    expect(drift.summary).toMatch(/DRIFT: 1 of 1 key\(s\) differ/)
  })

  test('the other region must be ready before anything is read', async () => {
    const restored = new MemoryStore('region1')
    const other = new MemoryStore('region2')
    other.failWith = (method) => (method === 'ready' ? new StoreError('Unavailable', 'SEALED', 'region region2 is sealed') : undefined)
    await expect(compareWithRegion(region(restored), region(other))).rejects.toThrow('region region2 is sealed')
    expect(restored.calls).toEqual([])
  })
})
