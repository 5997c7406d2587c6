import {createHash} from 'node:crypto'
import {createReadStream} from 'node:fs'
import {basename, dirname} from 'node:path'
import {Transform, type Readable} from 'node:stream'
import {setTimeout as sleep} from 'node:timers/promises'

import {ExitCode, isToolkitError, ToolkitError} from '../errors/errors.js'
import {noteStreamedBytes} from '../memory/bounded-memory.js'
import {displayText} from '../report/display.js'
import {throttled} from '../report/throttle.js'
import {pollUntil} from '../workflow/poll.js'
import {confirmGate, runStages, type Stage as Step, type WorkflowHooks} from '../workflow/runner.js'
import type {SecretValue} from '../secret/secret-value.js'
import type {RegionVault} from '../vault/connect.js'
import {isStoreError} from '../vault/secret-store.js'
import type {VaultHealth} from '../vault/vault-sys.js'
import {decryptStream} from './age.js'
import {compareWithRegion, type RegionCheck} from './compare-region.js'
import {compareEvidence, evidenceConfirms, surveyMounts, type Survey} from './content-evidence.js'
import {compareKeyCounts, keyCountsOf} from './key-counts.js'
import type {SnapshotManifest} from './manifest.js'
import {displayAddress, formatBytes, snapshotSteps, type SnapshotContext} from './save.js'
import {resolveSnapshotPaths, verifyAgainstManifest, type VerifyReport} from './verify.js'
import {isRemoteLocation, openSnapshotStore, splitLocation, type StoreSettings} from './snapshot-store.js'
import {fetchSnapshot, manifestNameFor, readStoredManifest, verifyStoredSnapshot, type FetchedSnapshot} from './snapshot-store-ops.js'

export const RESTORE_ENDPOINT = 'sys/storage/raft/snapshot'
export const FORCE_RESTORE_ENDPOINT = 'sys/storage/raft/snapshot-force'
const RESTORE_LOCK_GRACE_MS = 250

export interface RestoreOptions {
  file: string
  /** Region name, for messages before the connection exists. */
  region: string
  /**
   * Opens the connections (login included). Called only after the snapshot
   * has passed its check: a bad file never causes a single request.
   */
  connect: () => Promise<{target: RegionVault; compareWith?: RegionVault}>
  identities?: SecretValue[]
  force: boolean
  safetySnapshot: boolean
  safetyDir?: string
  /** Where a snapshot in an object store is downloaded (and checked) before the restore; default: the system's temporary directory. */
  workDir?: string
  /** Settings of the object stores the snapshot or --safety-dir name (s3://…). */
  storage?: StoreSettings
  /** Registers the abort of the safety snapshot's upload to an object store for an interruption (see SnapshotOptions). */
  onPendingUpload?: (abort: () => Promise<void>) => () => void
  safetyEncryptTo: string[]
  /** Registers the safety snapshot's temporary file for removal on interruption (see SnapshotOptions). */
  onTemporaryFile?: (path: string) => () => void
  /** --compare-region was given (the connection comes with `connect`). */
  compare: boolean
  waitTimeoutMs: number
  /** How long a sealed server is watched before it is reported as needing its unseal keys. */
  sealedGraceMs: number
  pollIntervalMs: number
  now?: () => Date
}

export type ClusterMatch = 'same' | 'different' | 'unknown'

export interface RestorePlan {
  snapshot: {
    file: string
    region?: string
    createdAt?: string
    raftIndex: number
    raftTerm: number
    clusterName?: string
    clusterId?: string
    sealType?: string
    encrypted: boolean
    size: number
  }
  target: {
    region: string
    address: string
    version: string
    clusterName?: string
    clusterId?: string
    sealType?: string
    appliedIndex?: number
  }
  endpoint: string
  clusterMatch: ClusterMatch
  safetySnapshotDir?: string
  warnings: string[]
}

export type ServerState = 'healthy' | 'sealed' | 'uninitialized' | 'standby' | 'unreachable'

export interface PostRestoreCheck {
  name: string
  status: 'passed' | 'failed' | 'warning' | 'not-run'
  detail: string
}

export interface RestoreContext {
  options: RestoreOptions
  target?: RegionVault
  /** Another region to compare with, key by key, once the restore is done (--compare-region). */
  compareWith?: RegionVault
  verify?: VerifyReport
  manifest?: SnapshotManifest
  targetHealth?: VaultHealth
  plan?: RestorePlan
  snapshot?: SnapshotContext
  safetyVerify?: VerifyReport
  upload?: {endpoint: string; bytes: number; durationMs: number}
  after?: {state: ServerState; waitedMs: number; health?: VaultHealth}
  checks: PostRestoreCheck[]
  comparison?: RegionCheck
  /** A snapshot from an object store, downloaded into the work directory (removed when the restore ends). */
  fetched?: FetchedSnapshot
}

export function newRestoreContext(options: RestoreOptions): RestoreContext {
  return {options, checks: []}
}

export interface RestoreRun {
  mode: 'check-only' | 'dry-run' | 'restore'
  /** The region compared with afterwards (--compare-region), for the stage titles. */
  compareRegion?: string
  /** The target's configured address: shown through displayAddress (it may carry user:password). */
  targetAddress: string
}

export interface RestoreHooks extends WorkflowHooks {
  /** The plan is ready (verified, connected, pre-flighted): shown before the confirmation. */
  planned?: (plan: RestorePlan) => void
}

/**
 * `dr restore` as named stages: verify the snapshot → connect → pre-flight
 * → plan (--dry-run stops here) → confirmation (type the region name) →
 * safety snapshot → upload → wait until healthy → post-restore checks.
 * --check-only reads the manifest, connects, waits and checks, changing
 * nothing. The caller reads the outcome from the context.
 */
export async function runRestore(ctx: RestoreContext & {snapshot: SnapshotContext}, run: RestoreRun, hooks: RestoreHooks): Promise<void> {
  try {
    await runRestoreStages(ctx, run, hooks)
  } finally {
    // The local copy of a snapshot from an object store never outlives the restore.
    await ctx.fetched?.cleanup()
  }
}

async function runRestoreStages(ctx: RestoreContext & {snapshot: SnapshotContext}, run: RestoreRun, hooks: RestoreHooks): Promise<void> {
  type C = RestoreContext & {snapshot: SnapshotContext}
  const region = ctx.options.region
  const connect: Step<C> = {title: `connect to region ${region}${run.compareRegion ? ` and ${run.compareRegion}` : ''}`, run: (c) => stageConnect(c)}
  const after: Step<C>[] = [
    {title: `wait until region ${region} has applied the snapshot and is healthy`, run: (c, update) => stageWaitHealthy(c, update)},
    {title: 'post-restore checks', run: (c) => stagePostChecks(c)},
  ]
  if (run.mode === 'check-only') {
    await runStages<C>([{title: 'read the snapshot manifest', run: (c) => loadManifestOnly(c)}, connect, ...after], ctx, hooks)
    return
  }
  await runStages<C>(
    [
      ...(isRemoteLocation(ctx.options.file) ? [{title: `download ${displayText(ctx.options.file)} into the work directory, checked against its manifest`, run: (c: C) => stageFetch(c)}] : []),
      {title: `verify ${displayText(ctx.options.file)}`, run: (c) => stageVerifySnapshot(c)},
      connect,
      {title: `pre-flight region ${region} (${displayAddress(run.targetAddress)})`, run: (c) => stagePreflightTarget(c)},
    ],
    ctx,
    hooks,
  )
  hooks.planned?.(ctx.plan!)
  if (run.mode === 'dry-run') return
  await confirmGate(hooks, {
    message: `Replace ALL data of region ${region} (${ctx.plan!.target.address}) with this snapshot?`,
    typeToConfirm: region,
    nonInteractiveHint: 'Review the plan with --dry-run, then re-run with --yes.',
  })
  if (ctx.options.safetySnapshot) ctx.snapshot = newSafetySnapshotContext(ctx)
  await runStages<C>(
    [...(ctx.options.safetySnapshot ? safetySnapshotSteps<C>() : []), {title: `upload to POST /v1/${ctx.plan!.endpoint}`, run: (c, update) => stageUpload(c, update)}, ...after],
    ctx,
    hooks,
  )
}

/** Stage 1: the snapshot passes the same integrity check as `dr verify`, before any request is sent. */
export async function stageVerifySnapshot(ctx: RestoreContext): Promise<void> {
  const {options} = ctx
  const report = await verifyAgainstManifest(ctx.fetched?.archive ?? options.file, {identities: options.identities})
  ctx.verify = report
  ctx.manifest = report.manifest
  if (report.encrypted && !report.contentsChecked) {
    throw new ToolkitError('IDENTITY_REQUIRED', `${displayText(report.file)} is age-encrypted: restore needs --identity to decrypt and check it`, {
      hint: 'Pass --identity KEYFILE (the age key of one of the recipients in the manifest).',
    })
  }
  if (!report.ok) {
    throw new ToolkitError('SNAPSHOT_INVALID', `refusing to restore ${displayText(report.file)}: it fails the integrity check: ${displayText(report.problems.map((p) => p.message).join('; '))}`, {
      hint: 'Nothing was sent to the server. Pick another snapshot (`secrets dr list DIR` shows which verify).',
    })
  }
}

/** Stage 2: connect and log in, only now that the snapshot is known to be good. */
export async function stageConnect(ctx: RestoreContext): Promise<void> {
  const {target, compareWith} = await ctx.options.connect()
  ctx.target = target
  ctx.compareWith = compareWith
}

/** Stage 3: the target is reachable, initialized, unsealed and active, and the token may do what follows. */
export async function stagePreflightTarget(ctx: RestoreContext): Promise<void> {
  const target = ctx.target!
  ctx.targetHealth = await target.admin.requireActive()
  const sealType = await target.admin.sealType().catch(() => undefined)
  const leader = await target.admin.leader().catch(() => undefined)
  await requireCapabilities(ctx)
  ctx.plan = buildPlan(ctx, sealType, leader?.raftAppliedIndex)
  if (ctx.plan.clusterMatch === 'different' && !ctx.options.force) {
    throw new ToolkitError(
      'CLUSTER_MISMATCH',
      `refusing to restore: the snapshot comes from cluster ${describeCluster(ctx.plan.snapshot.clusterName, ctx.plan.snapshot.clusterId)} (region ${displayText(ctx.plan.snapshot.region ?? 'unknown')}) but region ${ctx.plan.target.region} is cluster ${describeCluster(ctx.plan.target.clusterName, ctx.plan.target.clusterId)}`,
      {
        hint: 'Check --region and the file. To replace this cluster\'s data with another cluster\'s on purpose, add --force: afterwards the snapshot\'s unseal keys and root token apply, not this cluster\'s.',
      },
    )
  }
}

function describeCluster(name?: string, id?: string): string {
  // Names come from the manifest file and the server: escaped, as they end up in errors and warnings.
  return displayText(`${name ?? '(no name)'} [${id ?? 'unknown id'}]`)
}

/** The token must be able to take the safety snapshot and restore: learn it now, not halfway. */
async function requireCapabilities(ctx: RestoreContext): Promise<void> {
  const {options} = ctx
  const target = ctx.target!
  const endpoint = options.force ? FORCE_RESTORE_ENDPOINT : RESTORE_ENDPOINT
  const paths = [endpoint, ...(options.safetySnapshot ? [RESTORE_ENDPOINT] : [])]
  let capabilities: Record<string, string[]>
  try {
    capabilities = await target.admin.capabilitiesSelf(paths)
  } catch (error) {
    // Older servers or tight policies may refuse this lookup; the requests themselves will then say so.
    if (isStoreError(error, 'Denied')) return
    throw error
  }
  const has = (path: string, needed: string) => capabilities[path]?.some((c) => c === 'root' || c === needed) ?? false
  const missing: string[] = []
  if (!has(endpoint, 'update')) missing.push(`update on ${endpoint}`)
  if (options.safetySnapshot && !has(RESTORE_ENDPOINT, 'read')) missing.push(`read on ${RESTORE_ENDPOINT} (safety snapshot)`)
  if (missing.length > 0) {
    throw new ToolkitError('PERMISSION_DENIED', `region ${target.region.name}: the token lacks ${missing.join(' and ')}`, {
      hint: 'Use a token whose policy grants these (an operator or root token), then re-run. Nothing was changed.',
    })
  }
}

function buildPlan(ctx: RestoreContext, sealType: string | undefined, appliedIndex: number | undefined): RestorePlan {
  const {options, manifest} = ctx
  const verify = ctx.verify!
  const raft = verify.inspection!.raft!
  const health = ctx.targetHealth!
  const snapshotCluster = manifest?.server.clusterId
  const clusterMatch: ClusterMatch = !snapshotCluster || !health.clusterId ? 'unknown' : snapshotCluster === health.clusterId ? 'same' : 'different'
  const warnings: string[] = []
  if (clusterMatch === 'different') {
    warnings.push(
      `--force: the snapshot is from another cluster (${describeCluster(manifest?.server.clusterName, snapshotCluster)}). After the restore, the snapshot's unseal keys and root token apply; this cluster's keys and tokens stop working, and the server may come back sealed.`,
    )
  } else if (clusterMatch === 'unknown') {
    warnings.push(
      manifest
        ? 'the cluster this snapshot came from is not recorded: the server\'s own check will refuse a snapshot of another cluster unless --force is given'
        : 'no manifest: the snapshot\'s region, cluster and key counts are unknown; without key counts the restore ends with exit 1 (not confirmed) unless --compare-region confirms the data',
    )
  }
  if (manifest && manifest.region !== options.region) {
    warnings.push(`the snapshot was taken from region ${displayText(manifest.region)}, not ${options.region}`)
  }
  if (manifest?.server.sealType && sealType && manifest.server.sealType !== sealType) {
    warnings.push(`seal types differ: snapshot ${displayText(manifest.server.sealType)}, target ${displayText(sealType)}`)
  }
  if (manifest?.keyCounts && !manifest.keyCounts.stable) warnings.push('the manifest\'s key counts are approximate (writes happened during the snapshot): a count difference will be a warning only')
  if (clusterMatch === 'same' && appliedIndex !== undefined && raft.index > appliedIndex) {
    warnings.push(`the snapshot's Raft index ${raft.index} is ahead of the cluster's applied index ${appliedIndex}: was the cluster rebuilt since?`)
  }
  return {
    snapshot: {
      file: ctx.fetched ? options.file : verify.file,
      region: manifest?.region,
      createdAt: manifest?.createdAt,
      raftIndex: raft.index,
      raftTerm: raft.term,
      clusterName: manifest?.server.clusterName,
      clusterId: snapshotCluster,
      sealType: manifest?.server.sealType,
      encrypted: verify.encrypted,
      size: verify.size,
    },
    target: {
      region: options.region,
      // As configured, without any user:password in it: the plan is printed and in --json.
      address: displayAddress(ctx.target!.region.vault.address),
      version: health.version,
      clusterName: health.clusterName,
      clusterId: health.clusterId,
      sealType,
      appliedIndex,
    },
    endpoint: options.force ? FORCE_RESTORE_ENDPOINT : RESTORE_ENDPOINT,
    clusterMatch,
    // Beside the snapshot: in its bucket for one fetched from an object store, never in the temporary copy's directory.
    safetySnapshotDir: options.safetySnapshot ? (options.safetyDir ?? (ctx.fetched ? splitLocation(options.file).parent : dirname(verify.file))) : undefined,
    warnings,
  }
}

/** Stage 3 (unless --no-safety-snapshot): the target's current state, taken and checked like `dr snapshot`, then read back from disk. */
export function safetySnapshotSteps<C extends RestoreContext & {snapshot: SnapshotContext}>(): Step<C>[] {
  return [
    ...snapshotSteps<C>('safety snapshot'),
    {
      title: 'safety snapshot: read it back from disk and verify it',
      run: async (c) => {
        c.safetyVerify = c.snapshot.store ? await verifyStoredSnapshot(c.snapshot.store, basename(c.snapshot.archiveFile!)) : await verifyAgainstManifest(c.snapshot.archiveFile!)
        if (!c.safetyVerify.ok) {
          throw new ToolkitError('SAFETY_SNAPSHOT_INVALID', `the safety snapshot ${displayText(c.snapshot.archiveFile!)} does not verify: ${displayText(c.safetyVerify.problems.map((p) => p.message).join('; '))}`, {
            hint: 'Nothing was restored. Check the disk holding the safety snapshot directory, then re-run.',
          })
        }
      },
    },
  ]
}

export function newSafetySnapshotContext(ctx: RestoreContext): SnapshotContext {
  const {options} = ctx
  return {
    options: {
      vault: ctx.target!,
      outDir: ctx.plan!.safetySnapshotDir!,
      kind: 'safety',
      encryptTo: options.safetyEncryptTo,
      countKeys: true,
      takenBefore: {restoring: basename(ctx.verify!.file)},
      now: options.now,
      onTemporaryFile: options.onTemporaryFile,
      storage: options.storage,
      onPendingUpload: options.onPendingUpload,
    },
  }
}

/**
 * Passes bytes through while hashing them and holds back the last chunk
 * until the digest is known: if the file changed between the check and the
 * upload, the server gets a truncated body (which it rejects) instead of a
 * snapshot nobody checked.
 */
export function verifiedPassThrough(expectedSha256: string, what: string, onBytes: (chunk: Buffer) => void = () => {}): Transform {
  const hash = createHash('sha256')
  let held: Buffer | undefined
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk)
      onBytes(chunk)
      noteStreamedBytes(chunk.length)
      const previous = held
      held = chunk
      callback(null, previous)
    },
    flush(callback) {
      const digest = hash.digest('hex')
      if (digest !== expectedSha256) {
        callback(
          new ToolkitError('SNAPSHOT_CHANGED', `${displayText(what)} changed after it was checked (SHA-256 ${digest}, checked ${expectedSha256}); the upload was cut short so the server rejects it`, {
            hint: 'Something is writing to the snapshot file: make sure it is not being replaced, then re-run.',
          }),
        )
        return
      }
      callback(null, held)
    },
  })
}

/** Stage 4: stream the checked archive to the server (decrypting on the way), with progress. */
export async function stageUpload(ctx: RestoreContext, update: (text: string) => void = () => {}): Promise<void> {
  const {options} = ctx
  const verify = ctx.verify!
  const inspection = verify.inspection!
  const file = createReadStream(verify.file, {highWaterMark: 256 * 1024})
  const plain: Readable = verify.encrypted ? await decryptStream(file, options.identities ?? [], verify.file) : file
  const started = Date.now()
  let sent = 0
  const report = throttled((bytes: number) => update(`${formatBytes(bytes)} of ${formatBytes(inspection.size)} sent (${Math.floor((bytes / Math.max(1, inspection.size)) * 100)}%)`), 500)
  const body = plain.pipe(
    verifiedPassThrough(inspection.sha256, verify.file, (chunk) => {
      sent += chunk.length
      report(sent)
    }),
  )
  plain.on('error', (error) => body.destroy(error))
  const endpoint = ctx.plan!.endpoint
  try {
    await ctx.target!.admin.restoreStream(body, {force: options.force, contentLength: inspection.size})
  } catch (error) {
    const safety = ctx.snapshot?.archiveFile ? ` The safety snapshot is ${displayText(ctx.snapshot.archiveFile)}.` : ''
    const reason = isToolkitError(error) ? error.message : (error as Error).message
    throw new ToolkitError('RESTORE_FAILED', `region ${options.region}: the restore upload to ${endpoint} failed after ${formatBytes(sent)}: ${reason}`, {
      // The server may have received all of it and applied it, or not: only the post-restore checks can tell.
      hint: `The server may or may not have applied the snapshot: check \`vault status\` and the server log, then run \`${checkOnlyCommand(ctx)}\` (exit 0: it was applied).${safety}`,
      exitCode: ExitCode.Error,
      cause: error,
    })
  }
  ctx.upload = {endpoint, bytes: sent, durationMs: Date.now() - started}
  update(`${formatBytes(sent)} sent in ${((Date.now() - started) / 1000).toFixed(1)} s`)
}

/**
 * The server answers the upload as soon as it has buffered the snapshot and
 * restores it afterwards, in the background, holding its state lock (Vault's
 * handleStorageRaftSnapshotWrite). sys/health does not take that lock and
 * reports "active" throughout, even when the restore ends by sealing the
 * node. A request that goes through the request handler does wait for the
 * lock: its answer, whatever it is (200, 403 with a token the snapshot does
 * not know, 503 sealed), means the restore has finished.
 */
async function waitForRestoreToSettle(ctx: RestoreContext, deadline: number, update: (text: string) => void): Promise<void> {
  const {admin} = ctx.target!
  if (Date.now() >= deadline) return
  const answered = () => {
    update('waiting for the server to finish applying the snapshot')
    return admin.handlerAnswers(Math.max(1000, deadline - Date.now()))
  }
  await pollUntil(answered, (yes) => yes, {timeoutMs: deadline - Date.now(), intervalMs: ctx.options.pollIntervalMs})
}

/** The server's state as sys/health shows it; not answering is a state too. */
async function probeState(ctx: RestoreContext): Promise<{state: ServerState; health?: VaultHealth}> {
  try {
    const health = await ctx.target!.admin.health()
    return {state: !health.initialized ? 'uninitialized' : health.sealed ? 'sealed' : health.standby ? 'standby' : 'healthy', health}
  } catch {
    return {state: 'unreachable'}
  }
}

/** Stage 5: wait until the server has applied the snapshot and serves again, or say why it does not. */
export async function stageWaitHealthy(ctx: RestoreContext, update: (text: string) => void = () => {}): Promise<void> {
  const {options} = ctx
  const started = Date.now()
  const deadline = started + options.waitTimeoutMs
  // The server starts its restore before it answers the upload; give it a moment to take the lock.
  await sleep(RESTORE_LOCK_GRACE_MS)
  await waitForRestoreToSettle(ctx, deadline, update)
  let confirmed = false
  let sealedSince: number | undefined
  const probe = async () => {
    const probed = await probeState(ctx)
    if (probed.state !== 'healthy' || confirmed) return probed
    // Had the first probe slipped in before the server took its lock, the next one waits behind it.
    confirmed = true
    await waitForRestoreToSettle(ctx, deadline, update)
    return probeState(ctx)
  }
  const settled = ({state}: {state: ServerState}) => {
    if (state === 'healthy') return true
    if (state !== 'sealed') {
      sealedSince = undefined
      return false
    }
    sealedSince ??= Date.now()
    // A Shamir-sealed server never unseals itself: report it instead of waiting out the timeout.
    return Date.now() - sealedSince >= options.sealedGraceMs
  }
  const {value: last} = await pollUntil(probe, settled, {
    timeoutMs: options.waitTimeoutMs,
    startedAt: started,
    intervalMs: options.pollIntervalMs,
    onProgress: ({state}, {finished}) => {
      if (!finished) update(`server is ${state}; waiting (${Math.round((Date.now() - started) / 1000)} s)`)
    },
  })
  ctx.after = {...last, waitedMs: Date.now() - started}
  update(`server is ${last.state}`)
}

function checkOnlyCommand(ctx: RestoreContext): string {
  // A fetched snapshot is named by its location in the store: the local copy is gone by then.
  return `secrets dr restore ${displayText(ctx.fetched ? ctx.options.file : (ctx.verify?.file ?? ctx.options.file))} --region ${ctx.options.region} --check-only`
}

export const CHECK_HEALTHY = 'server healthy'
export const CHECK_CLUSTER = 'cluster identity'
export const CHECK_RAFT_INDEX = 'raft index past the snapshot\'s'
export const CHECK_KEY_COUNTS = 'key counts per mount'
export const CHECK_CONTENT = 'key versions are the snapshot\'s'
const COMPARISON_PREFIX = 'key-by-key comparison with '

const MAX_NAMES = 5
function someNames(names: string[]): string {
  const shown = names.slice(0, MAX_NAMES).map((name) => displayText(name))
  return `${shown.join(', ')}${names.length > MAX_NAMES ? ` (+${names.length - MAX_NAMES} more)` : ''}`
}

/**
 * Stage 6: the data is what the snapshot holds. A server that answered the
 * upload and then lost it (crash, OOM, restart, auto-unseal) comes back
 * healthy, with its cluster id and usually its key counts: none of that
 * proves anything. So:
 * - Raft: installing a snapshot sets the applied index past both the
 *   server's last index and the snapshot's meta.json index (hashicorp/raft
 *   restoreUserSnapshot), so an applied index at or below either means the
 *   snapshot was not installed. Necessary, not sufficient: a restarted
 *   server's index grows too;
 * - content, the proof: every key's current version (number, created and
 *   deletion time, destroyed, updated time) is the one the manifest recorded
 *   at snapshot time (content-evidence.ts); the count of every mount as well.
 * With --compare-region the other region must agree key by key.
 */
export async function stagePostChecks(ctx: RestoreContext): Promise<void> {
  const {options, manifest} = ctx
  const after = ctx.after!
  const checks: PostRestoreCheck[] = []
  ctx.checks = checks
  if (after.state !== 'healthy') {
    const detail =
      after.state === 'sealed'
        ? `the server is sealed: unseal it with the unseal keys of the cluster the snapshot came from (\`vault operator unseal\`), then run \`${checkOnlyCommand(ctx)}\` with a token of that cluster`
        : after.state === 'unreachable'
          ? `the server did not answer within ${Math.round(options.waitTimeoutMs / 1000)} s: check that it runs, then run \`${checkOnlyCommand(ctx)}\``
          : `the server is ${after.state} after ${Math.round(after.waitedMs / 1000)} s: check \`vault status\`, then run \`${checkOnlyCommand(ctx)}\``
    checks.push({name: CHECK_HEALTHY, status: 'failed', detail})
    checks.push({name: CHECK_CONTENT, status: 'not-run', detail: 'the server does not serve data yet'})
    return
  }
  checks.push({name: CHECK_HEALTHY, status: 'passed', detail: `initialized, unsealed and active after ${(after.waitedMs / 1000).toFixed(1)} s`})
  if (manifest?.server.clusterId && after.health?.clusterId) {
    const same = manifest.server.clusterId === after.health.clusterId
    checks.push({
      name: CHECK_CLUSTER,
      status: same ? 'passed' : 'warning',
      detail: same ? `cluster id is the snapshot's (${displayText(after.health.clusterId)})` : `cluster id ${displayText(after.health.clusterId)} is not the snapshot's ${displayText(manifest.server.clusterId)} yet`,
    })
  }
  checks.push(await raftIndexCheck(ctx))
  checks.push(...(await dataChecks(ctx)))
  if (ctx.compareWith) {
    ctx.comparison = await compareWithRegion(ctx.target!, ctx.compareWith)
    checks.push({name: `${COMPARISON_PREFIX}${ctx.compareWith.region.name}`, status: ctx.comparison.inSync ? 'passed' : 'failed', detail: displayText(ctx.comparison.summary)})
  }
}

async function raftIndexCheck(ctx: RestoreContext): Promise<PostRestoreCheck> {
  const snapshotIndex = ctx.verify?.inspection?.raft?.index ?? ctx.manifest?.raft.index
  const before = ctx.plan?.target.appliedIndex
  const leader = await ctx.target!.admin.leader().catch(() => undefined)
  const applied = leader?.raftAppliedIndex
  if (snapshotIndex === undefined || typeof applied !== 'number') {
    return {name: CHECK_RAFT_INDEX, status: 'not-run', detail: applied === undefined ? 'the server does not report its Raft applied index (sys/leader)' : 'the snapshot\'s Raft index is unknown'}
  }
  const floor = Math.max(snapshotIndex, before ?? 0)
  const floorText = `the snapshot's index ${snapshotIndex}${before === undefined ? '' : ` and the index ${before} before the upload`}`
  if (applied > floor) return {name: CHECK_RAFT_INDEX, status: 'passed', detail: `applied index ${applied} is past ${floorText}, as after an installed snapshot`}
  return {
    name: CHECK_RAFT_INDEX,
    status: 'failed',
    detail: `applied index ${applied} is not past ${floorText}: the server did not install the snapshot (it answered the upload, then lost it?)`,
  }
}

function tokenInvalidDetail(ctx: RestoreContext): string {
  return `the token is not valid in the restored data (tokens are part of the snapshot): run \`${checkOnlyCommand(ctx)}\` with a token of the snapshot's cluster`
}

/** Key counts and content evidence against the manifest, from one walk of the restored mounts. */
async function dataChecks(ctx: RestoreContext): Promise<PostRestoreCheck[]> {
  const {manifest} = ctx
  const counts = manifest?.keyCounts && Object.keys(manifest.keyCounts.mounts).length > 0 ? manifest.keyCounts : undefined
  const evidence = manifest?.contentEvidence
  const noEvidence: PostRestoreCheck = {
    name: CHECK_CONTENT,
    status: 'not-run',
    detail: `${manifest ? 'the manifest records no key versions (a snapshot taken with --no-key-counts, or by an older version)' : 'no manifest to compare with'}: the data cannot be confirmed to be the snapshot's; confirm it with \`${checkOnlyCommand(ctx)} --compare-region OTHER\``,
  }
  if (!counts && !evidence) {
    return [{name: CHECK_KEY_COUNTS, status: 'not-run', detail: manifest ? 'the manifest has no key counts' : 'no manifest to compare with'}, noEvidence]
  }
  const failedAll = (detail: string): PostRestoreCheck[] => [
    ...(counts ? [{name: CHECK_KEY_COUNTS, status: 'failed' as const, detail}] : []),
    evidence ? {name: CHECK_CONTENT, status: 'failed' as const, detail} : noEvidence,
  ]
  if (!(await tokenStillValid(ctx))) return failedAll(tokenInvalidDetail(ctx))
  const target = ctx.target!
  const mounts = [...new Set([...Object.keys(counts?.mounts ?? {}), ...Object.keys(evidence?.mounts ?? {})])].sort()
  let survey: Survey
  try {
    survey = await surveyMounts(target, target.region.vault.mount, {evidence: evidence !== undefined, concurrency: target.region.vault.maxConcurrency, mounts})
  } catch (error) {
    const denied = isStoreError(error, 'Denied')
    return failedAll(denied ? tokenInvalidDetail(ctx) : `could not read the restored keys: ${displayText((error as Error).message)}`)
  }
  const checks: PostRestoreCheck[] = []
  if (counts) {
    const found = keyCountsOf(survey)
    const differing = compareKeyCounts(counts.mounts, found.mounts)
    const total = Object.values(counts.mounts).reduce((sum, n) => sum + n, 0)
    if (differing.length === 0) {
      checks.push({name: CHECK_KEY_COUNTS, status: 'passed', detail: `${total} keys in ${Object.keys(counts.mounts).length} mount(s), as recorded`})
    } else {
      const list = differing.map((d) => `${d.mount}: ${d.actual ?? 'not countable'} (snapshot: ${d.expected})`).join(', ')
      const notes = found.notes.length > 0 ? `; ${found.notes.join('; ')}` : ''
      checks.push({name: CHECK_KEY_COUNTS, status: counts.stable ? 'failed' : 'warning', detail: displayText(`differ: ${list}${notes}`)})
    }
  }
  if (!evidence) {
    checks.push(noEvidence)
    return checks
  }
  const comparison = compareEvidence(evidence, survey)
  if (evidenceConfirms(comparison)) {
    checks.push({name: CHECK_CONTENT, status: 'passed', detail: `all ${comparison.recorded} keys in ${comparison.mounts} mount(s) are at the snapshot's version (number, created and deletion time, as recorded)`})
    return checks
  }
  const parts = [
    ...(comparison.changed.length > 0 ? [`${comparison.changed.length} changed since the snapshot (${someNames(comparison.changed)})`] : []),
    ...(comparison.missing > 0 ? [`${comparison.missing} of the snapshot's keys missing`] : []),
    ...(comparison.extra.length > 0 ? [`${comparison.extra.length} not in the snapshot (${someNames(comparison.extra)})`] : []),
    ...(comparison.unreadable.length > 0 ? [`mount(s) ${someNames(comparison.unreadable)} could not be read (${displayText(survey.notes.join('; '))})`] : []),
  ]
  checks.push({
    name: CHECK_CONTENT,
    status: 'failed',
    detail: `the server does not hold the snapshot's data: ${parts.join('; ')}${evidence.stable ? '' : ' (the evidence was recorded while keys were being written)'}`,
  })
  return checks
}

async function tokenStillValid(ctx: RestoreContext): Promise<boolean> {
  try {
    await ctx.target!.admin.lookupSelf()
    return true
  } catch (error) {
    if (isStoreError(error, 'Denied')) return false
    throw error
  }
}

/**
 * Exit 0 only when the server is healthy, no check failed, and the data was
 * confirmed to be the snapshot's: by the key versions recorded in the
 * manifest, or key by key against another region. Equal key counts alone
 * confirm nothing.
 */
export function restoreSucceeded(ctx: RestoreContext): boolean {
  const confirmed = ctx.checks.some((check) => check.status === 'passed' && (check.name === CHECK_CONTENT || check.name.startsWith(COMPARISON_PREFIX)))
  return ctx.after?.state === 'healthy' && confirmed && !ctx.checks.some((check) => check.status === 'failed')
}

/** For --check-only: the manifest of a snapshot already restored, without re-reading the archive. */
export async function loadManifestOnly(ctx: RestoreContext): Promise<void> {
  const {manifest} = isRemoteLocation(ctx.options.file) ? await storedManifest(ctx.options) : await resolveSnapshotPaths(ctx.options.file)
  if (!manifest && !ctx.options.compare) {
    throw new ToolkitError('MANIFEST_REQUIRED', `--check-only needs the manifest of ${displayText(ctx.options.file)} (its key counts)`, {hint: 'Without a manifest, compare with the other region instead: --compare-region NAME.'})
  }
  ctx.manifest = manifest
}

/** The manifest of a snapshot in an object store (the archive's or the manifest's own name). */
async function storedManifest(options: RestoreOptions): Promise<{manifest?: SnapshotManifest}> {
  const {parent, name} = splitLocation(options.file)
  const store = await openSnapshotStore(parent, options.storage)
  try {
    return {manifest: await readStoredManifest(store, name.endsWith('.json') ? name : manifestNameFor(name))}
  } finally {
    store.close()
  }
}

/**
 * Stage 0 for a snapshot in an object store: download it and its manifest
 * into --work-dir, checking size and SHA-256 as it streams; the verify stage
 * then runs on the local copy. Nothing is sent to any server before both pass.
 */
export async function stageFetch(ctx: RestoreContext): Promise<void> {
  const {options} = ctx
  const {parent, name} = splitLocation(options.file)
  const store = await openSnapshotStore(parent, options.storage)
  try {
    ctx.fetched = await fetchSnapshot(store, name, options.workDir, options.onTemporaryFile)
  } finally {
    store.close()
  }
}
