// `secrets verify regions` against the two real Vault regions of the test
// environment, driven through the built CLI. Each test works under its own
// prefix (--path) because region1/region2 are shared with other tests, and
// removes its keys afterwards.
import {existsSync, mkdtempSync} from 'node:fs'
import {join} from 'node:path'

import {PROJECT_ROOT} from '../../helpers/binaries.js'
import {testEnv} from '../../helpers/env.js'
import type {RegionVault} from '../../../src/lib/vault/connect.js'
import {canary, cleanUp, connectAll, data, destroyCurrent, expectNoCanary, report, runVerify, seed, uniquePrefix} from './helpers.js'

const env = testEnv()
const cli = {config: env.configPath, env: env.tokenEnv}
let vaults: Map<string, RegionVault>
let r1: RegionVault
let r2: RegionVault
const prefixes: string[] = []

function prefix(name: string): string {
  const value = uniquePrefix(name)
  prefixes.push(value)
  return value
}

beforeAll(async () => {
  vaults = await connectAll(env.configPath, env.tokenEnv)
  r1 = vaults.get('region1')!
  r2 = vaults.get('region2')!
})

afterAll(async () => {
  if (!vaults) return
  for (const p of prefixes) await cleanUp(vaults.values(), p)
  for (const vault of vaults.values()) await vault.close()
})

async function both(entries: [string, Record<string, string>][]): Promise<void> {
  await Promise.all([seed(r1, entries), seed(r2, entries)])
}

describe('verify regions (real Vault regions, built CLI)', () => {
  test('identical trees — deep paths, spaces, unicode — exit 0', async () => {
    const p = prefix('same')
    const secret = canary('same')
    const keys = [`${p}/a`, `${p}/deep/er/and/deeper/still/key`, `${p}/with space/key with space`, `${p}/ünïcødé/ключ/密钥`, `${p}/odd#chars?&=+%`]
    await both(keys.map((key, i) => [key, {password: `${secret}-${i}`, user: 'app'}]))
    // Different version numbers on each side are information, not drift.
    await r2.store.write(keys[0], data({password: `${secret}-0`, user: 'app'}))

    const run = await runVerify(['--path', p, '--json'], cli)
    expect(run.code).toBe(0)
    const json = report(run)
    expect(json).toMatchObject({inSync: true, keysCompared: keys.length, keysWithDrift: 0, differences: [], errors: [], prefix: p})
    expect(json.counts['in-sync']).toBe(keys.length)

    const table = await runVerify(['--path', p], cli)
    expect(table.code).toBe(0)
    expect(table.stdout).toContain('IN SYNC')
    expectNoCanary([run.stdout, run.stderr, table.stdout, table.stderr], [secret])
  })

  test('each drift class planted: exit 1, exactly those keys with the right class', async () => {
    const p = prefix('drift')
    const secret = canary('drift')
    await both([
      [`${p}/in-sync`, {v: `${secret}-sync`}],
      [`${p}/value`, {v: `${secret}-v`, same: 'x'}],
      [`${p}/meta`, {v: `${secret}-m`}],
      [`${p}/soft-deleted`, {v: `${secret}-sd`}],
      [`${p}/destroyed`, {v: `${secret}-ds`}],
      [`${p}/excluded/x`, {v: `${secret}-ex`}],
    ])
    await seed(r1, [[`${p}/only-1/ünï code`, {v: `${secret}-o1`}]])
    await seed(r2, [[`${p}/only 2`, {v: `${secret}-o2`}]])
    await r2.store.write(`${p}/value`, data({v: `${secret}-v-changed`, same: 'x'}))
    await r2.store.write(`${p}/excluded/x`, data({v: `${secret}-ex-changed`}))
    await r1.store.writeMetadata(`${p}/meta`, {customMetadata: {'managed-by': 'external-secrets'}, maxVersions: 10})
    await r2.store.writeMetadata(`${p}/meta`, {customMetadata: {'managed-by': 'manual'}, maxVersions: 10})
    await r2.store.softDelete(`${p}/soft-deleted`, 1)
    await destroyCurrent(r1, `${p}/destroyed`)

    const run = await runVerify(['--path', p, '--exclude', `${p}/excluded`, '--json'], cli)
    expect(run.code).toBe(1)
    const json = report(run)
    const classes = Object.fromEntries(json.differences.map((d: any) => [d.key.slice(p.length + 1), d.classes]))
    expect(classes).toEqual({
      'only-1/ünï code': ['only-in-region1'],
      'only 2': ['only-in-region2'],
      value: ['value-differs'],
      meta: ['metadata-differs'],
      'soft-deleted': ['deleted-in-region2'],
      destroyed: ['deleted-in-region1'],
    })
    expect(json.counts).toEqual({
      'only-in-region1': 1,
      'only-in-region2': 1,
      'value-differs': 1,
      'metadata-differs': 1,
      'deleted-in-region1': 1,
      'deleted-in-region2': 1,
      'in-sync': 1,
    })
    const value = json.differences.find((d: any) => d.key === `${p}/value`)
    expect(value.properties).toEqual([{property: 'v', difference: 'differs'}])
    expect(value.regions).toMatchObject({region1: {state: 'live', version: 1}, region2: {state: 'live', version: 2}})
    expect(json.differences.find((d: any) => d.key === `${p}/meta`).metadata).toEqual([
      {field: 'custom_metadata.managed-by', values: {region1: 'external-secrets', region2: 'manual'}},
    ])
    expect(json.differences.find((d: any) => d.key === `${p}/destroyed`).regions.region1.state).toBe('destroyed')

    const table = await runVerify(['--path', p, '--exclude', `${p}/excluded`], cli)
    expect(table.code).toBe(1)
    expect(table.stdout).toMatch(/DRIFT: 6 of 7 key\(s\) differ/)
    expect(table.stdout).toMatch(/value-differs\s+\S+\/value\s+properties: v/)
    const markdown = await runVerify(['--path', p, '--exclude', `${p}/excluded`, '--output', 'markdown'], cli)
    expect(markdown.code).toBe(1)
    expect(markdown.stdout).toContain('| metadata-differs |')
    const asJson = await runVerify(['--path', p, '--exclude', `${p}/excluded`, '--output', 'json'], cli)
    expect(JSON.parse(asJson.stdout).counts).toEqual(json.counts)
    expectNoCanary([run, table, markdown, asJson].flatMap((r) => [r.stdout, r.stderr]), [secret])
  })

  test('repair from region1: dry run changes nothing, no TTY refuses, --yes repairs, the re-run exits 0', async () => {
    const p = prefix('repair')
    const secret = canary('repair')
    await both([[`${p}/same`, {v: `${secret}-same`}], [`${p}/value`, {v: `${secret}-old`}], [`${p}/deleted`, {v: `${secret}-d`}]])
    await r1.store.write(`${p}/value`, data({v: `${secret}-new`}))
    await seed(r1, [[`${p}/missing/deep key`, {v: `${secret}-missing`, w: `${secret}-w`}]])
    await r1.store.writeMetadata(`${p}/missing/deep key`, {customMetadata: {'managed-by': 'external-secrets'}, casRequired: true})
    await seed(r2, [[`${p}/extra`, {v: `${secret}-extra`}]])
    await r2.store.softDelete(`${p}/deleted`, 1)
    // Outside the walked prefix, same name stem: must not be touched.
    const outside = `${p}-outside/extra`
    prefixes.push(`${p}-outside`)
    await seed(r2, [[outside, {v: `${secret}-outside`}]])

    const dry = await runVerify(['--path', p, '--repair', '--from', 'region1', '--delete-extra', '--dry-run'], cli)
    expect(dry.code).toBe(1)
    expect(dry.stdout).toMatch(/Repair plan: make region2 match region1 — 4 key\(s\) to change/)
    expect(dry.stdout).toMatch(/update-value\s+\S+\/value\s+properties differ: v\s+cas=1/)
    expect(dry.stdout).toContain('Dry run: nothing was changed.')
    expect((await r2.store.readMetadata(`${p}/value`))!.currentVersion).toBe(1)
    expect(await r2.store.readMetadata(`${p}/missing/deep key`)).toBeUndefined()

    const refused = await runVerify(['--path', p, '--repair', '--from', 'region1'], cli)
    expect(refused.code).toBe(2)
    expect(refused.stderr).toMatch(/refusing to proceed without confirmation/)
    expect(await r2.store.readMetadata(`${p}/missing/deep key`)).toBeUndefined()

    const noBackup = await runVerify(['--path', p, '--repair', '--from', 'region1', '--delete-extra', '--yes'], cli)
    expect(noBackup.code).toBe(2)
    expect(noBackup.stderr).toMatch(/the plan deletes 1 key\(s\) in region region2 with all their versions, and no backup was asked for/)
    expect(await r2.store.readMetadata(`${p}/extra`)).toBeDefined()

    const backupDir = mkdtempSync(join(PROJECT_ROOT, 'test-output', 'verify-backup-'))
    const repair = await runVerify(['--path', p, '--repair', '--from', 'region1', '--delete-extra', '--backup-dir', backupDir, '--yes', '--json'], cli)
    expect(repair.code).toBe(0)
    const json = report(repair)
    expect(json.repair.backup.file).toMatch(/region2\.snap$/)
    expect(existsSync(json.repair.backup.file) && existsSync(json.repair.backup.manifestFile)).toBe(true)
    expect(json.repair.result.counts).toEqual({applied: 5, conflict: 0, failed: 0, 'not-attempted': 0})
    expect(json.repair.after).toMatchObject({inSync: true, keysCompared: 4})

    const again = await runVerify(['--path', p], cli)
    expect(again.code).toBe(0)
    const repaired = await r2.store.read(`${p}/missing/deep key`)
    expect(repaired!.data.get('w')!.equals(data({w: `${secret}-w`}).get('w')!)).toBe(true)
    expect((await r2.store.readMetadata(`${p}/missing/deep key`))!.customMetadata).toEqual({'managed-by': 'external-secrets'})
    expect(await r2.store.readMetadata(`${p}/extra`)).toBeUndefined()
    expect(await r2.store.readMetadata(outside)).toBeDefined()
    expectNoCanary([dry, refused, noBackup, repair, again].flatMap((r) => [r.stdout, r.stderr]), [secret])
  })

  test('thousands of keys (2,000 per region) with three planted differences', async () => {
    const p = prefix('many')
    const secret = canary('many')
    const entries: [string, Record<string, string>][] = Array.from({length: 2000}, (_, i) => [`${p}/team-${i % 20}/app-${i % 7}/secret-${i}`, {password: `${secret}-${i}`, user: `u${i}`}])
    await both(entries)
    await r2.store.write(entries[17][0], data({password: 'changed', user: 'u17'}))
    await r1.store.delete(entries[1500][0])
    await r2.store.writeMetadata(entries[999][0], {maxVersions: 3})

    const run = await runVerify(['--path', p, '--json'], cli)
    expect(run.code).toBe(1)
    const json = report(run)
    expect(json.keysCompared).toBe(2000)
    expect(json.differences.map((d: any) => [d.key, d.classes])).toEqual(
      [
        [entries[17][0], ['value-differs']],
        [entries[999][0], ['metadata-differs']],
        [entries[1500][0], ['only-in-region2']],
      ].sort((a, b) => ((a[0] as string) < (b[0] as string) ? -1 : 1)),
    )
    expectNoCanary([run.stdout, run.stderr], [secret])
  })

  test('bad input is a clear error that changes nothing', async () => {
    const noFrom = await runVerify(['--repair'], cli)
    expect(noFrom.code).toBe(2)
    expect(noFrom.stderr).toMatch(/--repair needs --from REGION/)
    const unknown = await runVerify(['--repair', '--from', 'region9', '--dry-run'], cli)
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(/--from region9 is not one of the compared regions/)
    const regions = await runVerify(['--regions', 'region1'], cli)
    expect(regions.code).toBe(2)
    expect(regions.stderr).toMatch(/must name exactly two different regions/)
    const exclude = await runVerify(['--exclude', '/'], cli)
    expect(exclude.code).toBe(2)
    expect(exclude.stderr).toMatch(/--exclude "\/" is empty/)
  })
})
