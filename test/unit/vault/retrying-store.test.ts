// Retries wrap any SecretStore: the in-memory store stands for a backend without retries of its own.
import {SecretValue} from '../../../src/lib/secret/secret-value.js'
import {withStoreRetry} from '../../../src/lib/vault/retrying-store.js'
import {type SecretStore, StoreError, isStoreError} from '../../../src/lib/vault/secret-store.js'
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

describe('withStoreRetry: the backend decides what is retried, and says why retrying stopped', () => {
  test('a failure its backend marks final is not retried, whatever its kind (a deadline that ran out is Unavailable, not retryable)', async () => {
    const memory = new MemoryStore('region1')
    memory.failWith = () => new StoreError('Unavailable', 'DEADLINE_EXCEEDED', 'region1: the deadline ran out', {retryable: false})
    const error = await withStoreRetry(memory, policy, noWait).read('app').catch((caught: unknown) => caught)
    expect(isStoreError(error, 'Unavailable')).toBe(true)
    expect(memory.calls).toHaveLength(1)
  })

  test('a failure its backend marks retryable is retried, whatever its kind (an answer that is not the API\'s, Failed)', async () => {
    const memory = new MemoryStore('region1').put('app', {a: '1'})
    let failures = 2
    memory.failWith = (method) => (method === 'read' && failures-- > 0 ? new StoreError('Failed', 'BAD_RESPONSE', 'region1: not JSON', {retryable: true}) : undefined)
    expect((await withStoreRetry(memory, policy, noWait).read('app'))?.version).toBe(1)
    expect(memory.calls).toHaveLength(3)
  })

  test('each retry is reported (request statistics), and the error thrown says why retrying stopped', async () => {
    const memory = new MemoryStore('region1')
    memory.failWith = () => unavailable()
    let retries = 0
    const stopped: unknown[] = []
    const error = await withStoreRetry(memory, policy, {
      ...noWait,
      onRetry: () => retries++,
      exhausted: (last, exhaustion) => {
        stopped.push(exhaustion)
        return new StoreError('Unavailable', 'UNREACHABLE', `${(last as Error).message}; gave up after ${exhaustion.attempts} attempts`)
      },
    })
      .readMetadata('app')
      .catch((caught: unknown) => caught)
    expect(retries).toBe(4)
    expect(stopped).toEqual([expect.objectContaining({reason: 'attempts', attempts: 5})])
    expect((error as Error).message).toBe('region1: unreachable; gave up after 5 attempts')
  })

  test('ready() is not retried: "unavailable" is its answer, before any key is touched', async () => {
    const memory = new MemoryStore('region1')
    memory.failWith = () => unavailable()
    await expect(withStoreRetry(memory, policy, noWait).ready()).rejects.toThrow('unreachable')
    expect(memory.calls).toHaveLength(1)
  })

  test('a listing that fails after some keys resumes after the last key handed out: each key once, in order', async () => {
    const memory = new MemoryStore('region1')
    for (const key of ['a/1', 'a/2', 'a/3', 'a/4']) memory.put(key, {x: key})
    const starts: (string | undefined)[] = []
    const failAfter = [2, 1]
    const flaky: SecretStore = {
      name: memory.name,
      capabilities: memory.capabilities,
      ready: () => memory.ready(),
      read: (key) => memory.read(key),
      write: (key, data, options) => memory.write(key, data, options),
      readMetadata: (key) => memory.readMetadata(key),
      writeMetadata: (key, update) => memory.writeMetadata(key, update),
      delete: (key) => memory.delete(key),
      softDelete: (key, version) => memory.softDelete(key, version),
      close: () => memory.close(),
      async *list(prefix, options) {
        starts.push(options?.after)
        let handed = 0
        const limit = failAfter.shift()
        // The backend ignores `after` here: the wrapper skips what it handed out already.
        for await (const key of memory.list(prefix)) {
          if (limit !== undefined && handed === limit) throw unavailable()
          handed++
          yield key
        }
      },
    }
    const keys: string[] = []
    for await (const key of withStoreRetry(flaky, policy, noWait).list('a/')) keys.push(key)
    expect(keys).toEqual(['a/1', 'a/2', 'a/3', 'a/4'])
    expect(starts).toEqual([undefined, 'a/2', 'a/2'])
  })
})
