// verify regions with a misbehaving network in front of one region: the
// fault-injecting proxy (test/helpers/fault-proxy.ts) sits between the CLI
// and region "west", a real OpenBao server of this test's own. Seeding and
// checking go straight to the servers, never through the proxy.
import {mkdtempSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {stringify} from 'yaml'

import {regionEnvName} from '../../../src/lib/config/credentials.js'
import type {RegionVault} from '../../../src/lib/vault/connect.js'
import {encodeKeyPath} from '../../../src/lib/vault/vault-kv-store.js'
import {PROJECT_ROOT} from '../../helpers/binaries.js'
import {runCli, type CliResult} from '../../helpers/cli.js'
import {type FaultProxy, startFaultProxy} from '../../helpers/fault-proxy.js'
import {startVaultServer, type VaultServerHandle} from '../../helpers/vault-server.js'
import {canary, connectAll, data, destroyCurrent, expectNoCanary, seed, writeConfig} from './helpers.js'

let east: VaultServerHandle
let west: VaultServerHandle
let proxy: FaultProxy
/** The CLI's configuration: east direct, west behind the proxy. */
let viaProxy: {config: string; env: Record<string, string>}
/** Direct connections for seeding and checking. */
let direct: Map<string, RegionVault>
const secret = canary('faults')
const outputs: string[] = []

beforeAll(async () => {
  ;[east, west] = await Promise.all([startVaultServer({initialize: true, name: 'faults-east'}), startVaultServer({initialize: true, name: 'faults-west'})])
  proxy = await startFaultProxy({upstream: west.address, seed: 14})
  const dir = mkdtempSync(join(PROJECT_ROOT, 'test-output', 'verify-faults-'))
  const straight = writeConfig(dir, [
    {name: 'east', server: east},
    {name: 'west', server: west},
  ])
  direct = await connectAll(straight.config, straight.env)
  const config = join(dir, 'via-proxy.yaml')
  writeFileSync(
    config,
    stringify({
      regions: [
        {name: 'east', clusterSecretStore: 'vault-east', vault: {address: east.address, requestTimeoutMs: 10_000}},
        {name: 'west', clusterSecretStore: 'vault-west', vault: {address: proxy.url, requestTimeoutMs: 10_000}},
      ],
    }),
  )
  viaProxy = {config, env: {[regionEnvName('east', 'VAULT_TOKEN')]: east.token!, [regionEnvName('west', 'VAULT_TOKEN')]: west.token!}}
}, 120_000)

afterEach(() => proxy?.reset())

afterAll(async () => {
  expectNoCanary(outputs, [secret])
  for (const vault of direct?.values() ?? []) await vault.close()
  await proxy?.close()
  await Promise.all([east?.stop(), west?.stop()])
})

async function verify(args: string[], timeoutMs = 240_000): Promise<CliResult> {
  const run = await runCli(['verify', 'regions', '--config', viaProxy.config, ...args], {env: viaProxy.env, timeoutMs})
  outputs.push(run.stdout, run.stderr)
  return run
}

function json(run: CliResult): any {
  try {
    return JSON.parse(run.stdout)
  } catch {
    throw new Error(`stdout is not JSON (exit ${run.code}):\n${run.stdout.slice(0, 3000)}\nstderr:\n${run.stderr.slice(0, 3000)}`)
  }
}

/** The KV mount's requests: the answers a misbehaving WAF rule might replace (health and login pass through). */
const kvOnly = ({path}: {path: string}) => path.startsWith('/v1/secret/')

const eastStore = () => direct.get('east')!
const westStore = () => direct.get('west')!

async function keysUnder(vault: RegionVault, prefix: string): Promise<string[]> {
  const keys: string[] = []
  for await (const key of vault.store.list(`${prefix}/`)) keys.push(key)
  return keys
}

async function seedBoth(prefix: string, count: number): Promise<string[]> {
  const entries: [string, Record<string, string>][] = Array.from({length: count}, (_, i) => [`${prefix}/app-${String(i).padStart(4, '0')}`, {password: `${secret}-${prefix}-${i}`, user: `u${i}`}])
  await Promise.all([seed(eastStore(), entries, 32), seed(westStore(), entries, 32)])
  return entries.map(([key]) => key)
}

describe("answers that are not Vault's JSON are errors, never data", () => {
  let keys: string[]
  beforeAll(async () => {
    keys = await seedBoth('html', 60)
  }, 120_000)

  test('30% of reads answered 200 + HTML: retried, the true verdict (in sync), and the report says what it recovered from', async () => {
    proxy.set({htmlOnRead: 0.3, match: kvOnly})
    const run = await verify(['--path', 'html', '--json'])
    const report = json(run)
    expect(proxy.counts.html).toBeGreaterThan(10)
    expect(report.differences).toEqual([])
    expect(report).toMatchObject({inSync: true, keysCompared: 60, errors: []})
    expect(report.requests.west.badResponses).toBe(proxy.counts.html)
    expect(run.code).toBe(0)
  })

  test('a proxy\'s "not found" page (404 + HTML) on 30% of reads is not "absent": retried, in sync', async () => {
    proxy.set({htmlOnRead: 0.3, htmlStatus: 404, match: kvOnly})
    const run = await verify(['--path', 'html', '--json'])
    const report = json(run)
    expect(proxy.counts.html).toBeGreaterThan(10)
    expect(report.differences).toEqual([])
    expect(report).toMatchObject({inSync: true, keysCompared: 60})
    expect(run.code).toBe(0)
  })

  test('without retries the same fault is exit 2 naming the bad answer, and no key is called drift', async () => {
    proxy.set({htmlOnRead: 0.3, match: kvOnly})
    const run = await verify(['--path', 'html', '--json', '--retry-budget', '0s'])
    expect(run.code).toBe(2)
    const report = json(run)
    expect(report.differences).toEqual([])
    expect(report.error).toMatchObject({code: expect.stringMatching(/^(BAD_RESPONSE|KEYS_UNREADABLE)$/)})
    expect(JSON.stringify(report)).toContain("not Vault's JSON")
    const human = await verify(['--path', 'html', '--retry-budget', '0s'])
    expect(human.code).toBe(2)
    expect(human.stdout).toContain('INCOMPLETE')
  })

  test.each([
    ['west', 'east'],
    ['east', 'west'],
  ])('repair --from %s --delete-extra while west answers HTML: exit 2, nothing deleted or changed in %s', async (from, other) => {
    proxy.set({htmlOnRead: 0.5, match: kvOnly})
    const run = await verify(['--path', 'html', '--repair', '--from', from, '--delete-extra', '--no-backup', '--yes', '--retry-budget', '0s'])
    expect(run.code).toBe(2)
    expect(run.stderr).toMatch(/No repair was planned|cannot plan a repair/)
    proxy.reset()
    const target = direct.get(other)!
    expect(await keysUnder(target, 'html')).toEqual(keys)
    for (const key of keys.slice(0, 10)) expect((await target.store.read(key))?.version).toBe(1)
  })
})

describe('lost write answers are not conflicts', () => {
  test('every first write answer dropped after the server applied it: the repair reports every step applied, no conflict', async () => {
    const keys = Array.from({length: 20}, (_, i) => `lost/app-${i}`)
    for (const key of keys) {
      await eastStore().store.write(key, data({password: `${secret}-truth-${key}`}))
      await eastStore().store.writeMetadata(key, {customMetadata: {'managed-by': 'eso'}})
      await westStore().store.write(key, data({password: `${secret}-stale-${key}`}))
    }
    const answered = new Set<string>()
    proxy.set({
      // The first write of each path reaches the server and its answer is lost; the retry gets through.
      match: ({method, path}) => method !== 'GET' && path.includes('/lost/') && !answered.has(path) && Boolean(answered.add(path)),
      dropWriteResponse: 1,
    })
    const run = await verify(['--path', 'lost', '--repair', '--from', 'east', '--yes', '--json'])
    const report = json(run)
    expect(proxy.counts.droppedResponses).toBe(40)
    expect(report.repair.result.counts).toEqual({applied: 40, conflict: 0, failed: 0, 'not-attempted': 0})
    expect(report.repair.after.inSync).toBe(true)
    expect(run.code).toBe(0)
    for (const key of keys) {
      const record = await westStore().store.read(key)
      // Written once: the retry was recognised as the write that had already landed.
      expect(record!.version).toBe(2)
      expect(record!.data.get('password')!.revealString()).toBe(`${secret}-truth-${key}`)
    }
  })
})

describe('a concurrent soft-delete or destroy is a conflict, and nothing deleted comes back', () => {
  test.each([
    ['soft-delete', 'soft-deleted'],
    ['destroy', 'destroyed'],
  ])('%s landing just before the repair write is forwarded', async (how, state) => {
    const key = `race-${how}/k`
    await eastStore().store.write(key, data({password: `${secret}-truth`}))
    await westStore().store.write(key, data({password: `${secret}-old`}))
    proxy.set({
      match: ({method, path}) => method === 'POST' && path === `/v1/secret/data/${encodeKeyPath(key)}`,
      // Another operator deletes the key in west at the worst moment: after the repair's last check, before its write.
      beforeForward: async () => {
        if (how === 'destroy') await destroyCurrent(westStore(), key)
        else await westStore().store.softDelete(key, 1)
      },
    })
    const run = await verify(['--path', `race-${how}`, '--repair', '--from', 'east', '--yes', '--json'])
    const report = json(run)
    expect(proxy.counts.hooks).toBe(1)
    expect(report.repair.result.outcomes).toEqual([
      expect.objectContaining({key, action: 'update-value', result: 'conflict', code: 'TARGET_STATE_CHANGED', message: expect.stringContaining(`version 1 was ${state} in west`)}),
    ])
    expect(run.code).toBe(1)
    proxy.reset()
    expect(await westStore().store.read(key)).toBeUndefined()
  })

  test('a soft-delete between the comparison and the repair: conflict, and nothing is written', async () => {
    const key = 'race-early/k'
    await eastStore().store.write(key, data({password: `${secret}-truth`}))
    await westStore().store.write(key, data({password: `${secret}-old`}))
    let metadataReads = 0
    proxy.set({
      match: ({method, path}) => method === 'GET' && path === `/v1/secret/metadata/${encodeKeyPath(key)}` && ++metadataReads === 2,
      // The second metadata read is the repair's check right before its write: the delete lands just before it.
      beforeForward: () => westStore().store.softDelete(key, 1),
    })
    const run = await verify(['--path', 'race-early', '--repair', '--from', 'east', '--yes', '--json'])
    const report = json(run)
    expect(report.repair.result.outcomes).toEqual([expect.objectContaining({key, result: 'conflict', code: 'TARGET_STATE_CHANGED', message: expect.stringContaining('is now soft-deleted in west')})])
    expect(run.code).toBe(1)
    proxy.reset()
    expect((await westStore().store.readMetadata(key))!.currentVersion).toBe(1)
    expect(await westStore().store.read(key)).toBeUndefined()
  })
})

describe('2,000 keys through a failing network', () => {
  const drift = {differs: [7, 311, 1024, 1500, 1999], onlyEast: [5, 900, 1700], onlyWest: [42, 1234]}
  const key = (i: number) => `bulk/app-${String(i).padStart(4, '0')}`
  const expected = [...drift.differs, ...drift.onlyEast, ...drift.onlyWest].map(key).sort()

  beforeAll(async () => {
    const all = Array.from({length: 2000}, (_, i) => i)
    const common = all.filter((i) => !drift.onlyEast.includes(i) && !drift.onlyWest.includes(i))
    const value = (i: number): [string, Record<string, string>] => [key(i), {password: `${secret}-bulk-${i}`}]
    await Promise.all([seed(eastStore(), [...common, ...drift.onlyEast].map(value), 32), seed(westStore(), [...common, ...drift.onlyWest].map(value), 32)])
    await seed(eastStore(), drift.differs.map((i) => [key(i), {password: `${secret}-bulk-changed-${i}`}]), 8)
  }, 240_000)

  test('20% of requests to west reset: exit 1 with exactly the planted drift', async () => {
    proxy.set({failRate: 0.2, failWith: 'reset'})
    const run = await verify(['--path', 'bulk', '--json'], 290_000)
    const report = json(run)
    expect(proxy.counts.failedReset).toBeGreaterThan(500)
    expect(report.errors).toEqual([])
    expect(report.differences.map((d: {key: string}) => d.key)).toEqual(expected)
    expect(report).toMatchObject({keysCompared: 2000, keysWithDrift: 10})
    expect(report.requests.west.retried).toBeGreaterThanOrEqual(proxy.counts.failedReset)
    expect(run.code).toBe(1)
  }, 300_000)

  test('west stops answering half way: exit 2, and the report still lists the drift found in the keys compared', async () => {
    const freezeHalfWay = () => {
      let reads = 0
      proxy.reset()
      proxy.set({match: ({method, path}) => method === 'GET' && path.startsWith('/v1/secret/data/bulk/') && ++reads > 1000, freeze: true})
    }
    freezeHalfWay()
    const run = await verify(['--path', 'bulk', '--json', '--request-timeout', '3s', '--retry-budget', '2s'], 120_000)
    expect(run.code).toBe(2)
    const report = json(run)
    expect(report.incomplete).toMatchObject({code: 'REQUEST_TIMEOUT'})
    expect(report.error.message).toContain(`region west (${proxy.url})`)
    expect(report.error.message).toContain('no answer within the request timeout of 3 s')
    expect(report.error.message).toContain('the retry budget of 2 s')
    // Drift found so far is real drift (never a key guessed to be missing), and some was found.
    const found = report.differences.map((d: {key: string}) => d.key)
    expect(found.length).toBeGreaterThan(0)
    for (const k of found) expect(expected).toContain(k)
    freezeHalfWay()
    const human = await verify(['--path', 'bulk', '--request-timeout', '3s', '--retry-budget', '2s'], 120_000)
    expect(human.code).toBe(2)
    expect(human.stdout).toMatch(/INCOMPLETE: stopped early \(REQUEST_TIMEOUT\); drift found so far: [1-9]\d* key\(s\)/)
    expect(human.stdout).toContain('value-differs')
  }, 300_000)
})

// What these protect: a frozen region makes the command give up on its own, at the limit given, and say which one
// ran out. Not by measuring the run's duration (speed is for bench/): the message is built from the limit the
// request's timer was set to, the exit is the command's own (2, not a kill by the runner's timeout), and the proxy
// counts the requests that reached it, so a retry past the budget or a request started after the deadline shows.
describe('a frozen region: the command gives up at the limit that ran out, and names it', () => {
  test('a proxy that accepts and never answers: the request timeout, one attempt within a 2 s retry budget', async () => {
    proxy.set({freeze: true})
    const run = await verify(['--request-timeout', '2s', '--retry-budget', '2s', '--deadline', '60s'])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain(`region west (${proxy.url}) did not answer within the request timeout of 2 s (--request-timeout, vault.requestTimeoutMs)`)
    // The first request to west froze; after its 2 s timeout the 2 s retry budget is spent: no second attempt.
    expect(proxy.counts.frozen).toBe(1)
    expect(proxy.counts.requests).toBe(1)
  })

  test('the deadline shorter than the request timeout: the deadline', async () => {
    proxy.set({freeze: true})
    const run = await verify(['--request-timeout', '60s', '--deadline', '3s', '--json'])
    expect(run.code).toBe(2)
    expect(json(run).error).toMatchObject({code: 'DEADLINE_EXCEEDED', message: expect.stringContaining(`region west (${proxy.url})`)})
    expect(json(run).error.message).toContain('the deadline of 3 s (--deadline 3 s) ran out')
    // The one frozen request was cut at the deadline, not at its 60 s timeout, and nothing was sent after it.
    expect(proxy.counts.frozen).toBe(1)
    expect(proxy.counts.requests).toBe(1)
  })

  test('a SIGSTOPped server: the request timeout, naming the region and its address', async () => {
    process.kill(east.pid!, 'SIGSTOP')
    try {
      const run = await verify(['--request-timeout', '2s', '--path', 'nothing-here', '--json'])
      expect(run.code).toBe(2)
      expect(json(run).error).toMatchObject({
        code: 'REQUEST_TIMEOUT',
        message: `region east (${east.address}) did not answer within the request timeout of 2 s (--request-timeout, vault.requestTimeoutMs)`,
      })
    } finally {
      process.kill(east.pid!, 'SIGCONT')
    }
  })
})
