// Hostile or odd files in a snapshot directory: FIFOs and devices named like snapshots or manifests are named and
// skipped, never opened (a read would block forever); control characters in
// file names and tar member names never reach the terminal raw.
import {execFileSync} from 'node:child_process'
import {constants} from 'node:fs'
import {mkdtemp, open, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {readCatalog} from '../../../src/lib/dr/catalog.js'
import {readManifest} from '../../../src/lib/dr/manifest.js'
import {renderCatalog, renderPlan, renderVerify} from '../../../src/lib/dr/render.js'
import {newRestoreContext, stageVerifySnapshot, type RestorePlan} from '../../../src/lib/dr/restore.js'
import {displayAddress} from '../../../src/lib/dr/save.js'
import {verifySnapshotFile} from '../../../src/lib/dr/verify.js'
import {ExitCode, isToolkitError} from '../../../src/lib/errors/errors.js'
import {archiveOf, validMembers} from './synthetic-snapshot.js'

const ESC = '\u001b'
const fifos: string[] = []
let dir: string

function mkfifo(path: string): string {
  execFileSync('mkfifo', [path])
  fifos.push(path)
  return path
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dr-hardening-'))
})

afterEach(async () => {
  // Should old code have blocked in open() on a FIFO, opening its other end releases that thread.
  for (const fifo of fifos.splice(0)) {
    await open(fifo, constants.O_WRONLY | constants.O_NONBLOCK)
      .then((handle) => handle.close())
      .catch(() => undefined)
  }
  await rm(dir, {recursive: true, force: true})
})

/** Fails the test instead of hanging it when the promise never settles. */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms (blocked on a special file?)`)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error('expected an error')
}

describe('special files in a snapshot directory (13.9)', () => {
  test('dr list names FIFOs called *.json, *.snap and *.snap.age as skipped strays and does not block', async () => {
    const good = '20250131T021500.000Z-region1.snap'
    await writeFile(join(dir, good), await archiveOf(validMembers({stateSize: 10_000})))
    mkfifo(join(dir, 'evil.json'))
    mkfifo(join(dir, '20250131T021600.000Z-region1.snap'))
    mkfifo(join(dir, '20250131T021700.000Z-region1.snap.age'))

    const catalog = await within(5000, 'readCatalog', readCatalog(dir, {verify: true}))
    expect(catalog.entries.map((entry) => entry.name)).toEqual(['20250131T021500.000Z-region1'])
    expect(catalog.entries[0].verify?.ok).toBe(true)
    const strays = catalog.strays.map((stray) => [stray.file.slice(dir.length + 1), stray.reason])
    expect(strays).toEqual(
      expect.arrayContaining([
        ['evil.json', expect.stringMatching(/FIFO.*not a regular file: skipped/)],
        ['20250131T021600.000Z-region1.snap', expect.stringMatching(/FIFO/)],
        ['20250131T021700.000Z-region1.snap.age', expect.stringMatching(/FIFO/)],
      ]),
    )
    expect(renderCatalog(catalog)).toMatch(/stray: .*evil\.json: a FIFO \(named pipe\), not a regular file/)
  })

  test('a FIFO in place of a snapshot\'s manifest fails that snapshot, without blocking', async () => {
    const name = '20250131T021500.000Z-region1'
    await writeFile(join(dir, `${name}.snap`), await archiveOf(validMembers({stateSize: 10_000})))
    mkfifo(join(dir, `${name}.json`))
    const catalog = await within(5000, 'readCatalog', readCatalog(dir, {verify: true}))
    expect(catalog.entries[0].manifestError).toMatch(/FIFO \(named pipe\), not a regular file/)

    const error = await within(5000, 'verifySnapshotFile', errorOf(verifySnapshotFile(join(dir, `${name}.snap`))))
    expect(isToolkitError(error) && [error.code, error.exitCode]).toEqual(['NOT_A_REGULAR_FILE', ExitCode.Error])
  })

  test('naming a FIFO or a device explicitly is refused with exit 2, without blocking', async () => {
    const cases = [mkfifo(join(dir, 'pipe.snap')), mkfifo(join(dir, 'lone.json')), '/dev/zero', '/dev/null']
    for (const path of cases) {
      const error = await within(5000, `verifySnapshotFile(${path})`, errorOf(verifySnapshotFile(path)))
      expect([path, isToolkitError(error) && error.code, isToolkitError(error) && error.exitCode]).toEqual([path, 'NOT_A_REGULAR_FILE', ExitCode.Error])
      expect((error as Error).message).toContain(path)
    }
    const error = await within(5000, 'readManifest', errorOf(readManifest(join(dir, 'lone.json'))))
    expect(isToolkitError(error) && error.code).toBe('NOT_A_REGULAR_FILE')
  })
})

describe('control characters in names (13.14, dr)', () => {
  test('tar member names with ANSI escapes and newlines are shown escaped by dr verify', async () => {
    const hostile = `${ESC}[2J${ESC}[31mOK\nforged line`
    const file = join(dir, 'hostile.snap')
    await writeFile(file, await archiveOf([...validMembers({stateSize: 10_000}), {name: hostile, content: Buffer.from('x')}]))
    const report = await verifySnapshotFile(file)
    expect(report.ok).toBe(false)
    const text = renderVerify(report)
    expect(text).not.toContain(ESC)
    expect(text.split('\n').some((line) => line.startsWith('forged line'))).toBe(false)
    expect(text).toContain('\\x1b[2J')
    expect(text).toContain('\\n')
  })

  test('the error of a restore refusing such an archive shows the names escaped', async () => {
    const file = join(dir, `hostile${ESC}[31m.snap`)
    await writeFile(file, await archiveOf([...validMembers({stateSize: 10_000}), {name: `${ESC}]0;owned\u0007`, content: Buffer.from('x')}]))
    const ctx = newRestoreContext({
      file,
      region: 'region1',
      connect: () => Promise.reject(new Error('a bad snapshot must not connect')),
      force: false,
      safetySnapshot: false,
      safetyEncryptTo: [],
      compare: false,
      waitTimeoutMs: 1000,
      sealedGraceMs: 1000,
      pollIntervalMs: 100,
    })
    const error = await errorOf(stageVerifySnapshot(ctx))
    expect(isToolkitError(error) && error.code).toBe('SNAPSHOT_INVALID')
    expect((error as Error).message).not.toMatch(/[\u0007\u001b]/)
    expect((error as Error).message).toContain('owned')
  })

  test('file names with control characters are shown escaped by dr list and dr verify', async () => {
    const name = `20250131T021500.000Z-region1${ESC}[8m.snap`
    const file = join(dir, name)
    await writeFile(file, await archiveOf(validMembers({stateSize: 10_000})))
    await writeFile(join(dir, `a\nb${ESC}]0;title\u0007.snap`), 'not a snapshot')
    const catalog = await readCatalog(dir, {verify: true})
    const list = renderCatalog(catalog)
    expect(list).not.toContain(ESC)
    expect(list).not.toContain('\u0007')
    expect(list).toContain('\\x1b[8m')
    expect(list).toContain('a\\nb\\x1b]0;title\\x07.snap')

    const verify = renderVerify(await verifySnapshotFile(file))
    expect(verify).not.toContain(ESC)
    expect(verify).toContain('\\x1b[8m')

    const missing = await errorOf(verifySnapshotFile(join(dir, `gone${ESC}[31m.snap`)))
    expect((missing as Error).message).not.toContain(ESC)
  })
})

describe('the restore plan (13.14)', () => {
  test('manifest fields with control characters are shown escaped', () => {
    const plan: RestorePlan = {
      snapshot: {file: join(dir, 's.snap'), raftIndex: 10, raftTerm: 2, encrypted: false, size: 1, region: `r${ESC}[1m`},
      target: {region: 'region1', address: 'https://***@vault.example.com:8200/', version: '2.6.1'},
      endpoint: 'sys/storage/raft/snapshot',
      clusterMatch: 'unknown',
      warnings: [],
    }
    const text = renderPlan(plan)
    expect(text).toContain('https://***@vault.example.com:8200/')
    expect(text).not.toContain(ESC)
  })
})

describe('addresses dr shows (13.6)', () => {
  test('never the user:password of an address, nor credentials in its query; otherwise as configured', () => {
    expect(displayAddress('https://operator:hunter2@vault.example.com:8200')).toBe('https://***@vault.example.com:8200')
    expect(displayAddress('https://vault.example.com:8200/?token=hvs.abc')).not.toContain('hvs.abc')
    expect(displayAddress('http://127.0.0.1:8200')).toBe('http://127.0.0.1:8200')
    expect(displayAddress('https://lb.example.com/vault/')).toBe('https://lb.example.com/vault/')
  })
})
