import {once} from 'node:events'
import {createWriteStream} from 'node:fs'
import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {Readable, Transform} from 'node:stream'
import {pipeline} from 'node:stream/promises'

import {ExitCode, ToolkitError} from '../errors/errors.js'
import {displayText} from '../report/display.js'
import {decryptStream, encryptStream, AGE_MAGIC} from './age.js'
import {AGE_STREAM_ERROR, ArchiveChecker, type ArchiveInspection, type SnapshotProblem} from './archive.js'
import {catalogEntry, finishCatalog, type Catalog, type CatalogEntry} from './catalog.js'
import {ENCRYPTED_EXTENSION, SNAPSHOT_EXTENSION, manifestPathFor, parseManifest, type SnapshotManifest} from './manifest.js'
import {applyRetention, type RetentionRules} from './retention.js'
import type {SnapshotStore} from './snapshot-store.js'
import {concludeVerification, hashingStream, type VerifyOptions, type VerifyReport} from './verify.js'

/**
 * dr's operations on a SnapshotStore (snapshot-store.ts), for locations that
 * are not a local directory (`s3://…`): the same integrity checker, the same
 * manifest comparison and retention rules as the directory code, done while
 * the bytes stream, with memory bounded at any snapshot size.
 */

/** A manifest is a few hundred KB even with per-key evidence of a large Vault. */
const MANIFEST_LIMIT = 64 * 1024 * 1024

const isArchiveName = (name: string) => name.endsWith(SNAPSHOT_EXTENSION) || name.endsWith(ENCRYPTED_EXTENSION)

export function manifestNameFor(archiveName: string): string {
  return manifestPathFor(archiveName)
}

/** The integrity check failed while streaming: the upload is aborted and nothing is published. */
export class FailedStreamCheck extends Error {
  constructor(readonly inspection: ArchiveInspection) {
    super('integrity check failed')
  }
}

export interface StoreTransfer {
  inspection: ArchiveInspection
  file: {sha256: string; size: number}
}

/**
 * Streams the server's snapshot into a new object of `store`: every byte goes
 * through the integrity checker (archive SHA-256, gzip and tar structure,
 * member sums) on its way to the upload, encrypted with age on the way when
 * `encryptTo` names recipients. The body ends only once the checker has
 * passed the whole archive, so an upload of a bad snapshot never completes:
 * it is aborted (no part left behind). `onPending` registers the abort for
 * an interruption (the command's signal handlers).
 */
export async function uploadCheckedSnapshot(
  response: Readable,
  store: SnapshotStore,
  fileName: string,
  options: {encryptTo: string[]; onBytes?: (bytes: number) => void; onPending?: (abort: () => Promise<void>) => () => void},
): Promise<StoreTransfer> {
  const checker = new ArchiveChecker()
  let failed: ArchiveInspection | undefined
  const tap = new Transform({
    highWaterMark: 1024 * 1024,
    transform(chunk: Buffer, _encoding, callback) {
      options.onBytes?.(chunk.length)
      this.push(chunk)
      if (checker.input.write(chunk)) callback()
      // A checker that gave up ends the wait too: its result then stops the upload with what it found.
      else void Promise.race([once(checker.input, 'drain').catch(() => undefined), checker.result]).then(() => callback())
    },
    flush(callback) {
      // The last byte goes on only once the whole archive has passed the check.
      checker.input.end()
      checker.result.then((inspection) => callback(inspection.ok ? null : new FailedStreamCheck(inspection)), callback)
    },
  })
  void checker.result.then((inspection) => {
    // A fault found mid-stream stops the upload at once.
    if (!inspection.ok && !tap.destroyed) {
      failed = inspection
      tap.destroy(new FailedStreamCheck(inspection))
    }
  })
  response.on('error', (error) => tap.destroy(error))
  const plain = response.pipe(tap)
  const encrypted = options.encryptTo.length > 0 ? await encryptStream(plain, options.encryptTo) : plain
  const outer = hashingStream()
  encrypted.on('error', (error) => outer.stream.destroy(error))
  encrypted.pipe(outer.stream)
  const upload = store.write(fileName, outer.stream)
  const release = options.onPending?.(() => upload.abort(new Error('interrupted'))) ?? (() => {})
  try {
    await upload.done
  } catch (error) {
    // The checker may have given up at the same moment: its finding, not the stream error it caused, is the reason.
    const settled = await Promise.race([checker.result, new Promise<undefined>((resolve) => setImmediate(() => resolve(undefined)))])
    checker.input.destroy()
    if (!failed && settled && !settled.ok) failed = settled
    if (failed) throw new FailedStreamCheck(failed)
    const cause = (error as Error & {cause?: unknown}).cause
    if (error instanceof FailedStreamCheck) throw error
    if (cause instanceof FailedStreamCheck) throw cause
    throw error
  } finally {
    release()
  }
  const inspection = await checker.result
  if (!inspection.ok) throw new FailedStreamCheck(inspection)
  return {inspection, file: outer.result()}
}

/** The manifest of `archiveName` in the store; undefined when there is none (the snapshot is not published). */
export async function readStoredManifest(store: SnapshotStore, manifestName: string): Promise<SnapshotManifest | undefined> {
  const bytes = await store.readSmall(manifestName, MANIFEST_LIMIT)
  return bytes === undefined ? undefined : parseManifest(bytes.toString('utf8'), store.describe(manifestName))
}

/** Accepts the archive's or the manifest's name; returns both, with the manifest when it exists. */
async function resolveStoredNames(store: SnapshotStore, name: string): Promise<{archive: string; manifestName: string; manifest?: SnapshotManifest}> {
  if (name.endsWith('.json')) {
    const manifest = await readStoredManifest(store, name)
    if (!manifest) throw notFound(store, name)
    return {archive: manifest.archive.file, manifestName: name, manifest}
  }
  const manifestName = manifestNameFor(name)
  return {archive: name, manifestName, manifest: await readStoredManifest(store, manifestName)}
}

function notFound(store: SnapshotStore, name: string): ToolkitError {
  return new ToolkitError('SNAPSHOT_NOT_FOUND', `snapshot ${displayText(store.describe(name))} does not exist`, {hint: `Check the name; \`secrets dr list ${displayText(store.location)}\` shows the snapshots there.`})
}

/** The first bytes of a stream, and the whole stream again (nothing is read twice). */
async function peek(body: Readable, bytes: number): Promise<{head: Buffer; stream: Readable}> {
  const iterator = (body as AsyncIterable<Buffer>)[Symbol.asyncIterator]()
  const first: Buffer[] = []
  let have = 0
  let done = false
  while (have < bytes) {
    const next = await iterator.next()
    if (next.done) {
      done = true
      break
    }
    first.push(next.value)
    have += next.value.length
  }
  const head = Buffer.concat(first)
  async function* all(): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head
    if (done) return
    for (;;) {
      const next = await iterator.next()
      if (next.done) return
      yield next.value
    }
  }
  return {head, stream: Readable.from(all(), {objectMode: false})}
}

/**
 * Writes `source` into the checker and keeps reading to the end even after
 * the checker has given up, so that the file's own digest is complete.
 */
async function feedToEnd(source: AsyncIterable<Buffer>, checker: ArchiveChecker): Promise<void> {
  let checking = true
  void checker.result.then(() => {
    checking = false
  })
  for await (const chunk of source) {
    if (!checking || checker.input.destroyed) continue
    if (!checker.input.write(chunk)) await Promise.race([once(checker.input, 'drain'), checker.result])
  }
  if (!checker.input.destroyed) checker.input.end()
}

/**
 * `dr verify` of a stored snapshot: one streaming download through the
 * hashing stream and the integrity checker (decrypting on the way with
 * identities), compared with the manifest. The same report as a file's.
 */
export async function verifyStoredSnapshot(store: SnapshotStore, name: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const {archive, manifestName, manifest} = await resolveStoredNames(store, name)
  const object = await store.read(archive)
  if (!object) throw notFound(store, archive)
  const file = store.describe(archive)
  let downloadError: Error | undefined
  object.body.on('error', (error) => {
    downloadError ??= error
  })
  const notes: string[] = []
  const problems: SnapshotProblem[] = []
  const outer = hashingStream()
  let inspection: ArchiveInspection | undefined
  let encrypted = archive.endsWith(ENCRYPTED_EXTENSION)
  const unreadable = (error: unknown) =>
    new ToolkitError('SNAPSHOT_UNREADABLE', `cannot read ${displayText(file)} to the end (${displayText((error as Error).message ?? String(error))})`, {hint: 'Check the store and the network, then re-run.', exitCode: ExitCode.Error, cause: error})
  try {
    const {head, stream} = await peek(object.body, AGE_MAGIC.length)
    encrypted = head.subarray(0, AGE_MAGIC.length).toString('latin1') === AGE_MAGIC
    stream.on('error', (error) => outer.stream.destroy(error))
    const hashed = stream.pipe(outer.stream)
    if (!encrypted) {
      const checker = new ArchiveChecker()
      await feedToEnd(hashed, checker)
      inspection = await checker.result
    } else if (options.identities && options.identities.length > 0) {
      const checker = new ArchiveChecker()
      try {
        await feedToEnd(await decryptStream(hashed, options.identities, file), checker)
        inspection = await checker.result
      } catch (error) {
        if (downloadError) throw error
        if (error instanceof ToolkitError && error.code !== 'DECRYPTION_FAILED') throw error
        if (!(error instanceof ToolkitError) && (error as NodeJS.ErrnoException).code !== AGE_STREAM_ERROR) throw error
        problems.push({code: 'DECRYPTION_FAILED', message: displayText((error as Error).message)})
        checker.input.destroy()
        // Finish reading, for the file's digest.
        for await (const _ of hashed) void _
      }
    } else {
      if (!manifest) {
        throw new ToolkitError('CANNOT_VERIFY', `${displayText(file)} is age-encrypted and has no manifest: nothing can be checked without the key`, {hint: 'Pass --identity KEYFILE to decrypt and check the archive inside.'})
      }
      for await (const _ of hashed) void _
      notes.push('encrypted: only the object\'s SHA-256 and size were checked against the manifest; pass --identity to check the archive inside')
    }
  } catch (error) {
    object.body.destroy()
    if (error instanceof ToolkitError) throw error
    if (!isStoredChecksumMismatch(downloadError ?? error)) throw unreadable(downloadError ?? error)
    inspection = undefined
    problems.push(storedChecksumProblem(downloadError ?? error))
    downloadError = undefined
  }
  if (downloadError && !isStoredChecksumMismatch(downloadError)) throw unreadable(downloadError)
  if (downloadError) problems.push(storedChecksumProblem(downloadError))
  const {sha256, size} = outer.result()
  return concludeVerification({
    file,
    manifestFile: store.describe(manifestName),
    manifest,
    encrypted,
    sha256,
    size,
    inspection,
    problems,
    notes,
    unpublishedNote: `no manifest (${displayText(manifestName)}): the snapshot is not published and was checked on its own`,
  })
}

/**
 * The S3 SDK checks a download against the checksum the store recorded at
 * upload (x-amz-checksum-*) and fails the stream when they differ: the object
 * was altered or truncated in the bucket, a finding about it, not an I/O error.
 * (Matched by message here so that dr does not load the SDK for local work.)
 */
function isStoredChecksumMismatch(error: unknown): boolean {
  return /checksum mismatch/i.test((error as Error)?.message ?? '')
}

function storedChecksumProblem(error: unknown): SnapshotProblem {
  return {
    code: 'CHECKSUM_MISMATCH',
    message: `the object does not match the checksum the store recorded when it was uploaded (${displayText((error as Error).message ?? String(error))}): it was altered or truncated in the bucket`,
  }
}

/**
 * The published snapshots of a store, oldest first: an archive counts only
 * with its manifest (written last, once the archive verified). Archives
 * without one, manifests without an archive and unfinished multipart uploads
 * are strays.
 */
export async function readStoreCatalog(
  store: SnapshotStore,
  options: {verify: boolean; verifyOptions?: VerifyOptions; concurrency?: number; region?: string} = {verify: false},
): Promise<Catalog> {
  const objects = await store.list()
  const names = new Set(objects.map((object) => object.name))
  const entries: CatalogEntry[] = []
  const strays: Catalog['strays'] = []
  for (const object of objects) {
    if (!isArchiveName(object.name)) continue
    const manifestName = manifestNameFor(object.name)
    if (!names.has(manifestName)) {
      strays.push({file: store.describe(object.name), reason: 'not published: no manifest beside it (a snapshot that failed or was interrupted before its manifest was written); safe to delete once no snapshot is running'})
      continue
    }
    entries.push(await catalogEntry(store.describe(object.name), object.name, object.size, () => readStoredManifest(store, manifestName)))
  }
  for (const object of objects) {
    if (!object.name.endsWith('.json') || isArchiveName(object.name)) continue
    const archives = [`${object.name.slice(0, -'.json'.length)}${SNAPSHOT_EXTENSION}`, `${object.name.slice(0, -'.json'.length)}${ENCRYPTED_EXTENSION}`]
    if (!archives.some((name) => names.has(name))) strays.push({file: store.describe(object.name), reason: 'a manifest whose snapshot is missing'})
  }
  for (const key of await store.pendingUploads().catch(() => [] as string[])) {
    strays.push({file: `${key} (multipart upload)`, reason: 'an unfinished upload (a snapshot killed mid-upload): the bucket\'s AbortIncompleteMultipartUpload lifecycle rule removes it, or `aws s3api abort-multipart-upload`'})
  }
  return {directory: store.location, entries: await finishCatalog(entries, options, (entry) => verifyStoredSnapshot(store, objectName(entry.file), options.verifyOptions)), strays}
}

function objectName(described: string): string {
  return described.slice(described.lastIndexOf('/') + 1)
}

/**
 * --keep/--keep-within on a store: this region's published regular snapshots
 * only (never safety snapshots, never another region's, never `keepName`).
 * The manifest goes first, so a prune cut short leaves an unpublished
 * archive (a stray), never a manifest pointing at nothing.
 */
export async function pruneStore(store: SnapshotStore, region: string, rules: RetentionRules, keepName: string): Promise<{file: string; createdAt: string}[]> {
  const catalog = await readStoreCatalog(store, {verify: false})
  const candidates = catalog.entries
    .filter((entry) => entry.manifest && entry.manifest.region === region && entry.manifest.kind === 'snapshot')
    .map((entry) => ({name: objectName(entry.file), createdAt: entry.createdAt!, file: entry.file}))
  const {remove} = applyRetention(candidates, rules)
  const pruned: {file: string; createdAt: string}[] = []
  for (const entry of remove) {
    if (entry.name === keepName) continue
    await store.remove(manifestNameFor(entry.name))
    await store.remove(entry.name)
    pruned.push({file: entry.file, createdAt: entry.createdAt.toISOString()})
  }
  return pruned
}

export interface FetchedSnapshot {
  /** The local copy, named as in the store, with its manifest beside it. */
  archive: string
  manifestFile: string
  manifest: SnapshotManifest
  /** Removes the local copy (the temporary directory). */
  cleanup: () => Promise<void>
}

/**
 * For `dr restore`: downloads a published snapshot and its manifest into a
 * fresh directory under `workDir` (default: the system's temporary
 * directory), checking size and SHA-256 against the manifest as it streams
 * (a download longer than recorded stops at once). The restore's own verify
 * stage then runs the full check on the local copy before anything is sent.
 */
export async function fetchSnapshot(store: SnapshotStore, name: string, workDir: string | undefined, onTemporaryFile?: (path: string) => () => void): Promise<FetchedSnapshot> {
  const {archive, manifestName, manifest} = await resolveStoredNames(store, name)
  if (!manifest) {
    throw new ToolkitError('SNAPSHOT_UNPUBLISHED', `${displayText(store.describe(archive))} has no manifest (${displayText(manifestName)}): it is not a published snapshot`, {
      hint: 'A snapshot without its manifest failed or was interrupted before it verified: pick another (`secrets dr list` shows the published ones).',
    })
  }
  const object = await store.read(archive)
  if (!object) throw notFound(store, archive)
  const base = resolve(workDir ?? tmpdir())
  await mkdir(base, {recursive: true})
  const directory = await mkdtemp(join(base, '.secrets-toolkit-restore-'))
  const localArchive = join(directory, archive)
  const localManifest = join(directory, manifestName)
  const releases = [onTemporaryFile?.(localArchive), onTemporaryFile?.(localManifest)]
  const cleanup = async () => {
    await rm(directory, {recursive: true, force: true})
    for (const release of releases) release?.()
  }
  try {
    const outer = hashingStream()
    const limit = manifest.archive.size
    const bounded = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        seen += chunk.length
        if (seen > limit) callback(new Error(`longer than the ${limit} bytes its manifest records`))
        else callback(null, chunk)
      },
    })
    let seen = 0
    await pipeline(object.body, bounded, outer.stream, createWriteStream(localArchive, {flags: 'wx', mode: 0o600}))
    const {sha256, size} = outer.result()
    if (size !== manifest.archive.size || sha256 !== manifest.archive.sha256) {
      throw new ToolkitError('SNAPSHOT_INVALID', `refusing to restore ${displayText(store.describe(archive))}: the object is not what its manifest records (${size} bytes, SHA-256 ${sha256}; recorded ${manifest.archive.size} bytes, ${manifest.archive.sha256})`, {
        hint: 'Nothing was sent to the server. The object was altered or truncated in the bucket: pick another snapshot (`secrets dr list` shows which verify).',
      })
    }
    // The manifest as read above, byte for byte: the local verify stage compares the copy with it.
    await writeFile(localManifest, `${JSON.stringify(manifest, null, 2)}\n`, {mode: 0o600, flag: 'wx'})
  } catch (error) {
    object.body.destroy()
    await cleanup()
    if (error instanceof ToolkitError) throw error
    const message = (error as Error).message ?? String(error)
    if (/longer than/.test(message) || isStoredChecksumMismatch(error)) {
      const what = isStoredChecksumMismatch(error) ? storedChecksumProblem(error).message : `the object is ${displayText(message)}`
      throw new ToolkitError('SNAPSHOT_INVALID', `refusing to restore ${displayText(store.describe(archive))}: ${what}`, {hint: 'Nothing was sent to the server. Pick another snapshot.'})
    }
    throw new ToolkitError('SNAPSHOT_DOWNLOAD_FAILED', `could not download ${displayText(store.describe(archive))} into ${displayText(directory)} (${displayText(message)}); nothing was sent to the server`, {
      hint: 'Check the store, the network and the free space of --work-dir, then re-run.',
      cause: error,
    })
  }
  return {archive: localArchive, manifestFile: localManifest, manifest, cleanup}
}
