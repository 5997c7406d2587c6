// `secrets dr snapshot | verify | list | restore` against real Vault-API
// servers with Raft storage, through the built CLI. Restores are destructive:
// every test here runs on servers started for this file, never on the shared
// region1/region2.
import {copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {basename, join} from 'node:path'

import {generateIdentity, identityToRecipient} from 'age-encryption'

import {freePorts} from '../../env/net.js'
import {startVaultServer, type VaultServerHandle} from '../../helpers/vault-server.js'
import {SecretValue} from '../../../src/lib/secret/secret-value.js'
import {
  canaryCli,
  countingServer,
  damagedCopies,
  faultyProxy,
  leakedInFiles,
  readAll,
  requireBuiltCli,
  store,
  sys,
  workDir,
  writeAll,
  writeConfig,
  type Plain,
} from './fixture.js'

// Every CLI run of this file goes through `run`: exit code and no canary in its output.
const {canaries, secret, run} = canaryCli()

describe('dr against real Raft servers (through the built CLI)', () => {
  let a: VaultServerHandle
  let b: VaultServerHandle
  let counting: Awaited<ReturnType<typeof countingServer>>
  let proxy: Awaited<ReturnType<typeof faultyProxy>>
  let dir: string
  let config: string
  let env: Record<string, string>
  let snapshotFile: string
  let original: Plain

  beforeAll(async () => {
    requireBuiltCli()
    ;[a, b] = await Promise.all([startVaultServer({initialize: true, name: 'dr-a'}), startVaultServer({initialize: true, name: 'dr-b'})])
    counting = await countingServer()
    proxy = await faultyProxy(a.address)
    const [deadPort] = await freePorts(1)
    dir = workDir('cli')
    ;({config, env} = writeConfig(dir, [
      {name: 'dra', address: a.address, token: a.token!},
      {name: 'drb', address: b.address, token: b.token!},
      {name: 'counter', address: counting.address, token: 'not-a-real-token'},
      {name: 'faulty', address: proxy.address, token: a.token!},
      {name: 'dead', address: `http://127.0.0.1:${deadPort}`, token: 'not-a-real-token'},
    ]))
  })

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop(), counting?.close(), proxy?.close()])
  })

  test('snapshot → change and delete → restore: the region reads back exactly the snapshot\'s state', async () => {
    const kvA = store('dra', a.address, a.token!)
    original = {
      'app/db': {username: 'app', password: secret('db-password')},
      'app/api': {token: secret('api-token')},
      'team/x/deep/key': {value: secret('deep')},
      'team/y': {a: secret('ya'), b: secret('yb')},
      'with space/and#hash': {value: secret('odd-name')},
    }
    await writeAll(kvA, original)
    const out = join(dir, 'snapshots')

    const snap = await run(['dr', 'snapshot', '--region', 'dra', '--out', out, '--json'], env, config, 0)
    snapshotFile = snap.json.file
    const manifest = snap.json.manifest
    expect(basename(snapshotFile)).toMatch(/^\d{8}T\d{6}\.\d{3}Z-dra\.snap$/)
    expect(manifest).toMatchObject({region: 'dra', kind: 'snapshot', keyCounts: {mounts: {secret: 5}, stable: true}, server: {clusterName: 'dr-a', sealType: 'shamir'}})
    expect(manifest.raft.index).toBeGreaterThan(0)
    expect(existsSync(join(out, `${manifest.name}.json`))).toBe(true)
    expect(readdirSync(out).filter((name) => name.endsWith('.partial'))).toEqual([])
    await run(['dr', 'verify', snapshotFile], env, config, 0)

    // Change one value, delete two keys, add one: the key count differs too.
    await kvA.write('app/db', new Map([['password', SecretValue.fromString(secret('db-password-new'))]]))
    await kvA.delete('team/x/deep/key')
    await kvA.delete('team/y')
    await writeAll(kvA, {'new/after-snapshot': {value: secret('after')}})
    expect(Object.keys(await readAll(kvA)).length).toBe(4)

    const restore = await run(['dr', 'restore', snapshotFile, '--region', 'dra', '--yes', '--json'], env, config, 0)
    expect(restore.json).toMatchObject({ok: true, restored: true, serverState: 'healthy', safetySnapshot: {verified: true}})
    expect(restore.json.checks.find((c: any) => c.name === 'key counts per mount')).toMatchObject({status: 'passed'})
    // Equal counts prove little: the recorded key versions are the evidence that the data is the snapshot's.
    expect(restore.json.checks.find((c: any) => c.name === 'key versions are the snapshot\'s')).toMatchObject({status: 'passed'})
    expect(await readAll(kvA)).toEqual(original)

    // The safety snapshot holds the state just before the restore, and verifies on its own.
    const safety = restore.json.safetySnapshot.file
    expect(basename(safety)).toMatch(/-dra\.safety\.snap$/)
    const safetyVerify = await run(['dr', 'verify', safety, '--json'], env, config, 0)
    expect(safetyVerify.json.manifest).toMatchObject({kind: 'safety', keyCounts: {mounts: {secret: 4}}, takenBefore: {restoring: basename(snapshotFile)}})

    const list = await run(['dr', 'list', out, '--json'], env, config, 0)
    expect(list.json.entries.map((e: any) => [e.region, e.kind, e.verify.ok])).toEqual([
      ['dra', 'snapshot', true],
      ['dra', 'safety', true],
    ])
    const human = await run(['dr', 'list', out], env, config, 0)
    expect(human.stdout).toMatch(/dra\s+snapshot\s+.*\s+ok\s/)
    expect(leakedInFiles(out, canaries)).toEqual([])
  })

  test('a snapshot that arrives empty, truncated, cut off or as garbage is an error (exit 2) and nothing is kept', async () => {
    const expected = {empty: 'SNAPSHOT_INVALID', truncated: 'SNAPSHOT_INVALID', garbage: 'SNAPSHOT_INVALID', reset: 'SNAPSHOT_INCOMPLETE'} as const
    for (const [mode, code] of Object.entries(expected)) {
      proxy.fault(mode as keyof typeof expected)
      const out = workDir(`faulty-${mode}`)
      const result = await run(['dr', 'snapshot', '--region', 'faulty', '--out', out, '--json'], env, config, 2)
      expect([mode, result.json.error.code]).toEqual([mode, code])
      expect([mode, readdirSync(out)]).toEqual([mode, []])
    }
    // The same path through the proxy, undamaged, works: the faults above were the only difference.
    const out = workDir('faulty-none')
    proxy.fault('none')
    await run(['dr', 'snapshot', '--region', 'faulty', '--out', out], env, config, 0)
    expect(readdirSync(out)).toHaveLength(2)
  })

  test('a truncated file, a flipped byte in state.bin, an empty file and a non-snapshot file are refused by verify and restore before any request', async () => {
    const bad = await damagedCopies(snapshotFile, workDir('damaged'))
    const expected: Record<string, string> = {truncated: 'TRUNCATED', 'flipped-state-bin': 'CHECKSUM_MISMATCH', empty: 'EMPTY', 'not-a-snapshot': 'NOT_GZIP'}
    for (const [name, file] of Object.entries(bad)) {
      const verify = await run(['dr', 'verify', file, '--json'], env, config, 1)
      expect([name, verify.json.problems.map((p: any) => p.code)]).toEqual([name, [expected[name]]])

      // "counter" answers every request and counts it; "dead" has nothing listening.
      for (const region of ['counter', 'dead']) {
        const restore = await run(['dr', 'restore', file, '--region', region, '--yes', '--json'], env, config, 2)
        expect([name, region, restore.json.error.code]).toEqual([name, region, 'SNAPSHOT_INVALID'])
        expect(restore.json.error.message).toContain(file)
      }
      expect(counting.requests()).toBe(0)
    }
    // The counter does count: a good file reaches the (fake) server, which then fails the pre-flight.
    const good = await run(['dr', 'restore', snapshotFile, '--region', 'counter', '--dry-run', '--json'], env, config, 2)
    expect(good.json.error.code).not.toBe('SNAPSHOT_INVALID')
    expect(counting.requests()).toBeGreaterThan(0)
  })

  test('dry run and a refused confirmation change nothing', async () => {
    const kvA = store('dra', a.address, a.token!)
    await writeAll(kvA, {'app/api': {token: secret('api-token-2')}})
    const before = await readAll(kvA)
    const out = join(dir, 'snapshots')
    const files = readdirSync(out).sort()

    const dry = await run(['dr', 'restore', snapshotFile, '--region', 'dra', '--dry-run', '--json'], env, config, 0)
    expect(dry.json).toMatchObject({dryRun: true, restored: false, plan: {clusterMatch: 'same', endpoint: 'sys/storage/raft/snapshot'}})
    const human = await run(['dr', 'restore', snapshotFile, '--region', 'dra', '--dry-run'], env, config, 0)
    expect(human.stdout).toContain('Restore plan:')
    expect(human.stdout).toContain('Dry run: nothing was changed.')

    // stdin is not a terminal and there is no --yes: refused.
    const refused = await run(['dr', 'restore', snapshotFile, '--region', 'dra', '--json'], env, config, 2)
    expect(refused.json.error.code).toBe('REFUSED')

    expect(await readAll(kvA)).toEqual(before)
    expect(readdirSync(out).sort()).toEqual(files)
    // Back to the snapshot's state for the tests that follow.
    await writeAll(kvA, {'app/api': original['app/api']})
  })

  test('region A\'s snapshot into cluster B: refused without --force; with it, B comes back sealed, unseals with A\'s key and holds A\'s data', async () => {
    const kvB = store('drb', b.address, b.token!)
    const bOnly = {'b/only': {value: secret('b-only')}}
    await writeAll(kvB, bOnly)
    const safetyDir = join(dir, 'safety-b')

    const refused = await run(['dr', 'restore', snapshotFile, '--region', 'drb', '--yes', '--safety-dir', safetyDir, '--json'], env, config, 2)
    expect(refused.json.error.code).toBe('CLUSTER_MISMATCH')
    expect(refused.json.error.hint).toContain('--force')
    expect(await readAll(kvB)).toEqual(bOnly)
    expect(existsSync(safetyDir)).toBe(false)

    const dry = await run(['dr', 'restore', snapshotFile, '--region', 'drb', '--force', '--dry-run'], env, config, 0)
    expect(dry.stdout).toContain('DIFFERENT CLUSTER (--force)')
    expect(dry.stdout).toMatch(/unseal keys and root token apply/)

    const forced = await run(['dr', 'restore', snapshotFile, '--region', 'drb', '--yes', '--force', '--safety-dir', safetyDir, '--json'], env, config, 1)
    expect(forced.json).toMatchObject({restored: true, ok: false, serverState: 'sealed', upload: {endpoint: 'sys/storage/raft/snapshot-force'}})
    expect(forced.json.checks[0].detail).toMatch(/unseal keys of the cluster the snapshot came from/)
    expect(forced.json.checks[0].detail).toContain('--check-only')
    // B's own state before the restore is kept, and verifies.
    await run(['dr', 'verify', forced.json.safetySnapshot.file], env, config, 0)

    // The snapshot's unseal key (A's) opens B now; A's root token is B's root token.
    await sys('drb', b.address).unseal(SecretValue.fromString(a.unsealKey!))
    const withAToken = {...env, SECRETS_TOOLKIT_DRB_VAULT_TOKEN: a.token!}
    const check = await run(['dr', 'restore', snapshotFile, '--region', 'drb', '--check-only', '--compare-region', 'dra', '--json'], withAToken, config, 0)
    expect(check.json).toMatchObject({ok: true, checkOnly: true, restored: false})
    expect(check.json.checks.map((c: any) => [c.name, c.status])).toEqual([
      ['server healthy', 'passed'],
      ['cluster identity', 'passed'],
      ['raft index past the snapshot\'s', 'passed'],
      ['key counts per mount', 'passed'],
      ['key versions are the snapshot\'s', 'passed'],
      ['key-by-key comparison with dra', 'passed'],
    ])
    expect(await readAll(store('drb', b.address, a.token!))).toEqual(original)
    expect(leakedInFiles(safetyDir, canaries)).toEqual([])
  })

  test('an age-encrypted snapshot round-trips; restore needs the identity', async () => {
    const identity = await generateIdentity()
    const recipient = await identityToRecipient(identity)
    const keyFile = join(dir, 'dr-age-key.txt')
    writeFileSync(keyFile, `# test identity\n${identity}\n`, {mode: 0o600})
    const out = join(dir, 'encrypted')
    const kvA = store('dra', a.address, a.token!)

    const snap = await run(['dr', 'snapshot', '--region', 'dra', '--out', out, '--encrypt-to', recipient, '--json'], env, config, 0)
    const file = snap.json.file
    expect(file).toMatch(/-dra\.snap\.age$/)
    expect(readFileSync(file).subarray(0, 21).toString()).toBe('age-encryption.org/v1')
    expect(snap.json.manifest.encryption).toEqual({format: 'age', recipients: [recipient]})

    const outer = await run(['dr', 'verify', file, '--json'], env, config, 0)
    expect(outer.json).toMatchObject({ok: true, encrypted: true, contentsChecked: false})
    const full = await run(['dr', 'verify', file, '--identity', keyFile, '--json'], env, config, 0)
    expect(full.json).toMatchObject({ok: true, encrypted: true, contentsChecked: true})

    await kvA.delete('app/api')
    const noKey = await run(['dr', 'restore', file, '--region', 'dra', '--yes', '--json'], env, config, 2)
    expect(noKey.json.error.code).toBe('IDENTITY_REQUIRED')
    const restored = await run(['dr', 'restore', file, '--region', 'dra', '--identity', keyFile, '--no-safety-snapshot', '--yes', '--json'], env, config, 0)
    expect(restored.json.ok).toBe(true)
    expect(await readAll(kvA)).toEqual(original)
    for (const result of [snap, outer, full, noKey, restored]) expect(`${result.stdout}${result.stderr}`).not.toContain(identity)
    expect(leakedInFiles(out, canaries)).toEqual([])
  })

  test('--keep prunes this region\'s older snapshots after a good one, never safety snapshots or other regions\'', async () => {
    const out = join(dir, 'pruned')
    const source = join(dir, 'snapshots')
    await run(['dr', 'snapshot', '--region', 'dra', '--out', out], env, config, 0)
    // A safety snapshot of dra and one of drb (from the tests above) share the directory.
    const foreign = readdirSync(source).filter((name) => name.includes('.safety.'))
    for (const name of foreign) copyFileSync(join(source, name), join(out, name))
    for (const name of readdirSync(join(dir, 'safety-b'))) copyFileSync(join(dir, 'safety-b', name), join(out, name))
    const second = await run(['dr', 'snapshot', '--region', 'dra', '--out', out, '--keep', '2', '--json'], env, config, 0)
    expect(second.json.pruned).toEqual([])
    const third = await run(['dr', 'snapshot', '--region', 'dra', '--out', out, '--keep', '2', '--json'], env, config, 0)
    expect(third.json.pruned).toHaveLength(1)
    const list = await run(['dr', 'list', out, '--json'], env, config, 0)
    expect(list.json.entries.map((e: any) => `${e.region}/${e.kind}`).sort()).toEqual(['dra/safety', 'dra/snapshot', 'dra/snapshot', 'drb/safety'])
    expect(list.json.entries.every((e: any) => e.verify.ok)).toBe(true)
  })
})
