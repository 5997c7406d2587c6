// verify regions when a region is stopped or sealed, and repair racing a
// concurrent writer. These use Vault servers of their own (startVaultServer):
// stopping or sealing the shared region1/region2 would break other tests.
import {spawn} from 'node:child_process'
import {mkdtempSync} from 'node:fs'
import {join} from 'node:path'

import {compareRegions} from '../../../src/lib/compare/compare.js'
import {planRepair} from '../../../src/lib/regions/plan.js'
import {applyRepair} from '../../../src/lib/regions/repair.js'
import type {RegionVault} from '../../../src/lib/vault/connect.js'
import {PROJECT_ROOT} from '../../helpers/binaries.js'
import {startVaultServer, type VaultServerHandle} from '../../helpers/vault-server.js'
import {canary, cliPath, connectAll, data, expectNoCanary, report, runVerify, seed, writeConfig} from './helpers.js'

let east: VaultServerHandle
let west: VaultServerHandle
let cli: {config: string; env: Record<string, string>}
let vaults: Map<string, RegionVault>
const secret = canary('failures')

beforeAll(async () => {
  ;[east, west] = await Promise.all([startVaultServer({initialize: true, name: 'verify-east'}), startVaultServer({initialize: true, name: 'verify-west'})])
  const dir = mkdtempSync(join(PROJECT_ROOT, 'test-output', 'verify-regions-'))
  cli = writeConfig(dir, [
    {name: 'east', server: east},
    {name: 'west', server: west},
  ])
  vaults = await connectAll(cli.config, cli.env)
  const entries: [string, Record<string, string>][] = Array.from({length: 40}, (_, i) => [`apps/app-${i}`, {password: `${secret}-${i}`}])
  await Promise.all([seed(vaults.get('east')!, entries), seed(vaults.get('west')!, entries)])
})

afterAll(async () => {
  for (const vault of vaults?.values() ?? []) await vault.close()
  await Promise.all([east?.stop(), west?.stop()])
})

describe('verify regions: an unhealthy region is an error, never "in sync"', () => {
  test('both healthy and identical: exit 0', async () => {
    const run = await runVerify([], cli)
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('IN SYNC')
  })

  test('region stopped: exit 2 naming the region and its address', async () => {
    await west.stop()
    try {
      const run = await runVerify([], cli)
      expect(run.code).toBe(2)
      expect(run.stderr).toContain(`region west (${west.address}) is unreachable (ECONNREFUSED)`)
      expect(run.stderr).toMatch(/never reported as in sync/)
      const json = await runVerify(['--json'], cli)
      expect(json.code).toBe(2)
      expect(report(json).error).toMatchObject({code: 'REGION_UNREACHABLE'})
      expectNoCanary([run.stdout, run.stderr, json.stdout, json.stderr], [secret])
    } finally {
      await west.restart()
    }
  })

  test('region sealed: exit 2 saying it is sealed', async () => {
    await east.seal()
    try {
      const run = await runVerify([], cli)
      expect(run.code).toBe(2)
      expect(run.stderr).toContain(`region east (${east.address}) is sealed`)
      expect(run.stderr).toMatch(/Unseal it/)
    } finally {
      await east.unseal()
    }
    const healthy = await runVerify([], cli)
    expect(healthy.code).toBe(0)
  })
})

describe('repair racing a concurrent writer', () => {
  test('check-and-set fails for the key changed between plan and apply; it is reported, not overwritten', async () => {
    const source = vaults.get('east')!
    const target = vaults.get('west')!
    await source.store.write('race/contended', data({password: `${secret}-truth`}))
    await target.store.write('race/contended', data({password: `${secret}-stale`}))
    await source.store.write('race/uncontended', data({password: `${secret}-truth-2`}))
    await target.store.write('race/uncontended', data({password: `${secret}-stale-2`}))

    const comparison = await compareRegions(source.store, target.store, {prefix: 'race'})
    expect(comparison.differences.map((d) => d.key)).toEqual(['race/contended', 'race/uncontended'])
    const plan = planRepair(comparison, {from: 'east'})

    // The concurrent writer: ESO (or an operator) writes region west between plan and apply.
    const concurrent = data({password: 'written-by-the-concurrent-writer'})
    await target.store.write('race/contended', concurrent)

    const result = await applyRepair(plan, {from: source.store, to: target.store})
    expect(result.outcomes).toEqual([
      expect.objectContaining({key: 'race/contended', action: 'update-value', result: 'conflict', code: 'CAS_MISMATCH', message: expect.stringMatching(/changed in west .*version 1.*not overwritten/)}),
      expect.objectContaining({key: 'race/uncontended', action: 'update-value', result: 'applied'}),
    ])
    const kept = await target.store.read('race/contended')
    expect(kept!.data.get('password')!.equals(concurrent.get('password')!)).toBe(true)
    expect(kept!.version).toBe(2)
    const after = await compareRegions(source.store, target.store, {prefix: 'race'})
    expect(after.differences.map((d) => [d.key, d.classes])).toEqual([['race/contended', ['value-differs']]])
    expectNoCanary([JSON.stringify(result), JSON.stringify(after)], [secret])
  })

  test('through the CLI on a terminal: a write while the operator reads the plan makes the repair report a conflict', async () => {
    const source = vaults.get('east')!
    const target = vaults.get('west')!
    await source.store.write('race-cli/k', data({password: `${secret}-a`}))
    await target.store.write('race-cli/k', data({password: `${secret}-b`}))
    // `script` gives the CLI a pseudo-terminal, so it stops at the confirmation prompt: the window between plan and apply.
    const command = [process.execPath, cliPath(), 'verify', 'regions', '--config', cli.config, '--path', 'race-cli', '--repair', '--from', 'east'].map((arg) => `'${arg}'`).join(' ')
    const child = spawn('script', ['-qfec', command, '/dev/null'], {env: {...process.env, ...cli.env}, stdio: ['pipe', 'pipe', 'pipe']})
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')))
    const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)))
    const deadline = Date.now() + 120_000
    while (!/Apply 1 step\(s\) to 1 key\(s\) in region west\?/.test(output)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no confirmation prompt; output so far:\n${output}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    const concurrent = data({password: 'written-while-the-operator-read-the-plan'})
    await target.store.write('race-cli/k', concurrent)
    child.stdin.write('y\r')
    const code = await exited
    expect(code).toBe(1)
    expect(output).toMatch(/conflict\s+update-value\s+race-cli\/k\s+changed in west since it was compared \(check-and-set expected it at version 1\); not overwritten/)
    expect((await target.store.read('race-cli/k'))!.data.get('password')!.equals(concurrent.get('password')!)).toBe(true)
    expectNoCanary([output], [secret])
  })
})
