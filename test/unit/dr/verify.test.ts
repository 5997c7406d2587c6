import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Readable} from 'node:stream'

import {Encrypter, generateIdentity, identityToRecipient} from 'age-encryption'

import {encryptStream} from '../../../src/lib/dr/age.js'
import {readCatalog, verdict} from '../../../src/lib/dr/catalog.js'
import {MANIFEST_FORMAT, snapshotName, type SnapshotManifest} from '../../../src/lib/dr/manifest.js'
import {verifiedPassThrough} from '../../../src/lib/dr/restore.js'
import {verifyAgainstManifest, verifySnapshotFile} from '../../../src/lib/dr/verify.js'
import {isToolkitError} from '../../../src/lib/errors/errors.js'
import {SecretValue} from '../../../src/lib/secret/secret-value.js'
import {archiveOf, sha256, validMembers} from './synthetic-snapshot.js'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dr-verify-'))
})
afterEach(async () => {
  await rm(dir, {recursive: true, force: true})
})

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** Writes an archive (optionally age-encrypted) and its manifest the way `dr snapshot` names them. */
async function writeSnapshot(options: {at?: string; region?: string; recipients?: string[]; bytes?: Buffer; kind?: 'snapshot' | 'safety'} = {}) {
  const archive = options.bytes ?? (await archiveOf(validMembers({stateSize: 100_000})))
  const createdAt = new Date(options.at ?? '2025-01-31T02:15:00.000Z')
  const name = snapshotName(options.region ?? 'region1', createdAt, options.kind ?? 'snapshot')
  const encrypted = options.recipients ? await collect(await encryptStream(Readable.from([archive]), options.recipients)) : archive
  const file = `${name}.snap${options.recipients ? '.age' : ''}`
  await writeFile(join(dir, file), encrypted)
  const manifest: SnapshotManifest = {
    format: MANIFEST_FORMAT,
    name,
    kind: options.kind ?? 'snapshot',
    region: options.region ?? 'region1',
    createdAt: createdAt.toISOString(),
    durationMs: 10,
    archive: {file, sha256: sha256(encrypted), size: encrypted.length},
    snapshot: {sha256: sha256(archive), size: archive.length},
    encryption: options.recipients ? {format: 'age', recipients: options.recipients} : undefined,
    raft: {id: '2-1234-1700000000000', index: 1234, term: 2, version: 1, stateSize: 100_000, sealedSums: false},
    server: {address: 'http://127.0.0.1:8200', version: '1.21.4', clusterName: 'vault-cluster-a', clusterId: 'id-a', sealType: 'shamir'},
    keyCounts: {mounts: {secret: 3}, stable: true, notes: []},
  }
  await writeFile(join(dir, `${name}.json`), JSON.stringify(manifest))
  return {path: join(dir, file), manifestPath: join(dir, `${name}.json`), archive, encrypted, manifest}
}

describe('verifySnapshotFile', () => {
  test('a good snapshot and its manifest agree (by archive path or by manifest path)', async () => {
    const {path, manifestPath} = await writeSnapshot()
    for (const input of [path, manifestPath]) {
      const report = await verifySnapshotFile(input)
      expect(report.problems).toEqual([])
      expect(report).toMatchObject({ok: true, encrypted: false, contentsChecked: true, file: path, manifestFile: manifestPath})
    }
  })

  test('without a manifest the archive is checked on its own, and the report says so', async () => {
    const bytes = await archiveOf(validMembers())
    const path = join(dir, 'from-vault-cli.snap')
    await writeFile(path, bytes)
    const report = await verifySnapshotFile(path)
    expect(report.ok).toBe(true)
    expect(report.notes.join()).toMatch(/no manifest/)
  })

  test('an archive that is valid but not the one the manifest records', async () => {
    const {path} = await writeSnapshot()
    await writeFile(path, await archiveOf(validMembers({stateSize: 100_001})))
    const report = await verifySnapshotFile(path)
    expect(report.ok).toBe(false)
    expect(report.problems.map((p) => p.code)).toContain('MANIFEST_MISMATCH')
  })

  test('a truncated file: the integrity problem, plus an exact file digest in the mismatch', async () => {
    const {path, archive} = await writeSnapshot()
    await writeFile(path, archive.subarray(0, 5000))
    const report = await verifySnapshotFile(path)
    expect(report.problems[0].code).toBe('TRUNCATED')
    expect(report.sha256).toBe(sha256(archive.subarray(0, 5000)))
    expect(report.size).toBe(5000)
  })

  test('an empty file', async () => {
    const {path} = await writeSnapshot()
    await writeFile(path, '')
    expect((await verifySnapshotFile(path)).problems[0].code).toBe('EMPTY')
  })

  test('a missing file is an error (exit 2), not a finding', async () => {
    await expect(verifySnapshotFile(join(dir, 'nope.snap'))).rejects.toMatchObject({code: 'SNAPSHOT_NOT_FOUND', exitCode: 2})
  })

  test('a damaged manifest is an error naming it', async () => {
    const {path, manifestPath} = await writeSnapshot()
    await writeFile(manifestPath, '{"format": "something else"}')
    await expect(verifySnapshotFile(path)).rejects.toMatchObject({code: 'MANIFEST_INVALID'})
  })
})

describe('verifyAgainstManifest (restore)', () => {
  test('a plain archive with the SHA-256 and size its manifest records: hashed only, the facts from the manifest', async () => {
    const {path, manifestPath, archive, manifest} = await writeSnapshot()
    const report = await verifyAgainstManifest(path)
    expect(report).toMatchObject({ok: true, encrypted: false, file: path, manifestFile: manifestPath, sha256: sha256(archive), size: archive.length, problems: []})
    expect(report.inspection).toMatchObject({ok: true, sha256: sha256(archive), size: archive.length, members: [], sealedSums: false, raft: {id: manifest.raft.id, index: 1234, term: 2, size: 100_000}})
    expect(report.notes.join()).toMatch(/full check when the snapshot was taken/)
  })

  test('a file that differs from its manifest gets the full check, which says what is wrong', async () => {
    const {path, archive} = await writeSnapshot()
    const flipped = Buffer.from(archive)
    flipped[Math.floor(flipped.length / 2)] ^= 0xff
    await writeFile(path, flipped)
    const report = await verifyAgainstManifest(path)
    expect(report.ok).toBe(false)
    expect(report.contentsChecked).toBe(true)
    expect(report.inspection!.members.length).toBeGreaterThan(0)
    expect(report.problems.map((p) => p.code)).toContain('MANIFEST_MISMATCH')
    expect(report.problems.map((p) => p.code).some((code) => code !== 'MANIFEST_MISMATCH')).toBe(true)

    const other = await writeSnapshot({at: '2025-02-01T00:00:00.000Z'})
    await writeFile(other.path, archive.subarray(0, 5000))
    expect((await verifyAgainstManifest(other.path)).problems[0].code).toBe('TRUNCATED')
  })

  test('without a manifest, or encrypted, the archive is checked in full', async () => {
    const bytes = await archiveOf(validMembers())
    const path = join(dir, 'from-vault-cli.snap')
    await writeFile(path, bytes)
    const plain = await verifyAgainstManifest(path)
    expect(plain).toMatchObject({ok: true, contentsChecked: true})
    expect(plain.inspection!.members.map((m) => m.name)).toContain('state.bin')

    const identity = await generateIdentity()
    const encrypted = await writeSnapshot({at: '2025-02-02T00:00:00.000Z', recipients: [await identityToRecipient(identity)]})
    const report = await verifyAgainstManifest(encrypted.path, {identities: [SecretValue.fromString(identity)]})
    expect(report).toMatchObject({ok: true, encrypted: true, contentsChecked: true})
    expect(report.inspection!.members.length).toBeGreaterThan(0)
  })

  test('a missing file is an error (exit 2)', async () => {
    const {path} = await writeSnapshot()
    await rm(path)
    await expect(verifyAgainstManifest(path)).rejects.toMatchObject({code: 'SNAPSHOT_NOT_FOUND', exitCode: 2})
  })
})

describe('age-encrypted snapshots', () => {
  test('round-trip: encrypted on write, fully checked with the identity, hash-only without it', async () => {
    const identity = await generateIdentity()
    const recipient = await identityToRecipient(identity)
    const {path, encrypted} = await writeSnapshot({recipients: [recipient]})
    expect(encrypted.subarray(0, 21).toString()).toBe('age-encryption.org/v1')

    const full = await verifySnapshotFile(path, {identities: [SecretValue.fromString(identity)]})
    expect(full.problems).toEqual([])
    expect(full).toMatchObject({ok: true, encrypted: true, contentsChecked: true})
    expect(full.inspection?.raft?.index).toBe(1234)

    const outer = await verifySnapshotFile(path)
    expect(outer).toMatchObject({ok: true, encrypted: true, contentsChecked: false})
    expect(outer.notes.join()).toMatch(/--identity/)
  })

  test('the wrong key is an error that names what to do', async () => {
    const recipient = await identityToRecipient(await generateIdentity())
    const {path} = await writeSnapshot({recipients: [recipient]})
    const error = await verifySnapshotFile(path, {identities: [SecretValue.fromString(await generateIdentity())]}).catch((e: unknown) => e)
    expect(isToolkitError(error) && error.code).toBe('IDENTITY_MISMATCH')
    // The key itself never appears in the message.
    expect(String((error as Error).message)).not.toMatch(/AGE-SECRET-KEY/)
  })

  test('a flipped ciphertext byte is a finding', async () => {
    const identity = await generateIdentity()
    const {path, encrypted} = await writeSnapshot({recipients: [await identityToRecipient(identity)]})
    const damaged = Buffer.from(encrypted)
    damaged[damaged.length - 500] ^= 0x01
    await writeFile(path, damaged)
    const report = await verifySnapshotFile(path, {identities: [SecretValue.fromString(identity)]})
    expect(report.ok).toBe(false)
    expect(report.problems.map((p) => p.code)).toContain('DECRYPTION_FAILED')
  })

  test('encrypted with no manifest and no key: cannot be verified (error)', async () => {
    const identity = await generateIdentity()
    const e = new Encrypter()
    e.addRecipient(await identityToRecipient(identity))
    const path = join(dir, 'x.snap.age')
    await writeFile(path, await e.encrypt(await archiveOf(validMembers())))
    await expect(verifySnapshotFile(path)).rejects.toMatchObject({code: 'CANNOT_VERIFY'})
  })
})

describe('readCatalog', () => {
  test('lists oldest first with verdicts, and reports strays', async () => {
    await writeSnapshot({at: '2025-01-03T00:00:00.000Z'})
    const bad = await writeSnapshot({at: '2025-01-01T00:00:00.000Z', region: 'region2'})
    await writeSnapshot({at: '2025-01-02T00:00:00.000Z', kind: 'safety'})
    await writeFile(bad.path, (await readFile(bad.path)).subarray(0, 100))
    await writeFile(join(dir, '.20250104T000000.000Z-region1.snap.1-ab.partial'), 'x')
    await writeFile(join(dir, 'notes.txt'), 'not a snapshot')
    const catalog = await readCatalog(dir, {verify: true})
    expect(catalog.entries.map((e) => [e.region, e.kind, verdict(e)])).toEqual([
      ['region2', 'snapshot', 'FAILED'],
      ['region1', 'safety', 'ok'],
      ['region1', 'snapshot', 'ok'],
    ])
    expect(catalog.strays).toHaveLength(1)
    const region1 = await readCatalog(dir, {verify: false, region: 'region1'})
    expect(region1.entries.map((e) => verdict(e))).toEqual(['unchecked', 'unchecked'])
  })
})

describe('verifiedPassThrough (restore upload guard)', () => {
  const run = async (data: Buffer[], expected: string) => collect(Readable.from(data).pipe(verifiedPassThrough(expected, 'snap')))

  test('passes the bytes unchanged when they are the checked ones', async () => {
    const data = [Buffer.from('abc'), Buffer.from('def'), Buffer.from('g')]
    expect((await run(data, sha256(Buffer.from('abcdefg')))).toString()).toBe('abcdefg')
  })

  test('withholds the last chunk and fails when the bytes changed since the check', async () => {
    const transform = verifiedPassThrough(sha256(Buffer.from('abcdefg')), 'snap')
    const received: Buffer[] = []
    transform.on('data', (chunk: Buffer) => received.push(chunk))
    const failed = new Promise((resolve) => transform.on('error', resolve))
    for (const chunk of ['abc', 'dXf', 'g']) transform.write(Buffer.from(chunk))
    transform.end()
    expect(await failed).toMatchObject({code: 'SNAPSHOT_CHANGED'})
    expect(Buffer.concat(received).toString()).toBe('abcdXf')
  })
})
