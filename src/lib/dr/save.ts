import {createHash} from 'node:crypto'
import {createWriteStream} from 'node:fs'
import {mkdir, open, unlink, type FileHandle} from 'node:fs/promises'
import {basename, join, resolve} from 'node:path'
import {Transform, Writable, type Readable} from 'node:stream'
import {pipeline} from 'node:stream/promises'

import {ExitCode, ToolkitError} from '../errors/errors.js'
import {noteStreamedBytes} from '../memory/bounded-memory.js'
import {displayText, redactUrl} from '../report/display.js'
import {runStages, type Stage as Step, type WorkflowHooks} from '../workflow/runner.js'
import type {RegionVault} from '../vault/connect.js'
import type {VaultHealth} from '../vault/vault-sys.js'
import {encryptStream} from './age.js'
import {ArchiveChecker, type ArchiveInspection} from './archive.js'
import {readCatalog} from './catalog.js'
import {startFileCheck} from './file-check.js'
import {publish, removeQuietly, temporaryPathFor, writeFileAtomically} from './files.js'
import {evidenceForManifest, surveyMounts, type Survey} from './content-evidence.js'
import {keyCountsOf, type KeyCounts} from './key-counts.js'
import {ENCRYPTED_EXTENSION, MANIFEST_FORMAT, SNAPSHOT_EXTENSION, manifestPathFor, snapshotName, type SnapshotKind, type SnapshotManifest} from './manifest.js'
import {applyRetention, type RetentionRules} from './retention.js'
import {isRemoteLocation, openSnapshotStore, type SnapshotStore, type StoreSettings} from './snapshot-store.js'
import {FailedStreamCheck, manifestNameFor, pruneStore, uploadCheckedSnapshot} from './snapshot-store-ops.js'
import {hashingStream} from './verify.js'

export interface SnapshotOptions {
  vault: RegionVault
  outDir: string
  kind: SnapshotKind
  /** age recipients; empty: the archive is written as the server sent it. */
  encryptTo: string[]
  countKeys: boolean
  retention?: RetentionRules
  takenBefore?: {restoring: string}
  now?: () => Date
  /**
   * Registers the hidden temporary file for removal if the process is
   * interrupted (the command installs the signal handlers); returns the
   * release, called once the file has its name or is gone.
   */
  onTemporaryFile?: (path: string) => () => void
  /** Settings of an object store named by `outDir` (s3://…: path style, SSE, CA bundle). */
  storage?: StoreSettings
  /**
   * Registers the abort of an upload in progress (an object store) for an
   * interruption; returns the release, called once the upload is done or gone.
   */
  onPendingUpload?: (abort: () => Promise<void>) => () => void
}

export interface PrunedSnapshot {
  file: string
  createdAt: string
}

export interface SnapshotContext {
  options: SnapshotOptions
  /** The object store `outDir` names (s3://…); undefined for a directory. */
  store?: SnapshotStore
  health?: VaultHealth
  sealType?: string
  appliedIndex?: number
  /** The active node's Raft applied index, read (from that node itself) before the first key count. */
  leaderIndexBeforeCount?: number
  /** Key counts and content evidence (content-evidence.ts), walked before and after the download. */
  surveyBefore?: Survey
  surveyAfter?: Survey
  createdAt?: Date
  durationMs?: number
  temporary?: string
  /** Stops the exit handler that removes the temporary file. */
  releaseTemporary?: () => void
  archiveFile?: string
  manifestFile?: string
  archive?: {sha256: string; size: number}
  inspection?: ArchiveInspection
  manifest?: SnapshotManifest
  pruned?: PrunedSnapshot[]
}

const MB = 1024 * 1024
const BLOCK_SIZE = 256 * 1024
/** Blocks gathered while a write is in flight go down in one writev. */
const WRITE_BATCH = 1024 * 1024

/**
 * An address fit for titles, plans and manifests: never the user:password a
 * configured address might carry (redactUrl), and without the bare trailing
 * slash URL parsing adds, so it reads as configured.
 */
export function displayAddress(address: string): string {
  return redactUrl(address).replace(/^([a-z][a-z0-9+.-]*:\/\/[^/]*)\/$/i, '$1')
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < MB) return `${(bytes / 1024).toFixed(1)} KiB`
  if (bytes < 1024 * MB) return `${(bytes / MB).toFixed(1)} MiB`
  return `${(bytes / 1024 / MB).toFixed(2)} GiB`
}

/** Stage: the server can serve a consistent snapshot, and what it is (recorded in the manifest). */
export async function stageSource(ctx: SnapshotContext): Promise<void> {
  const {admin} = ctx.options.vault
  ctx.health = await admin.requireActive()
  ctx.sealType = await admin.sealType().catch(() => undefined)
  const leader = await admin.leader().catch(() => undefined)
  ctx.appliedIndex = leader?.raftAppliedIndex
  // Only the active node's own index can prove later that nothing was written (see stageCountAfter).
  ctx.leaderIndexBeforeCount = leader?.isSelf ? leader.raftAppliedIndex : undefined
  if (isRemoteLocation(ctx.options.outDir)) {
    // The bucket exists and the credentials may use it: learnt before the download, not after it.
    ctx.store = await openSnapshotStore(ctx.options.outDir, ctx.options.storage)
    await ctx.store.check()
    return
  }
  await mkdir(resolve(ctx.options.outDir), {recursive: true})
}

export async function stageCountBefore(ctx: SnapshotContext): Promise<void> {
  const {vault} = ctx.options
  ctx.surveyBefore = await surveyMounts(vault, vault.region.vault.mount, {evidence: true, concurrency: vault.region.vault.maxConcurrency})
}

/**
 * Stage: stream the snapshot to a hidden temporary file and check it as it
 * arrives (hashing the archive, inflating it, checking its members), encrypting
 * on the way when asked. Memory stays flat; any fault removes the temporary
 * file, so a bad snapshot never gets a name.
 */
export async function stageDownload(ctx: SnapshotContext, update: (text: string) => void = () => {}): Promise<void> {
  const {options} = ctx
  const now = options.now ?? (() => new Date())
  ctx.createdAt = now()
  const started = Date.now()
  const name = snapshotName(options.vault.region.name, ctx.createdAt, options.kind)
  const encrypted = options.encryptTo.length > 0
  const finalPath = join(resolve(options.outDir), `${name}${encrypted ? ENCRYPTED_EXTENSION : SNAPSHOT_EXTENSION}`)
  const temporary = temporaryPathFor(finalPath)
  ctx.temporary = temporary

  if (ctx.store) {
    await downloadToStore(ctx, `${name}${encrypted ? ENCRYPTED_EXTENSION : SNAPSHOT_EXTENSION}`, started, update)
    return
  }
  const response = await options.vault.admin.snapshotStream()
  const progress = new DownloadProgress(started, update)
  // Interrupted (Ctrl-C, a cron timeout) or exiting for any other reason: leave no half-written file behind.
  const stopWatching = options.onTemporaryFile?.(temporary) ?? (() => {})
  let transfer: Transfer
  try {
    transfer = encrypted ? await downloadEncrypted(response, temporary, options.encryptTo, progress) : await downloadPlain(response, temporary, progress)
  } catch (error) {
    response.destroy()
    await removeQuietly(temporary)
    stopWatching()
    if (error instanceof FailedCheck) throw invalidSnapshot(options.vault.region.name, error.inspection)
    if (error instanceof ToolkitError) throw error
    throw new ToolkitError('SNAPSHOT_INCOMPLETE', `region ${options.vault.region.name}: the snapshot download failed after ${progress.received} bytes (${(error as Error).message}); nothing was kept`, {
      hint: 'Check the server log and the free space in the output directory, then re-run.',
      exitCode: ExitCode.Error,
    })
  }
  // Watched until stagePublish gives the file its name.
  ctx.releaseTemporary = stopWatching
  ctx.inspection = transfer.inspection
  ctx.archive = transfer.file
  ctx.archiveFile = finalPath
  ctx.durationMs = Date.now() - started
  update(`${formatBytes(ctx.archive.size)} written and checked`)
}

/** What a download produced: the checked archive, and the file on disk (the same bytes unless encrypted). */
interface Transfer {
  inspection: ArchiveInspection
  file: {sha256: string; size: number}
}

/** The integrity check failed: the download stops and nothing is kept. */
class FailedCheck extends Error {
  constructor(readonly inspection: ArchiveInspection) {
    super('integrity check failed')
  }
}

class DownloadProgress {
  received = 0
  #lastReport = 0

  constructor(
    private readonly started: number,
    private readonly update: (text: string) => void,
  ) {}

  add(bytes: number): void {
    this.received += bytes
    const now = Date.now()
    if (now - this.#lastReport < 500) return
    this.#lastReport = now
    this.update(`${formatBytes(this.received)} received (${formatBytes((this.received / Math.max(1, now - this.started)) * 1000)}/s)`)
  }
}

/**
 * The archive as the server sends it: each block is hashed and written, and
 * the check reads the file behind the writer (from the page cache) to inflate
 * it and check its members. The download never waits for the check; a fault
 * the check finds midway stops the download at once.
 */
async function downloadPlain(response: Readable, temporary: string, progress: DownloadProgress): Promise<Transfer> {
  const handle = await open(temporary, 'wx', 0o600)
  const check = startFileCheck(temporary)
  const hash = createHash('sha256')
  let written = 0
  let failed: ArchiveInspection | undefined
  void check.result.then(
    (inspection) => {
      if (!inspection.ok && !response.destroyed) {
        failed = inspection
        response.destroy(new FailedCheck(inspection))
      }
    },
    () => undefined,
  )
  const file = new Writable({
    highWaterMark: WRITE_BATCH,
    writev(chunks, callback) {
      const buffers = chunks.map(({chunk}) => chunk as Buffer)
      for (const buffer of buffers) {
        hash.update(buffer)
        progress.add(buffer.length)
        noteStreamedBytes(buffer.length)
      }
      writeAll(handle, buffers, written).then((bytes) => {
        written += bytes
        check.written.commit(written)
        callback()
      }, callback)
    },
    final(callback) {
      handle.sync().then(() => callback(), callback)
    },
  })
  try {
    await pipeline(response, file)
    check.written.finish(written)
    const inspection = await check.result
    if (!inspection.ok) throw new FailedCheck(inspection)
    const digest = {sha256: hash.digest('hex'), size: written}
    return {inspection: {...inspection, ...digest}, file: digest}
  } catch (error) {
    await check.stop()
    throw failed ? new FailedCheck(failed) : error
  } finally {
    await handle.close()
  }
}

async function writeAll(handle: FileHandle, buffers: Buffer[], position: number): Promise<number> {
  let {bytesWritten} = await handle.writev(buffers, position)
  const total = buffers.reduce((sum, buffer) => sum + buffer.length, 0)
  if (bytesWritten < total) {
    // A short write (rare on local files): put the rest down in one piece.
    const rest = Buffer.concat(buffers).subarray(bytesWritten)
    for (let offset = 0; offset < rest.length; ) {
      const result = await handle.write(rest, offset, rest.length - offset, position + bytesWritten)
      offset += result.bytesWritten
      bytesWritten += result.bytesWritten
    }
  }
  return bytesWritten
}

/**
 * Encrypted, the plaintext archive never touches the disk: it is checked on
 * this thread as it passes on to the age encrypter.
 */
async function downloadEncrypted(response: Readable, temporary: string, recipients: string[], progress: DownloadProgress): Promise<Transfer> {
  const checker = new ArchiveChecker()
  let failed: ArchiveInspection | undefined
  // The server sends ~20 KiB chunks; gathered into 256 KiB blocks, the checker, the
  // inflater and the encrypter see a tenth of the calls (per-call overhead dominated the CPU).
  // Every block goes to the checker and on; the checker's backpressure holds the download.
  let pending: Buffer[] = []
  let pendingBytes = 0
  const forward = (stream: Transform, callback: (error?: Error | null) => void) => {
    const block = pending.length === 1 ? pending[0] : Buffer.concat(pending, pendingBytes)
    pending = []
    pendingBytes = 0
    stream.push(block)
    if (checker.input.write(block)) callback()
    else checker.input.once('drain', () => callback())
  }
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      progress.add(chunk.length)
      pending.push(chunk)
      pendingBytes += chunk.length
      if (pendingBytes < BLOCK_SIZE) callback()
      else forward(this, callback)
    },
    flush(callback) {
      const end = () => {
        checker.input.end()
        callback()
      }
      if (pendingBytes > 0) forward(this, end)
      else end()
    },
  })
  void checker.result.then((result) => {
    // A fault found mid-stream stops the download at once.
    if (!result.ok && !tap.destroyed) {
      failed = result
      tap.destroy(new FailedCheck(result))
    }
  })
  const outer = hashingStream()
  try {
    response.on('error', (error) => tap.destroy(error))
    await pipeline(await encryptStream(response.pipe(tap), recipients), outer.stream, createWriteStream(temporary, {flags: 'wx', mode: 0o600}))
    const handle = await open(temporary, 'r+')
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  } catch (error) {
    checker.input.destroy()
    if (failed) throw new FailedCheck(failed)
    throw error
  }
  const inspection = await checker.result
  if (!inspection.ok) throw new FailedCheck(inspection)
  return {inspection, file: outer.result()}
}

function invalidSnapshot(region: string, inspection: ArchiveInspection): ToolkitError {
  return new ToolkitError('SNAPSHOT_INVALID', `region ${region}: the server's snapshot failed the integrity check and was not kept: ${displayText(inspection.problems.map((p) => p.message).join('; '))}`, {
    hint: 'Check the server log (disk full, raft errors), then re-run; nothing was written.',
  })
}

/**
 * stageDownload into an object store: the server's stream goes through the
 * checker into a multipart upload that completes only once the archive has
 * passed; any fault aborts it and leaves nothing in the bucket. The object is
 * published by its manifest, written last (stagePublish).
 */
async function downloadToStore(ctx: SnapshotContext, fileName: string, started: number, update: (text: string) => void): Promise<void> {
  const {options} = ctx
  const store = ctx.store!
  if (await store.exists(fileName)) {
    throw new ToolkitError('SNAPSHOT_EXISTS', `${displayText(store.describe(fileName))} already exists`, {hint: 'An existing snapshot is never overwritten: wait a moment and re-run.'})
  }
  const response = await options.vault.admin.snapshotStream()
  const progress = new DownloadProgress(started, update)
  let transfer: Transfer
  try {
    transfer = await uploadCheckedSnapshot(response, store, fileName, {encryptTo: options.encryptTo, onBytes: (bytes) => progress.add(bytes), onPending: options.onPendingUpload})
  } catch (error) {
    response.destroy()
    if (error instanceof FailedStreamCheck) throw invalidSnapshot(options.vault.region.name, error.inspection)
    if (error instanceof ToolkitError) throw error
    throw new ToolkitError('SNAPSHOT_INCOMPLETE', `region ${options.vault.region.name}: the snapshot upload to ${displayText(store.describe(fileName))} failed after ${progress.received} bytes (${displayText((error as Error).message)}); the upload was aborted and nothing was kept`, {
      hint: 'Check the server log and the object store, then re-run.',
      exitCode: ExitCode.Error,
    })
  }
  ctx.inspection = transfer.inspection
  ctx.archive = transfer.file
  ctx.archiveFile = store.describe(fileName)
  ctx.durationMs = Date.now() - started
  update(`${formatBytes(ctx.archive.size)} uploaded and checked`)
}

/** stagePublish in an object store: the manifest, written last, publishes the uploaded archive; if it cannot be written, the archive goes too. */
async function publishInStore(ctx: SnapshotContext, manifest: SnapshotManifest): Promise<void> {
  const store = ctx.store!
  const fileName = basename(ctx.archiveFile!)
  const manifestName = manifestNameFor(fileName)
  try {
    await store.writeSmall(manifestName, `${JSON.stringify(manifest, null, 2)}\n`)
  } catch (error) {
    await store.remove(fileName).catch(() => undefined)
    throw error
  }
  ctx.manifestFile = store.describe(manifestName)
  ctx.manifest = manifest
}

/**
 * Stage: were keys written between the first count and the snapshot? When
 * the snapshot's Raft index is the index the active node had applied before
 * the first count began, nothing at all was written in between (every write
 * is a log entry, and the snapshot holds everything applied up to its
 * index): the first count is the snapshot's, and walking every key again
 * would only repeat it. Otherwise (writes, another leader, an index not
 * known) the keys are walked again and compared.
 */
export async function stageCountAfter(ctx: SnapshotContext, update: (text: string) => void = () => {}): Promise<void> {
  const {vault} = ctx.options
  if (ctx.surveyBefore && nothingWrittenSinceFirstCount(ctx.leaderIndexBeforeCount, ctx.inspection?.raft?.index)) {
    ctx.surveyAfter = ctx.surveyBefore
    update(`nothing written since the first count (the snapshot is at Raft index ${ctx.inspection!.raft!.index}, as the active node was then): not walked again`)
    return
  }
  try {
    ctx.surveyAfter = await surveyMounts(vault, vault.region.vault.mount, {evidence: true, concurrency: vault.region.vault.maxConcurrency})
  } catch (error) {
    ctx.surveyAfter = {mounts: {}, notes: [`counting again after the download failed (${(error as Error).message})`]}
  }
}

/** True when the snapshot's index is the active node's applied index from before the first count. */
export function nothingWrittenSinceFirstCount(leaderIndexBeforeCount: number | undefined, snapshotIndex: number | undefined): boolean {
  return leaderIndexBeforeCount !== undefined && snapshotIndex !== undefined && leaderIndexBeforeCount > 0 && snapshotIndex === leaderIndexBeforeCount
}

function keyCountsForManifest(before?: KeyCounts, after?: KeyCounts): SnapshotManifest['keyCounts'] {
  if (!before) return undefined
  const stable = after !== undefined && JSON.stringify(before.mounts) === JSON.stringify(after.mounts)
  const notes = [...before.notes]
  if (!stable) notes.push('keys were written or deleted while the snapshot was taken: the counts are approximate and restore compares them as a warning only')
  return {mounts: before.mounts, stable, notes}
}

/** Stage: give the checked archive its name (never replacing a file), then write its manifest beside it. */
export async function stagePublish(ctx: SnapshotContext): Promise<void> {
  const {options} = ctx
  const {vault} = options
  const inspection = ctx.inspection!
  const state = inspection.members.find((member) => member.name === 'state.bin')!
  const file = basename(ctx.archiveFile!)
  const manifest: SnapshotManifest = {
    format: MANIFEST_FORMAT,
    name: snapshotName(vault.region.name, ctx.createdAt!, options.kind),
    kind: options.kind,
    region: vault.region.name,
    createdAt: ctx.createdAt!.toISOString(),
    durationMs: ctx.durationMs!,
    archive: {file, ...ctx.archive!},
    snapshot: {sha256: inspection.sha256, size: inspection.size},
    encryption: options.encryptTo.length > 0 ? {format: 'age', recipients: [...options.encryptTo]} : undefined,
    raft: {id: inspection.raft!.id, index: inspection.raft!.index, term: inspection.raft!.term, version: inspection.raft!.version, stateSize: state.size, sealedSums: inspection.sealedSums},
    server: {
      // Without any user:password the configured address may carry: manifests are copied around.
      address: displayAddress(vault.region.vault.address),
      version: ctx.health!.version,
      clusterName: ctx.health!.clusterName,
      clusterId: ctx.health!.clusterId,
      sealType: ctx.sealType,
      appliedIndex: ctx.appliedIndex,
    },
    keyCounts: keyCountsForManifest(ctx.surveyBefore && keyCountsOf(ctx.surveyBefore), ctx.surveyAfter && keyCountsOf(ctx.surveyAfter)),
    contentEvidence: ctx.surveyBefore && evidenceForManifest(ctx.surveyBefore, ctx.surveyAfter),
    takenBefore: options.takenBefore,
  }
  if (ctx.store) {
    await publishInStore(ctx, manifest)
    return
  }
  await publish(ctx.temporary!, ctx.archiveFile!)
  ctx.releaseTemporary?.()
  ctx.manifestFile = manifestPathFor(ctx.archiveFile!)
  await writeFileAtomically(ctx.manifestFile, `${JSON.stringify(manifest, null, 2)}\n`)
  ctx.manifest = manifest
}

/** Stage: apply --keep/--keep-within to this region's regular snapshots (never to safety snapshots, never to the new one). */
export async function stagePrune(ctx: SnapshotContext): Promise<void> {
  const {options} = ctx
  if (ctx.store) {
    ctx.pruned = await pruneStore(ctx.store, options.vault.region.name, options.retention ?? {}, basename(ctx.archiveFile!))
    return
  }
  const catalog = await readCatalog(options.outDir, {verify: false})
  const candidates = catalog.entries
    .filter((entry) => entry.manifest && entry.manifest.region === options.vault.region.name && entry.manifest.kind === 'snapshot')
    .map((entry) => ({name: entry.name, createdAt: entry.createdAt!, file: entry.file}))
  const {remove} = applyRetention(candidates, options.retention ?? {})
  ctx.pruned = []
  for (const entry of remove) {
    if (entry.file === ctx.archiveFile) continue
    await unlink(entry.file)
    await unlink(manifestPathFor(entry.file)).catch(() => undefined)
    ctx.pruned.push({file: entry.file, createdAt: entry.createdAt.toISOString()})
  }
}

/** The snapshot as named stages, for `dr snapshot` and for the safety snapshot of `dr restore`. */
export function snapshotSteps<C extends {snapshot: SnapshotContext}>(label: string): Step<C>[] {
  const steps: Step<C>[] = [
    {title: `${label}: check the source server`, run: (c) => stageSource(c.snapshot)},
    {title: `${label}: count keys and record their version metadata per mount`, run: (c) => stageCountBefore(c.snapshot), skip: (c) => !c.snapshot.options.countKeys && 'key counts not requested'},
    {title: `${label}: download, hash and check the archive`, run: (c, update) => stageDownload(c.snapshot, update)},
    {title: `${label}: count keys and read their version metadata again (were there writes meanwhile?)`, run: (c, update) => stageCountAfter(c.snapshot, update), skip: (c) => !c.snapshot.options.countKeys && 'key counts not requested'},
    {title: `${label}: name the archive and write its manifest`, run: (c) => stagePublish(c.snapshot)},
  ]
  return steps
}

/**
 * `dr snapshot`'s stages as the backup another command takes before its
 * destructive step (`verify regions --repair --backup-dir`): the same
 * checks, the same archive and manifest. The steps carry their own context;
 * `record` is it, filled in as they run.
 */
export function backupStages(
  vault: RegionVault,
  outDir: string,
  label: string,
  onTemporaryFile?: SnapshotOptions['onTemporaryFile'],
): {record: SnapshotContext; steps: Step<unknown>[]} {
  const holder = {snapshot: {options: {vault, outDir, kind: 'snapshot', encryptTo: [], countKeys: false, onTemporaryFile}} satisfies SnapshotContext}
  const steps = snapshotSteps<typeof holder>(label).map((step) => ({
    title: step.title,
    run: (_context: unknown, update: (output: string) => void) => step.run(holder, update),
    skip: step.skip ? () => step.skip!(holder) : undefined,
  }))
  return {record: holder.snapshot, steps}
}

function pruneStep<C extends {snapshot: SnapshotContext}>(): Step<C> {
  return {
    title: 'prune older snapshots of this region',
    run: (c) => stagePrune(c.snapshot),
    skip: (c) => (c.snapshot.options.retention?.keepLast === undefined && c.snapshot.options.retention?.keepWithinMs === undefined ? 'no --keep/--keep-within' : false),
  }
}

/**
 * `dr snapshot`: the snapshot's stages, then pruning, run by the one
 * workflow runner. The command hands in the renderer; the returned context
 * holds the archive, its manifest and what was pruned.
 */
export async function runSnapshot(options: SnapshotOptions, hooks: WorkflowHooks = {}): Promise<SnapshotContext> {
  const context = {snapshot: {options} as SnapshotContext}
  await runStages([...snapshotSteps<typeof context>('snapshot'), pruneStep<typeof context>()], context, hooks)
  return context.snapshot
}
