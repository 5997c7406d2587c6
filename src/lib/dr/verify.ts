import {createHash} from 'node:crypto'
import {createReadStream} from 'node:fs'
import {stat} from 'node:fs/promises'
import {basename, dirname, join, resolve} from 'node:path'
import {Transform, type Readable} from 'node:stream'
import {pipeline} from 'node:stream/promises'

import {ToolkitError} from '../errors/errors.js'
import {noteStreamedBytes} from '../memory/bounded-memory.js'
import {displayText} from '../report/display.js'
import type {SecretValue} from '../secret/secret-value.js'
import {decryptStream, isAgeFile} from './age.js'
import {inspectArchive, type ArchiveInspection, type SnapshotProblem} from './archive.js'
import {hashFile, hashFileOnWorker, startFileCheck} from './file-check.js'
import {NotARegularFileError, describeFileType} from './files.js'
import {manifestPathFor, readManifest, type SnapshotManifest} from './manifest.js'

export interface VerifyOptions {
  /** age identities: without them an encrypted snapshot is checked against its manifest only. */
  identities?: SecretValue[]
}

export interface VerifyReport {
  file: string
  manifestFile?: string
  manifest?: SnapshotManifest
  ok: boolean
  encrypted: boolean
  /** The archive inside was decompressed and every member checked. False only for an encrypted file without --identity. */
  contentsChecked: boolean
  /** Bytes and SHA-256 of the file on disk. */
  size: number
  sha256: string
  inspection?: ArchiveInspection
  problems: SnapshotProblem[]
  notes: string[]
}

/** A pass-through that hashes and counts what flows through it. */
export function hashingStream(): {stream: Transform; result: () => {sha256: string; size: number}} {
  const hash = createHash('sha256')
  let size = 0
  let digest: string | undefined
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk)
      size += chunk.length
      noteStreamedBytes(chunk.length)
      callback(null, chunk)
    },
  })
  return {stream, result: () => ({sha256: (digest ??= hash.digest('hex')), size})}
}

/** Accepts the archive or its manifest; returns both paths. */
export async function resolveSnapshotPaths(input: string): Promise<{archive: string; manifestFile: string; manifest?: SnapshotManifest}> {
  const path = resolve(input)
  if (path.endsWith('.json')) {
    const manifest = await readManifest(path)
    if (!manifest) throw notFound(path)
    return {archive: join(dirname(path), basename(manifest.archive.file)), manifestFile: path, manifest}
  }
  const manifestFile = manifestPathFor(path)
  return {archive: path, manifestFile, manifest: await readManifest(manifestFile)}
}

/** The snapshot file's size, refusing what is not a regular file. */
async function statSnapshot(archive: string): Promise<{size: number}> {
  const info = await stat(archive).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') throw notFound(archive)
    throw new ToolkitError('SNAPSHOT_UNREADABLE', `cannot read snapshot file ${displayText(archive)} (${error.code ?? 'unreadable'})`, {hint: 'Check its permissions.'})
  })
  // A FIFO or device would block the reads forever (or never end, like /dev/zero): refused before any open.
  if (!info.isFile()) throw new NotARegularFileError(archive, describeFileType(info), 'a snapshot')
  return info
}

function unreadable(archive: string, error: NodeJS.ErrnoException): ToolkitError {
  return new ToolkitError('SNAPSHOT_UNREADABLE', `cannot read snapshot file ${displayText(archive)} (${error.code ?? error.message})`, {hint: 'Check the file and the disk it is on.'})
}

function notFound(path: string): ToolkitError {
  return new ToolkitError('SNAPSHOT_NOT_FOUND', `snapshot file ${displayText(path)} does not exist`, {hint: 'Check the path; `secrets dr list DIR` shows the snapshots in a directory.'})
}

/**
 * The offline check of a snapshot file: decompress, check members and
 * SHA256SUMS, and compare with the manifest when there is one. Used by `dr
 * verify`, `dr list` and, before anything is sent, `dr restore`.
 */
export async function verifySnapshotFile(input: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const {archive, manifestFile, manifest} = await resolveSnapshotPaths(input)
  const info = await statSnapshot(archive)

  const encrypted = info.size > 0 && (await isAgeFile(archive))
  const notes: string[] = []
  const problems: SnapshotProblem[] = []
  const outer = hashingStream()
  let inspection: ArchiveInspection | undefined
  const read = (): Readable => createReadStream(archive, {highWaterMark: 256 * 1024})
  /** The file through a hashing stream; .pipe() does not forward a read error, so this does. */
  const hashed = (target: Transform): Readable => {
    const file = read()
    file.on('error', (error) => target.destroy(error))
    return file.pipe(target)
  }
  const source = (): Readable => hashed(outer.stream)
  let fileDigest = outer.result

  if (!encrypted) {
    // The file is the archive: a worker hashes it while this thread inflates it and checks the members.
    const check = startFileCheck(archive, {size: info.size})
    const [digest, checked] = await Promise.all([hashFileOnWorker(archive), check.result]).catch(async (error: NodeJS.ErrnoException) => {
      await check.stop()
      throw unreadable(archive, error)
    })
    inspection = {...checked, ...digest}
    fileDigest = () => digest
  } else if (options.identities && options.identities.length > 0) {
    const file = source()
    try {
      inspection = await inspectArchive(await decryptStream(file, options.identities, archive))
    } catch (error) {
      file.destroy()
      if (!(error instanceof ToolkitError) || error.code !== 'DECRYPTION_FAILED') throw error
      problems.push({code: 'DECRYPTION_FAILED', message: error.message})
    }
  } else {
    if (!manifest) {
      throw new ToolkitError('CANNOT_VERIFY', `${displayText(archive)} is age-encrypted and has no manifest: nothing can be checked without the key`, {
        hint: 'Pass --identity KEYFILE to decrypt and check the archive inside.',
      })
    }
    await drain(source())
    notes.push('encrypted: only the file\'s SHA-256 and size were checked against the manifest; pass --identity to check the archive inside')
  }
  let {sha256, size} = fileDigest()
  if (size !== info.size) {
    // The check stopped at the first fault; the file's own digest still has to be exact.
    const whole = hashingStream()
    await drain(hashed(whole.stream))
    ;({sha256, size} = whole.result())
  }
  return concludeVerification({
    file: archive,
    manifestFile,
    manifest,
    encrypted,
    sha256,
    size,
    inspection,
    problems,
    notes,
    unpublishedNote: `no manifest (${basename(manifestFile)}): the archive was checked on its own`,
  })
}

/**
 * `dr restore`'s check before anything is sent, and its read-back of the
 * safety snapshot. A plain archive whose manifest records it needs only its
 * SHA-256: `dr snapshot` writes the manifest after the archive has passed the
 * full check (members, SHA256SUMS, meta.json) as it arrived, so a file of the
 * same SHA-256 and size is that archive byte for byte, and checking its
 * members again repeats a result the hash already binds (half the time of
 * the check: 0.5 s per 500 MB). The manifest supplies what the check would
 * read from meta.json. Anything else (no manifest, encrypted, a different
 * hash) gets the full check of `dr verify`, which also says what is wrong;
 * `dr verify` itself always checks the members.
 */
export async function verifyAgainstManifest(input: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const {archive, manifestFile, manifest} = await resolveSnapshotPaths(input)
  if (!manifest || manifest.encryption || manifest.archive.sha256 !== manifest.snapshot.sha256 || manifest.archive.size !== manifest.snapshot.size) {
    return verifySnapshotFile(input, options)
  }
  const info = await statSnapshot(archive)
  if (info.size !== manifest.archive.size) return verifySnapshotFile(input, options)
  const digest = await hashFile(archive).catch((error: NodeJS.ErrnoException) => {
    throw unreadable(archive, error)
  })
  if (digest.sha256 !== manifest.archive.sha256 || digest.size !== manifest.archive.size) return verifySnapshotFile(input, options)
  const {raft} = manifest
  return concludeVerification({
    file: archive,
    manifestFile,
    manifest,
    encrypted: false,
    ...digest,
    inspection: {
      ok: true,
      problems: [],
      ...digest,
      members: [],
      raft: {id: raft.id, index: raft.index, term: raft.term, version: raft.version, size: raft.stateSize},
      sealedSums: raft.sealedSums,
    },
    problems: [],
    notes: [`the file's SHA-256 and size are those of ${basename(manifestFile)}, written after the archive's members passed the full check when the snapshot was taken`],
    unpublishedNote: '',
  })
}

/**
 * The report once a snapshot's bytes were read, wherever it is stored: the
 * archive's own problems, then the comparison with the manifest when there
 * is one (`unpublishedNote` says what its absence means for that store).
 */
export function concludeVerification(facts: {
  file: string
  manifestFile: string
  manifest?: SnapshotManifest
  encrypted: boolean
  sha256: string
  size: number
  inspection?: ArchiveInspection
  problems: SnapshotProblem[]
  notes: string[]
  unpublishedNote: string
}): VerifyReport {
  const {file, manifestFile, manifest, encrypted, sha256, size, inspection, problems, notes} = facts
  if (inspection) problems.push(...inspection.problems)
  if (manifest) compareWithManifest({manifest, manifestFile, encrypted, sha256, size, inspection, problems})
  else notes.push(facts.unpublishedNote)
  return {
    file,
    manifestFile: manifest ? manifestFile : undefined,
    manifest,
    ok: problems.length === 0,
    encrypted,
    contentsChecked: inspection !== undefined,
    size,
    sha256,
    inspection,
    problems,
    notes,
  }
}

async function drain(stream: Readable): Promise<void> {
  await pipeline(stream, async (chunks: AsyncIterable<Buffer>) => {
    for await (const _ of chunks) void _
  })
}

/** Adds a problem for every way the file (and the archive inside, when checked) differs from its manifest. */
export function compareWithManifest(found: {
  manifest: SnapshotManifest
  manifestFile: string
  encrypted: boolean
  sha256: string
  size: number
  inspection?: ArchiveInspection
  problems: SnapshotProblem[]
}): void {
  const {manifest, inspection, problems} = found
  const where = basename(found.manifestFile)
  const mismatch = (message: string) => problems.push({code: 'MANIFEST_MISMATCH', message: `${message} (manifest ${where})`})
  if (Boolean(manifest.encryption) !== found.encrypted) {
    problems.push({code: 'NOT_ENCRYPTED_AS_RECORDED', message: `the file is ${found.encrypted ? '' : 'not '}age-encrypted but the manifest says it is${manifest.encryption ? '' : ' not'}`})
  }
  if (found.size !== manifest.archive.size) mismatch(`file size ${found.size} differs from the recorded ${manifest.archive.size}`)
  if (found.sha256 !== manifest.archive.sha256) mismatch(`file SHA-256 ${found.sha256} differs from the recorded ${manifest.archive.sha256}`)
  if (!inspection) return
  if (inspection.size !== manifest.snapshot.size || inspection.sha256 !== manifest.snapshot.sha256) {
    mismatch('the archive inside is not the one the manifest records (SHA-256 or size differs)')
  }
  if (inspection.raft) {
    const {raft} = manifest
    if (inspection.raft.index !== raft.index || inspection.raft.term !== raft.term || inspection.raft.id !== raft.id) {
      mismatch(`meta.json says index ${inspection.raft.index}, term ${inspection.raft.term}, id ${inspection.raft.id}; the manifest says index ${raft.index}, term ${raft.term}, id ${raft.id}`)
    }
  }
}
