// "Wait until every store holds these values" against the in-memory SecretStore: the check needs nothing of Vault.
import {waitForStores, type StoreExpectation} from '../../../src/lib/eso/store-check.js'
import {SecretValue} from '../../../src/lib/secret/secret-value.js'
import {StoreError} from '../../../src/lib/vault/secret-store.js'
import {MemoryStore} from '../../helpers/memory-store.js'

const expectation: StoreExpectation = {id: 'apps/db', values: [{key: 'password', remoteKey: 'apps/db', property: 'password', value: SecretValue.fromString('pw-1')}]}

function clock() {
  let time = 0
  return {now: () => time, sleep: async (ms: number) => void (time += ms)}
}

describe('waiting for stores on the in-memory store', () => {
  test('a value that lands in the second store between rounds ends the wait in sync; the first store is not read again', async () => {
    const region1 = new MemoryStore('region1').put('apps/db', {password: 'pw-1'})
    const region2 = new MemoryStore('region2')
    const time = clock()
    let rounds = 0
    const checks = await waitForStores([expectation], [region1, region2], {
      timeoutMs: 10_000,
      intervalMs: 1000,
      now: time.now,
      sleep: async (ms) => {
        // ESO pushes to region2 while the wait sleeps.
        if (++rounds === 1) region2.put('apps/db', {password: 'pw-1'})
        await time.sleep(ms)
      },
    })
    expect(checks.map((check) => [check.store, check.inSync])).toEqual([
      ['region1', true],
      ['region2', true],
    ])
    expect(region1.calls.filter((call) => call.method === 'read')).toHaveLength(1)
    expect(region2.calls.filter((call) => call.method === 'read')).toHaveLength(2)
  })

  test('a different value stays "differs" until the timeout; an unavailable store is an error state, not a crash', async () => {
    const region1 = new MemoryStore('region1').put('apps/db', {password: 'other'})
    const region2 = new MemoryStore('region2')
    region2.failWith = () => new StoreError('Unavailable', 'UNREACHABLE', 'region region2: unreachable')
    const time = clock()
    const checks = await waitForStores([expectation], [region1, region2], {timeoutMs: 3000, intervalMs: 1000, now: time.now, sleep: time.sleep})
    expect(checks[0]).toMatchObject({store: 'region1', inSync: false, properties: [{key: 'password', state: 'differs'}]})
    expect(checks[1]).toMatchObject({store: 'region2', inSync: false, properties: [], error: 'region region2: unreachable'})
  })
})
