// The one answer to "do the stores hold these values?" (migrate verify and the bootstrap wizard): pure comparison and polling.
import {checkStore, checkStoreExact, compareValue, staleProperties, waitForStores, type ExpectedValue, type StoreReader} from '../../../src/lib/eso/store-check.js'
import {ToolkitError} from '../../../src/lib/errors/errors.js'
import {SecretValue} from '../../../src/lib/secret/secret-value.js'
import type {SecretRecord} from '../../../src/lib/vault/secret-store.js'

const v = (text: string) => SecretValue.fromString(text)
const record = (key: string, data: Record<string, string>): SecretRecord => ({key, version: 1, data: new Map(Object.entries(data).map(([k, value]) => [k, v(value)]))})
const expect1 = (key: string, value: string, remoteKey = 'ns/app', property = key): ExpectedValue => ({key, remoteKey, property, value: v(value)})

describe('comparing one value', () => {
  test('in sync, secret missing, property missing, differs; extra properties do not matter', () => {
    expect(compareValue(expect1('user', 'u'), record('ns/app', {user: 'u', extra: 'x'}))).toBe('in-sync')
    expect(compareValue(expect1('user', 'u'), undefined)).toBe('secret-missing')
    expect(compareValue(expect1('user', 'u'), record('ns/app', {other: 'u'}))).toBe('property-missing')
    expect(compareValue(expect1('user', 'u'), record('ns/app', {user: 'uu'}))).toBe('differs')
  })

  test('the property is looked up by its remote name, not the Secret key', () => {
    expect(compareValue(expect1('user', 'u', 'ns/app', 'username'), record('ns/app', {username: 'u'}))).toBe('in-sync')
  })
})

describe('checking one store', () => {
  test('reads each remote key once, answers per property in the order expected', async () => {
    const reads: string[] = []
    const store: StoreReader = {
      name: 'region1',
      read: async (key) => {
        reads.push(key)
        return key === 'ns/app' ? record(key, {a: '1', b: 'x'}) : undefined
      },
    }
    const checks = await checkStore(store, {id: 'ns/app', values: [expect1('a', '1'), expect1('b', '2'), expect1('c', '3', 'ns/app-c')]})
    expect(checks).toEqual([
      {key: 'a', remoteKey: 'ns/app', state: 'in-sync'},
      {key: 'b', remoteKey: 'ns/app', state: 'differs'},
      {key: 'c', remoteKey: 'ns/app-c', state: 'secret-missing'},
    ])
    expect(reads).toEqual(['ns/app', 'ns/app-c'])
  })

  test('a store error is the caller\'s to report', async () => {
    const store: StoreReader = {name: 'region1', read: async () => Promise.reject(new ToolkitError('VAULT_UNREACHABLE', 'region region1: unreachable'))}
    await expect(checkStore(store, {id: 'ns/app', values: [expect1('a', '1')]})).rejects.toThrow('region region1: unreachable')
  })
})

describe('waiting for every store', () => {
  function clock() {
    let time = 0
    return {now: () => time, sleep: async (ms: number) => void (time += ms)}
  }

  test('stops when every pair is in sync; a failing store is an error state until the timeout', async () => {
    const c = clock()
    let reads = 0
    const good: StoreReader = {name: 'region1', read: async (key) => (reads++, record(key, {a: '1'}))}
    const down: StoreReader = {name: 'region2', read: async () => Promise.reject(new ToolkitError('VAULT_UNREACHABLE', 'region region2: unreachable'))}
    const rounds: string[] = []
    const checks = await waitForStores([{id: 'ns/app', values: [expect1('a', '1')]}], [good, down], {timeoutMs: 3000, intervalMs: 1000, onRound: (inSync, total) => rounds.push(`${inSync}/${total}`), ...c})
    expect(checks).toEqual([
      {store: 'region1', id: 'ns/app', properties: [{key: 'a', remoteKey: 'ns/app', state: 'in-sync'}], stale: [], inSync: true},
      {store: 'region2', id: 'ns/app', properties: [], stale: [], inSync: false, error: 'region region2: unreachable'},
    ])
    expect(reads).toBe(1)
    expect(rounds).toEqual(['1/2', '1/2', '1/2', '1/2'])
    expect(c.now()).toBe(3000)
  })
})

describe('stale properties (exclusive remote keys)', () => {
  test('a property the Secret no longer has is stale, unless tolerated or pushed by another PushSecret', () => {
    const records = new Map([['ns/app', record('ns/app', {a: '1', gone: 'x', kept: 'y'})]])
    expect(staleProperties([expect1('a', '1')], records)).toEqual([
      {remoteKey: 'ns/app', property: 'gone'},
      {remoteKey: 'ns/app', property: 'kept'},
    ])
    expect(staleProperties([expect1('a', '1')], records, new Set(['ns/app\u0000kept']))).toEqual([{remoteKey: 'ns/app', property: 'gone'}])
  })

  test('the wait does not wait for a stale property (nothing but a removal takes it away) but reports it', async () => {
    let time = 0
    const c = {now: () => time, sleep: async (ms: number) => void (time += ms)}
    const store: StoreReader = {name: 'region1', read: async (key) => record(key, {a: '1', gone: 'x'})}
    const checks = await waitForStores([{id: 'ns/app', exclusive: true, values: [expect1('a', '1')]}], [store], {timeoutMs: 60_000, intervalMs: 1000, ...c})
    expect(checks).toEqual([{store: 'region1', id: 'ns/app', properties: [{key: 'a', remoteKey: 'ns/app', state: 'in-sync'}], stale: [{remoteKey: 'ns/app', property: 'gone'}], inSync: false}])
    expect(c.now()).toBe(0)
    const tolerated = await checkStoreExact(store, {id: 'ns/app', exclusive: true, tolerated: ['gone'], values: [expect1('a', '1')]})
    expect(tolerated.stale).toEqual([])
  })
})
