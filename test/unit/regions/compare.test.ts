import {classifyKey, snapshotOf} from '../../../src/lib/compare/classify.js'
import {compareRegions, IncompleteComparisonError} from '../../../src/lib/compare/compare.js'
import {planRepair} from '../../../src/lib/regions/plan.js'
import {renderComparison} from '../../../src/lib/compare/render.js'
import {globToRegExp, keyScope} from '../../../src/lib/compare/scope.js'
import {Slots} from '../../../src/lib/compare/slots.js'
import {StoreRequestError} from '../../../src/lib/vault/errors.js'
import {MemoryStore} from '../../helpers/memory-store.js'

const CANARY = 'canary-compare-9f3b2c71'

function pair(): [MemoryStore, MemoryStore] {
  return [new MemoryStore('region1'), new MemoryStore('region2')]
}

function both(stores: MemoryStore[], key: string, data: Record<string, string>, meta = {}): void {
  for (const store of stores) store.put(key, data, meta)
}

describe('exclude globs', () => {
  test.each([
    ['apps/*/tmp', 'apps/a/tmp', true],
    ['apps/*/tmp', 'apps/a/b/tmp', false],
    ['apps/*/tmp', 'apps/a/tmp/x', true],
    ['**/tmp', 'tmp', true],
    ['**/tmp', 'a/b/tmp/c', true],
    ['apps/legacy', 'apps/legacy/db', true],
    ['apps/legacy', 'apps/legacy-2', false],
    ['a?c', 'abc', true],
    ['a?c', 'a/c', false],
    ['with space/*', 'with space/ünï', true],
    ['a\\*b', 'a*b', true],
    ['a\\*b', 'axb', false],
    ['x.y', 'xzy', false],
  ])('%s matches %s: %s', (glob, key, expected) => {
    expect(globToRegExp(glob).test(key)).toBe(expected)
  })

  test('an empty glob is a clear error', () => {
    expect(() => globToRegExp('/')).toThrow(/--exclude/)
  })

  test('the scope is the prefix minus the excludes', () => {
    const scope = keyScope('/apps', ['apps/x/**'])
    expect(scope.prefix).toBe('apps')
    expect(scope.includes('apps')).toBe(true)
    expect(scope.includes('apps/y')).toBe(true)
    expect(scope.includes('apps/x/y')).toBe(false)
    expect(scope.includes('apps-2/y')).toBe(false)
  })
})

describe('classifyKey', () => {
  const hashKey = Buffer.alloc(32, 7)
  const meta = {maxVersions: 0, casRequired: false, deleteVersionAfter: '0s', customMetadata: {'managed-by': 'eso'}}
  const live = (hashes: Record<string, string>, extra = {}) => ({state: 'live' as const, version: 1, metadata: {...meta, ...extra}, hashes: new Map(Object.entries(hashes))})

  test('identical values and metadata are in sync, whatever the version numbers', () => {
    expect(classifyKey('k', ['r1', {...live({p: 'h'}), version: 3}], ['r2', {...live({p: 'h'}), version: 9}])).toBe('in-sync')
  })

  test('names each differing property, and properties present on one side', () => {
    const result = classifyKey('k', ['r1', live({a: 'x', b: 'y', c: 'z'})], ['r2', live({a: 'x', b: 'other', d: 'w'})])
    expect(result).toMatchObject({classes: ['value-differs'], properties: [{property: 'b', difference: 'differs'}, {property: 'c', difference: 'only-in-r1'}, {property: 'd', difference: 'only-in-r2'}]})
  })

  test('metadata fields are compared one by one; custom_metadata by entry', () => {
    const result = classifyKey('k', ['r1', live({p: 'h'})], ['r2', live({p: 'h'}, {maxVersions: 5, customMetadata: {'managed-by': 'manual', team: 'a'}})])
    expect(result).toMatchObject({classes: ['metadata-differs']})
    expect(result !== 'in-sync' && result?.metadata.map((m) => m.field)).toEqual(['custom_metadata.managed-by', 'custom_metadata.team', 'max_versions'])
  })

  test('a deleted or destroyed current version on one side is deleted-in that side', () => {
    expect(classifyKey('k', ['r1', live({p: 'h'})], ['r2', {state: 'destroyed', version: 2, metadata: meta}])).toMatchObject({classes: ['deleted-in-r2']})
    expect(classifyKey('k', ['r1', {state: 'deleted', version: 2, metadata: meta}], ['r2', live({p: 'h'})])).toMatchObject({classes: ['deleted-in-r1']})
    expect(classifyKey('k', ['r1', {state: 'deleted', version: 2, metadata: meta}], ['r2', {state: 'destroyed', version: 1, metadata: meta}])).toBe('in-sync')
  })

  test('a key absent on one side is only-in the other; absent on both is not a key', () => {
    expect(classifyKey('k', ['r1', {state: 'absent'}], ['r2', live({p: 'h'})])).toMatchObject({classes: ['only-in-r2']})
    expect(classifyKey('k', ['r1', {state: 'absent'}], ['r2', {state: 'absent'}])).toBeUndefined()
  })

  test('value and metadata drift on one key give both classes', () => {
    expect(classifyKey('k', ['r1', live({p: 'h'})], ['r2', live({p: 'g'}, {casRequired: true})])).toMatchObject({classes: ['value-differs', 'metadata-differs']})
  })

  test('a snapshot keeps hashes, never values', () => {
    const store = new MemoryStore('r').put('k', {p: CANARY})
    return Promise.all([store.readMetadata('k'), store.read('k')]).then(([metadata, record]) => {
      const snapshot = snapshotOf(metadata, record, hashKey)
      expect(JSON.stringify({...snapshot, hashes: [...snapshot.hashes!]})).not.toContain(CANARY)
      expect(snapshot.hashes!.get('p')).toHaveLength(44)
    })
  })
})

describe('compareRegions', () => {
  test('identical trees are in sync', async () => {
    const stores = pair()
    for (let i = 0; i < 300; i++) both(stores, `app/${i % 7}/key ${i} ünïcødé`, {password: `${CANARY}-${i}`, user: 'u'})
    const result = await compareRegions(stores[0], stores[1], {concurrency: 5})
    expect(result).toMatchObject({inSync: true, keysCompared: 300, keysWithDrift: 0, differences: [], errors: []})
    expect(result.counts['in-sync']).toBe(300)
  })

  test('finds exactly the planted keys, each with its class', async () => {
    const stores = pair()
    const [r1, r2] = stores
    both(stores, 'ok', {p: 'same'})
    r1.put('only-1', {p: CANARY})
    r2.put('only-2', {p: CANARY})
    r1.put('value', {p: CANARY, q: 'same'})
    r2.put('value', {p: `${CANARY}-changed`, q: 'same'})
    r1.put('meta', {p: 'same'}, {customMetadata: {'managed-by': 'eso'}})
    r2.put('meta', {p: 'same'}, {customMetadata: {'managed-by': 'manual'}})
    both(stores, 'deleted', {p: CANARY})
    r2.softDeleteCurrent('deleted')
    both(stores, 'destroyed', {p: CANARY})
    r1.destroyCurrent('destroyed')
    both(stores, 'versions', {p: 'same'})
    r2.put('versions', {p: 'other'}).put('versions', {p: 'same'})

    const result = await compareRegions(r1, r2)
    const classes = Object.fromEntries(result.differences.map((d) => [d.key, d.classes]))
    expect(classes).toEqual({
      deleted: ['deleted-in-region2'],
      destroyed: ['deleted-in-region1'],
      meta: ['metadata-differs'],
      'only-1': ['only-in-region1'],
      'only-2': ['only-in-region2'],
      value: ['value-differs'],
    })
    expect(result.counts).toEqual({
      'only-in-region1': 1,
      'only-in-region2': 1,
      'value-differs': 1,
      'metadata-differs': 1,
      'deleted-in-region1': 1,
      'deleted-in-region2': 1,
      'in-sync': 2,
    })
    expect(result.differences.find((d) => d.key === 'value')!.properties).toEqual([{property: 'p', difference: 'differs'}])
    expect(result.differences.find((d) => d.key === 'deleted')!.regions.region2).toMatchObject({state: 'deleted', version: 1})
    expect(result.inSync).toBe(false)
    const printed = JSON.stringify(result) + renderComparison(result, 'table') + renderComparison(result, 'markdown')
    expect(printed).not.toContain(CANARY)
  })

  test('reads only under the prefix and never the excluded keys', async () => {
    const stores = pair()
    both(stores, 'apps/a/x', {p: '1'})
    stores[0].put('apps/a/tmp/y', {p: '1'})
    stores[0].put('apps-other/z', {p: '1'})
    stores[0].put('elsewhere', {p: '1'})
    const result = await compareRegions(stores[0], stores[1], {prefix: 'apps', exclude: ['**/tmp']})
    expect(result).toMatchObject({inSync: true, keysCompared: 1, prefix: 'apps', exclude: ['**/tmp']})
    const read = stores[0].calls.filter((c) => c.method !== 'list').map((c) => c.key)
    expect([...new Set(read)]).toEqual(['apps/a/x'])
  })

  test('an unreachable region is an error, never "in sync"', async () => {
    const stores = pair()
    both(stores, 'a', {p: '1'})
    stores[1].failWith = () => new StoreRequestError({region: 'region2', method: 'LIST', path: 'secret/metadata/', networkCode: 'ECONNREFUSED', retryable: true})
    await expect(compareRegions(stores[0], stores[1])).rejects.toMatchObject({code: 'UNREACHABLE'})
  })

  test('a sealed region during the reads stops the comparison', async () => {
    const stores = pair()
    for (let i = 0; i < 50; i++) both(stores, `k${i}`, {p: '1'})
    stores[1].failWith = (method, key) => (method === 'read' && key === 'k20' ? new StoreRequestError({region: 'region2', method: 'GET', path: 'secret/data/k20', status: 503, retryable: true}) : undefined)
    await expect(compareRegions(stores[0], stores[1])).rejects.toMatchObject({code: 'SEALED_OR_UNAVAILABLE'})
  })

  test('a key that cannot be read is reported as an error, not as drift', async () => {
    const stores = pair()
    both(stores, 'a', {p: '1'})
    both(stores, 'forbidden', {p: '1'})
    stores[1].failWith = (method, key) => (key === 'forbidden' && method !== 'list' ? new StoreRequestError({region: 'region2', method: 'GET', path: 'secret/data/forbidden', status: 403, retryable: false}) : undefined)
    const result = await compareRegions(stores[0], stores[1])
    expect(result.inSync).toBe(false)
    expect(result.keysWithDrift).toBe(0)
    expect(result.errors).toEqual([expect.objectContaining({key: 'forbidden', region: 'region2', code: 'PERMISSION_DENIED'})])
  })

  test('too many unreadable keys stop the run', async () => {
    const stores = pair()
    for (let i = 0; i < 30; i++) both(stores, `k${i}`, {p: '1'})
    stores[1].failWith = (method) => (method === 'list' ? undefined : new StoreRequestError({region: 'region2', method: 'GET', path: 'x', status: 403, retryable: false}))
    await expect(compareRegions(stores[0], stores[1], {maxKeyErrors: 5})).rejects.toMatchObject({code: 'TOO_MANY_ERRORS'})
  })

  test('a region cannot be compared with itself', async () => {
    const store = new MemoryStore('region1')
    await expect(compareRegions(store, store)).rejects.toMatchObject({code: 'SAME_REGION'})
  })

  test('never has more than `concurrency` keys in flight per region', async () => {
    const stores = pair()
    for (let i = 0; i < 100; i++) both(stores, `k${String(i).padStart(3, '0')}`, {p: '1'})
    let inFlight = 0
    let peak = 0
    const original = stores[0].read.bind(stores[0])
    stores[0].read = async (key: string) => {
      inFlight++
      peak = Math.max(peak, inFlight)
      await new Promise((resolve) => setTimeout(resolve, 1))
      inFlight--
      return original(key)
    }
    await compareRegions(stores[0], stores[1], {concurrency: 4})
    expect(peak).toBe(4)
  })
})

describe('Slots', () => {
  test('idle resolves once every slot is back', async () => {
    const slots = new Slots(2)
    await slots.take()
    await slots.take()
    let idle = false
    const done = slots.idle().then(() => (idle = true))
    slots.give()
    await Promise.resolve()
    expect(idle).toBe(false)
    slots.give()
    await done
    expect(idle).toBe(true)
  })
})

describe('a comparison that stops early keeps what it found', () => {
  test('a region failing half way: the error carries the drift found in the keys both regions answered for', async () => {
    const stores = pair()
    for (let i = 0; i < 40; i++) both(stores, `k${String(i).padStart(2, '0')}`, {p: '1'})
    stores[0].put('k03', {p: 'changed'})
    stores[1].failWith = (method, key) =>
      method === 'read' && key === 'k30' ? new StoreRequestError({region: 'region2', method: 'GET', path: 'secret/data/k30', networkCode: 'ETIMEDOUT', retryable: true, kind: 'timeout', limitMs: 5000}) : undefined
    const error = await compareRegions(stores[0], stores[1], {concurrency: 1}).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(IncompleteComparisonError)
    const partial = (error as IncompleteComparisonError).partial
    expect((error as IncompleteComparisonError).code).toBe('REQUEST_TIMEOUT')
    expect(partial.inSync).toBe(false)
    expect(partial.incomplete).toMatchObject({code: 'REQUEST_TIMEOUT', message: expect.stringContaining('no answer within the request timeout of 5 s')})
    expect(partial.differences.map((d) => [d.key, d.classes])).toEqual([['k03', ['value-differs']]])
    // Nothing listed by one side only is guessed to be "only in" that side.
    expect(partial.counts['only-in-region1']).toBe(0)
    expect(partial.counts['only-in-region2']).toBe(0)
    const printed = renderComparison(partial, 'table')
    expect(printed).toContain('INCOMPLETE: stopped early (REQUEST_TIMEOUT); drift found so far: 1 key(s)')
    expect(printed).toMatch(/value-differs\s*│?\s*k03|k03/)
  })

  test('the partial report refuses to plan a repair', async () => {
    const stores = pair()
    both(stores, 'a', {p: '1'})
    stores[1].failWith = (method) => (method === 'list' ? new StoreRequestError({region: 'region2', method: 'GET', path: 'secret/metadata/', status: 200, kind: 'bad-response', detail: 'not JSON', retryable: true}) : undefined)
    const error = (await compareRegions(stores[0], stores[1]).catch((caught: unknown) => caught)) as IncompleteComparisonError
    expect(error.partial.incomplete).toMatchObject({code: 'BAD_RESPONSE'})
    expect(() => planRepair(error.partial, {from: 'region1', deleteExtra: true})).toThrow(/cannot plan a repair: the comparison stopped early/)
  })
})
