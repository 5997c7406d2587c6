// Retries wrap any SecretStore: the in-memory store stands for a backend without retries of its own.
import {SecretValue} from '../../../src/lib/secret/secret-value.js'
import {withStoreRetry} from '../../../src/lib/vault/retrying-store.js'
import {StoreError, isStoreError} from '../../../src/lib/vault/secret-store.js'
import {MemoryStore} from '../../helpers/memory-store.js'

const policy = {attempts: 5, baseDelayMs: 1, maxDelayMs: 1}
const noWait = {wait: async () => undefined}
const unavailable = () => new StoreError('Unavailable', 'UNREACHABLE', 'region1: unreachable')
const data = (values: Record<string, string>) => new Map(Object.entries(values).map(([k, v]) => [k, SecretValue.fromString(v)]))

describe('withStoreRetry', () => {
  test('a call the store could not answer is tried again until it succeeds', async () => {
    const memory = new MemoryStore('region1').put('app', {a: '1'})
    let failures = 2
    memory.failWith = (method) => (method === 'read' && failures-- > 0 ? unavailable() : undefined)
    const record = await withStoreRetry(memory, policy, noWait).read('app')
    expect(record?.data.get('a')?.revealString()).toBe('1')
    expect(memory.calls.filter((call) => call.method === 'read')).toHaveLength(3)
  })

  test('other kinds are final: no retry', async () => {
    const memory = new MemoryStore('region1')
    memory.failWith = () => new StoreError('Denied', 'PERMISSION_DENIED', 'region1: denied')
    const error = await withStoreRetry(memory, policy, noWait).read('app').catch((caught: unknown) => caught)
    expect(isStoreError(error, 'Denied')).toBe(true)
    expect(memory.calls).toHaveLength(1)
  })

  test('retries stop at the policy\'s attempts with the last error', async () => {
    const memory = new MemoryStore('region1')
    memory.failWith = () => unavailable()
    const error = await withStoreRetry(memory, policy, noWait).delete('app').catch((caught: unknown) => caught)
    expect(isStoreError(error, 'Unavailable')).toBe(true)
    expect(memory.calls).toHaveLength(5)
  })

  test('a check-and-set write whose first answer was lost after it landed is recognised, not reported as a conflict', async () => {
    const memory = new MemoryStore('region1').put('app', {a: 'old'})
    let lost = false
    memory.failWith = (method, key) => {
      if (method !== 'write' || lost) return undefined
      lost = true
      memory.put(key, {a: 'new'})
      return unavailable()
    }
    const version = await withStoreRetry(memory, policy, noWait).write('app', data({a: 'new'}), {cas: 1})
    expect(version).toBe(2)
    expect(memory.version('app')).toBe(2)
  })

  test('a real conflict stays a conflict', async () => {
    const memory = new MemoryStore('region1').put('app', {a: 'old'}).put('app', {a: 'theirs'})
    const error = await withStoreRetry(memory, policy, noWait).write('app', data({a: 'mine'}), {cas: 1}).catch((caught: unknown) => caught)
    expect(isStoreError(error, 'Conflict')).toBe(true)
  })

  test('a listing that fails midway starts again and is handed out whole', async () => {
    const memory = new MemoryStore('region1').put('a/1', {x: '1'}).put('a/2', {x: '2'})
    let failures = 1
    memory.failWith = (method) => (method === 'list' && failures-- > 0 ? unavailable() : undefined)
    const keys: string[] = []
    for await (const key of withStoreRetry(memory, policy, noWait).list('a/')) keys.push(key)
    expect(keys).toEqual(['a/1', 'a/2'])
  })
})
