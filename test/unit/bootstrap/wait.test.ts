import {compareRecord, waitForVaults, type VaultReader} from '../../../src/lib/bootstrap/wait.js'
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
  test('in sync, missing, differing keys; extra properties do not matter', () => {
    expect(compareRecord(expected, record({username: 'u', password: 'p', extra: 'x'}))).toEqual({state: 'in-sync', keys: []})
    expect(compareRecord(expected, undefined)).toEqual({state: 'missing', keys: ['username', 'password']})
    expect(compareRecord(expected, record({username: 'u'}))).toEqual({state: 'differs', keys: ['password']})
    expect(compareRecord(expected, record({username: 'u', password: 'other'}))).toEqual({state: 'differs', keys: ['password']})
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
