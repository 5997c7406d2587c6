// The store-generic dr operations (snapshot-store-ops.ts), run on the
// directory implementation of SnapshotStore: the same code the s3:// paths
// run (test/integration/dr/s3.test.ts runs it against a real S3 server).
import {existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Readable} from 'node:stream'

import {MANIFEST_FORMAT, snapshotName, type SnapshotManifest} from '../../../src/lib/dr/manifest.js'
import {isRemoteLocation, LocalSnapshotStore, openSnapshotStore, splitLocation} from '../../../src/lib/dr/snapshot-store.js'
import {FailedStreamCheck, fetchSnapshot, pruneStore, readStoreCatalog, uploadCheckedSnapshot, verifyStoredSnapshot} from '../../../src/lib/dr/snapshot-store-ops.js'
import {archiveOf, sha256, validMembers} from './synthetic-snapshot.js'

const chunked = (bytes: Buffer, size = 10_000) => Readable.from((function* () {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size)
})())

function manifestFor(name: string, archive: Buffer, region: string, kind: 'snapshot' | 'safety', createdAt: Date): SnapshotManifest {
  return {
    format: MANIFEST_FORMAT,
    name,
    kind,
    region,
    createdAt: createdAt.toISOString(),
    durationMs: 1,
    archive: {file: `${name}.snap`, sha256: sha256(archive), size: archive.length},
    snapshot: {sha256: sha256(archive), size: archive.length},
    raft: {id: '2-1234-1700000000000', index: 1234, term: 2, version: 1, stateSize: 200_000, sealedSums: false},
    server: {address: 'http://vault:8200', version: '2.6.1'},
  }
}

async function publishedSnapshot(store: LocalSnapshotStore, region: string, kind: 'snapshot' | 'safety', createdAt: Date): Promise<string> {
  const archive = await archiveOf(validMembers())
  const name = snapshotName(region, createdAt, kind)
  await store.writeSmall(`${name}.json`, JSON.stringify(manifestFor(name, archive, region, kind, createdAt)))
  writeFileSync(store.describe(`${name}.snap`), archive)
  return `${name}.snap`
}

const freshStore = () => new LocalSnapshotStore(mkdtempSync(join(tmpdir(), 'snapshot-store-')))

describe('locations', () => {
  test('s3://, gs:// and azblob:// are remote; only s3:// is supported, the others refused by name', async () => {
    expect(isRemoteLocation('s3://b/p')).toBe(true)
    expect(isRemoteLocation('/backups/vault')).toBe(false)
    expect(splitLocation('s3://bucket/a/b/name.snap')).toEqual({parent: 's3://bucket/a/b', name: 'name.snap'})
    await expect(openSnapshotStore('gs://bucket/x')).rejects.toThrow('only local directories and s3:// locations are supported')
  })
})

describe('uploadCheckedSnapshot: through the checker into the store', () => {
  test('a good archive becomes the object, with its digest and inspection', async () => {
    const store = freshStore()
    const archive = await archiveOf(validMembers())
    const result = await uploadCheckedSnapshot(chunked(archive), store, 'a.snap', {encryptTo: []})
    expect(result.file).toEqual({sha256: sha256(archive), size: archive.length})
    expect(result.inspection.ok).toBe(true)
    expect(readFileSync(store.describe('a.snap'))).toEqual(archive)
  })

  test.each([
    ['truncated', (bytes: Buffer) => bytes.subarray(0, Math.floor(bytes.length / 2))],
    ['garbage', (bytes: Buffer) => Buffer.alloc(bytes.length, 7)],
    ['empty', () => Buffer.alloc(0)],
  ])('a %s archive fails the check and leaves nothing in the store', async (_kind, damage) => {
    const store = freshStore()
    const archive = damage(await archiveOf(validMembers()))
    await expect(uploadCheckedSnapshot(chunked(archive), store, 'a.snap', {encryptTo: []})).rejects.toBeInstanceOf(FailedStreamCheck)
    expect(readdirSync(store.location)).toEqual([])
  })

  test('the pending upload is registered for an interruption and released once done', async () => {
    const store = freshStore()
    const events: string[] = []
    await uploadCheckedSnapshot(chunked(await archiveOf(validMembers())), store, 'a.snap', {
      encryptTo: [],
      onPending: () => {
        events.push('registered')
        return () => events.push('released')
      },
    })
    expect(events).toEqual(['registered', 'released'])
  })
})

describe('verify, list, prune and fetch on a store', () => {
  test('verify streams the object through the checker and compares it with its manifest', async () => {
    const store = freshStore()
    const name = await publishedSnapshot(store, 'region1', 'snapshot', new Date('2026-01-01T00:00:00Z'))
    const good = await verifyStoredSnapshot(store, name)
    expect(good).toMatchObject({ok: true, contentsChecked: true, encrypted: false, problems: []})
    // One byte flipped in the stored object: the checker and the manifest both say so.
    const path = store.describe(name)
    const bytes = readFileSync(path)
    bytes[Math.floor(bytes.length / 2)] ^= 1
    writeFileSync(path, bytes)
    const bad = await verifyStoredSnapshot(store, name)
    expect(bad.ok).toBe(false)
    expect(bad.problems.map((p) => p.code)).toContain('MANIFEST_MISMATCH')
  })

  test('list: only published snapshots are entries; an archive without its manifest is a stray', async () => {
    const store = freshStore()
    const published = await publishedSnapshot(store, 'region1', 'snapshot', new Date('2026-01-01T00:00:00Z'))
    writeFileSync(store.describe('20260102T000000.000Z-region1.snap'), await archiveOf(validMembers()))
    const catalog = await readStoreCatalog(store, {verify: true})
    expect(catalog.entries.map((e) => [e.file, e.verify?.ok])).toEqual([[store.describe(published), true]])
    expect(catalog.strays.map((s) => s.file)).toEqual([store.describe('20260102T000000.000Z-region1.snap')])
    expect(catalog.strays[0].reason).toContain('not published')
  })

  test('prune: this region\'s regular snapshots only, manifest first, never the new one', async () => {
    const store = freshStore()
    const day = (n: number) => new Date(`2026-01-0${n}T00:00:00Z`)
    const old1 = await publishedSnapshot(store, 'region1', 'snapshot', day(1))
    const old2 = await publishedSnapshot(store, 'region1', 'snapshot', day(2))
    const safety = await publishedSnapshot(store, 'region1', 'safety', day(3))
    const other = await publishedSnapshot(store, 'region2', 'snapshot', day(1))
    const newest = await publishedSnapshot(store, 'region1', 'snapshot', day(4))
    const pruned = await pruneStore(store, 'region1', {keepLast: 1}, newest)
    expect(pruned.map((p) => p.file)).toEqual([store.describe(old2), store.describe(old1)])
    for (const name of [old1, old2]) expect(existsSync(store.describe(name))).toBe(false)
    for (const name of [safety, other, newest]) expect(existsSync(store.describe(name))).toBe(true)
  })

  test('fetch for restore: a copy checked against the manifest, removed by cleanup; an altered object is refused', async () => {
    const store = freshStore()
    const name = await publishedSnapshot(store, 'region1', 'snapshot', new Date('2026-01-01T00:00:00Z'))
    const work = mkdtempSync(join(tmpdir(), 'fetch-work-'))
    const fetched = await fetchSnapshot(store, name, work)
    expect(readFileSync(fetched.archive)).toEqual(readFileSync(store.describe(name)))
    expect(fetched.manifest.region).toBe('region1')
    await fetched.cleanup()
    expect(readdirSync(work)).toEqual([])

    writeFileSync(store.describe(name), Buffer.concat([readFileSync(store.describe(name)), Buffer.from('x')]))
    await expect(fetchSnapshot(store, name, work)).rejects.toThrow(/refusing to restore .*longer than the \d+ bytes its manifest records/)
    expect(readdirSync(work)).toEqual([])
    await expect(fetchSnapshot(store, '20260109T000000.000Z-region1.snap', work)).rejects.toThrow('has no manifest')
  })
})
