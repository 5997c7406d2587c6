import {checkVaultOnce, compareRecord, removeStaleProperties, waitForVaults, type VaultReader} from '../../../src/lib/bootstrap/wait.js'
import {MemoryStore} from '../../helpers/memory-store.js'
import {StoreRequestError} from '../../../src/lib/vault/errors.js'
import {SecretValue} from '../../../src/lib/secret/secret-value.js'
import type {SecretRecord} from '../../../src/lib/vault/secret-store.js'

const v = (text: string) => SecretValue.fromString(text)
const record = (data: Record<string, string>): SecretRecord => ({key: 'k', version: 1, data: new Map(Object.entries(data).map(([k, value]) => [k, v(value)]))})

describe('comparing a Vault secret with the expected values', () => {
  const expected = new Map([
    ['username', v('u')],
    ['password', v('p')],
  ])
  test('in sync, missing, differing keys; a property the Secret does not have is stale: a difference', () => {
    expect(compareRecord(expected, record({username: 'u', password: 'p'}))).toEqual({state: 'in-sync', keys: [], stale: []})
    expect(compareRecord(expected, record({username: 'u', password: 'p', extra: 'x'}))).toEqual({state: 'differs', keys: [], stale: ['extra']})
    expect(compareRecord(expected, undefined)).toEqual({state: 'missing', keys: ['username', 'password'], stale: []})
    expect(compareRecord(expected, record({username: 'u'}))).toEqual({state: 'differs', keys: ['password'], stale: []})
    expect(compareRecord(expected, record({username: 'u', password: 'other'}))).toEqual({state: 'differs', keys: ['password'], stale: []})
  })
})

describe('waiting for both regions', () => {
  function clock() {
    let time = 0
    return {now: () => time, sleep: async (ms: number) => void (time += ms)}
  }

  test('polls until every region holds every secret, re-reading only what is not in sync', async () => {
    let reads = 0
    const arrivesAfter = (rounds: number): VaultReader => {
      let round = 0
      return {
        name: `after-${rounds}`,
        read: async () => {
          reads++
          return ++round > rounds ? record({token: 't'}) : undefined
        },
      }
    }
    const c = clock()
    const checks = await waitForVaults([{id: 'a/b', remoteKey: 'a/b', values: new Map([['token', v('t')]])}], [arrivesAfter(0), arrivesAfter(3)], {timeoutMs: 60_000, intervalMs: 1000, ...c})
    expect(checks.map((check) => check.state)).toEqual(['in-sync', 'in-sync'])
    expect(reads).toBe(1 + 4)
    expect(c.now()).toBe(3000)
  })

  test('a timeout answers the last state; an unreachable region is an error state with its message', async () => {
    const c = clock()
    const down: VaultReader = {
      name: 'region2',
      read: async () => {
        throw new StoreRequestError({region: 'region2', method: 'GET', path: 'secret/data/a/b', networkCode: 'ECONNREFUSED', retryable: true})
      },
    }
    const empty: VaultReader = {name: 'region1', read: async () => undefined}
    const checks = await waitForVaults([{id: 'a/b', remoteKey: 'a/b', values: new Map([['token', v('t')]])}], [empty, down], {timeoutMs: 5000, intervalMs: 1000, ...c})
    expect(checks).toEqual([
      {region: 'region1', id: 'a/b', remoteKey: 'a/b', state: 'missing', keys: ['token']},
      {region: 'region2', id: 'a/b', remoteKey: 'a/b', state: 'error', keys: [], detail: expect.stringContaining('region region2: GET secret/data/a/b failed (network error ECONNREFUSED)')},
    ])
    expect(c.now()).toBe(5000)
  })
})

describe('removing stale properties with check-and-set', () => {
  test('removes what the Secret no longer has and keeps tolerated keys; a conflicting write is retried on the new version', async () => {
    const store = new MemoryStore('region1')
    await store.write('a/b', new Map([['token', v('t')], ['gone', v('x')], ['extra', v('e')]]))
    let conflicts = 1
    const racing = {
      name: store.name,
      capabilities: store.capabilities,
      read: (key: string) => store.read(key),
      write: async (key: string, data: Map<string, SecretValue>, options?: {cas?: number}) => {
        // ESO pushes in between once: the first check-and-set fails.
        if (conflicts-- > 0) await store.write(key, new Map([...(await store.read(key))!.data]))
        return store.write(key, data, options)
      },
    }
    const removal = await removeStaleProperties(racing, {id: 'a/b', remoteKey: 'a/b', values: new Map([['token', v('t')]]), tolerated: ['extra']})
    expect(removal).toEqual({region: 'region1', id: 'a/b', remoteKey: 'a/b', removed: ['gone']})
    expect([...(await store.read('a/b'))!.data.keys()].sort()).toEqual(['extra', 'token'])
    expect(await checkVaultOnce(store, {id: 'a/b', remoteKey: 'a/b', values: new Map([['token', v('t')]]), tolerated: ['extra']})).toEqual({region: 'region1', id: 'a/b', remoteKey: 'a/b', state: 'in-sync', keys: []})
  })

  test('a store without check-and-set is not written; the report says to remove them by hand', async () => {
    const store = new MemoryStore('region2')
    await store.write('a/b', new Map([['token', v('t')], ['gone', v('x')]]))
    const removal = await removeStaleProperties({...store, name: 'region2', read: (key) => store.read(key), write: (key, data, options) => store.write(key, data, options), capabilities: {...store.capabilities, checkAndSet: false}}, {id: 'a/b', remoteKey: 'a/b', values: new Map([['token', v('t')]])})
    expect(removal.removed).toEqual([])
    expect(removal.failed).toMatch(/cannot check-and-set/)
    expect([...(await store.read('a/b'))!.data.keys()].sort()).toEqual(['gone', 'token'])
  })
})
