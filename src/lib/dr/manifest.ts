import {basename, dirname, join} from 'node:path'

import {z} from 'zod'

import {formatIssues} from '../config/load.js'
import {ToolkitError} from '../errors/errors.js'
import {displayText} from '../report/display.js'
import {ABSENT, EVIDENCE_METHOD} from './content-evidence.js'
import {openRegularFile} from './files.js'

/**
 * Snapshot files are named `<UTC time>-<region>[.safety].snap[.age]`, with
 * the manifest beside them as `<name>.json`. The time comes first so that a
 * plain `ls` lists snapshots oldest first; region names cannot hold a dot,
 * so the name parses back unambiguously.
 */

export const MANIFEST_FORMAT = 'secrets-toolkit/dr-snapshot/v1'
export const SNAPSHOT_EXTENSION = '.snap'
export const ENCRYPTED_EXTENSION = '.snap.age'

export type SnapshotKind = 'snapshot' | 'safety'

/** 2025-01-31T12:00:00.123Z → 20250131T120000.123Z */
export function timestampForName(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '')
}

export function timestampFromName(stamp: string): Date | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})\.(\d{3})Z$/.exec(stamp)
  if (!match) return undefined
  const [, y, mo, d, h, mi, s, ms] = match
  const date = new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}.${ms}Z`)
  return Number.isNaN(date.getTime()) ? undefined : date
}

export function snapshotName(region: string, createdAt: Date, kind: SnapshotKind): string {
  return `${timestampForName(createdAt)}-${region}${kind === 'safety' ? '.safety' : ''}`
}

export interface ParsedName {
  name: string
  createdAt: Date
  region: string
  kind: SnapshotKind
  encrypted: boolean
}

/** Parses a snapshot archive file name; undefined for anything else (manifests, temp files, strangers). */
export function parseSnapshotFileName(file: string): ParsedName | undefined {
  const base = basename(file)
  const match = /^(\d{8}T\d{6}\.\d{3}Z)-([a-z0-9]([a-z0-9-]*[a-z0-9])?)(\.safety)?\.snap(\.age)?$/.exec(base)
  if (!match) return undefined
  const createdAt = timestampFromName(match[1])
  if (!createdAt) return undefined
  const encrypted = match[5] !== undefined
  return {
    name: base.slice(0, base.length - (encrypted ? ENCRYPTED_EXTENSION : SNAPSHOT_EXTENSION).length),
    createdAt,
    region: match[2],
    kind: match[4] ? 'safety' : 'snapshot',
    encrypted,
  }
}

/** The name a snapshot file's manifest is found under: strip .snap/.snap.age (or any last extension). */
export function manifestPathFor(archivePath: string): string {
  const base = basename(archivePath)
  const stem = base.endsWith(ENCRYPTED_EXTENSION)
    ? base.slice(0, -ENCRYPTED_EXTENSION.length)
    : base.endsWith(SNAPSHOT_EXTENSION)
      ? base.slice(0, -SNAPSHOT_EXTENSION.length)
      : base.replace(/\.[^.]*$/, '')
  return join(dirname(archivePath), `${stem}.json`)
}

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be a lowercase hex SHA-256')
const count = z.number().int().nonnegative()
const digest = z.string().regex(/^[0-9a-f]{32}$/, 'must be a 32-digit lowercase hex digest')

export const manifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  name: z.string().min(1),
  kind: z.enum(['snapshot', 'safety']),
  region: z.string().min(1),
  createdAt: z.iso.datetime(),
  durationMs: count,
  /** The file on disk (encrypted when encryption is set). */
  archive: z.object({file: z.string().min(1), sha256, size: count}),
  /** The gzip'd tar as the server sent it (equal to archive when not encrypted). */
  snapshot: z.object({sha256, size: count}),
  encryption: z.object({format: z.literal('age'), recipients: z.array(z.string()).min(1)}).optional(),
  raft: z.object({id: z.string(), index: count, term: count, version: count.optional(), stateSize: count, sealedSums: z.boolean()}),
  server: z.object({
    address: z.string(),
    version: z.string(),
    clusterName: z.string().optional(),
    clusterId: z.string().optional(),
    sealType: z.string().optional(),
    /** Raft applied index at snapshot time, for "how far back does this go". */
    appliedIndex: count.optional(),
  }),
  /**
   * Keys per KV v2 mount, counted before and after the download. `stable`
   * is false when writes happened meanwhile: the counts are then only approximate.
   */
  keyCounts: z
    .object({
      mounts: z.record(z.string(), count),
      stable: z.boolean(),
      notes: z.array(z.string()),
    })
    .optional(),
  /**
   * Per KV v2 mount, key id → digest of the key's current version metadata
   * (content-evidence.ts: no value, nothing derived from one). Restore
   * compares it to prove the server holds the snapshot's data. Absent in
   * manifests of older versions and with --no-key-counts.
   */
  contentEvidence: z
    .object({
      method: z.literal(EVIDENCE_METHOD),
      stable: z.boolean(),
      mounts: z.record(z.string(), z.record(z.string(), z.union([digest, z.array(z.union([digest, z.literal(ABSENT)])).min(1)]))),
      notes: z.array(z.string()),
    })
    .optional(),
  /** For a safety snapshot: which restore it preceded. */
  takenBefore: z.object({restoring: z.string()}).optional(),
})

export type SnapshotManifest = z.infer<typeof manifestSchema>

/** A manifest as reports show it: the per-key evidence (one line per key) summed up as keys per mount. */
export type ManifestSummary = Omit<SnapshotManifest, 'contentEvidence'> & {
  contentEvidence?: {method: string; stable: boolean; keys: Record<string, number>; notes: string[]}
}

/**
 * For --json reports of snapshot, verify and list: the manifest file keeps
 * every key's digest (restore needs them), the report only says how many,
 * so listing a directory of large snapshots stays small.
 */
export function summarizeManifest(manifest: SnapshotManifest): ManifestSummary
export function summarizeManifest(manifest: SnapshotManifest | undefined): ManifestSummary | undefined
export function summarizeManifest(manifest: SnapshotManifest | undefined): ManifestSummary | undefined {
  if (!manifest) return undefined
  const {contentEvidence, ...rest} = manifest
  if (!contentEvidence) return rest
  const {method, stable, mounts, notes} = contentEvidence
  return {...rest, contentEvidence: {method, stable, keys: Object.fromEntries(Object.entries(mounts).map(([mount, keys]) => [mount, Object.keys(keys).length])), notes}}
}

/** Reads and validates a manifest; undefined when there is none, an error when it is not one. */
export async function readManifest(path: string): Promise<SnapshotManifest | undefined> {
  let text: string
  try {
    // A FIFO or device named *.json must not block the read forever: regular files only.
    const handle = await openRegularFile(path, 'a snapshot manifest')
    try {
      text = await handle.readFile('utf8')
    } finally {
      await handle.close()
    }
  } catch (error) {
    if (error instanceof ToolkitError) throw error
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new ToolkitError('MANIFEST_UNREADABLE', `cannot read manifest ${displayText(path)} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`, {hint: 'Check its permissions.'})
  }
  return parseManifest(text, path)
}

/** Validates a manifest's text (from a file or an object store); `path` names it in errors. */
export function parseManifest(text: string, path: string): SnapshotManifest {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new ToolkitError('MANIFEST_INVALID', `manifest ${displayText(path)} is not valid JSON`, {hint: 'It was damaged: restore it from a copy, or move it away to check the archive alone.'})
  }
  const result = manifestSchema.safeParse(parsed)
  if (!result.success) {
    throw new ToolkitError('MANIFEST_INVALID', `manifest ${displayText(path)} is not a snapshot manifest: ${displayText(formatIssues(result.error.issues).join('; '))}`, {
      hint: 'It was damaged or written by another tool: move it away to check the archive alone.',
    })
  }
  return result.data
}
