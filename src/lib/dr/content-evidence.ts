import {createHash} from 'node:crypto'

import pLimit from 'p-limit'

import {isStoreError, type SecretMetadata, type SecretStore} from '../vault/secret-store.js'
import type {VaultAdmin} from '../vault/vault-sys.js'

/**
 * Evidence that a restored server holds a snapshot's data, not merely the
 * same number of keys.
 *
 * `dr snapshot` records, for every key of every KV v2 mount, a digest of the
 * key's *current version identity*: its version number, that version's
 * created_time, deletion_time and destroyed flag, and the key's
 * updated_time. These come from the key's metadata (`<mount>/metadata/<key>`)
 * and hold no value and nothing computed from a value, so the manifest cannot
 * help anyone recover a secret, however short. Every write, delete, destroy or
 * undelete after the snapshot changes them (a new version has a new number and
 * a new nanosecond created_time), and a restore brings them back exactly (they
 * are stored in the snapshot with the data). Key names are recorded as digests
 * too, so the manifest of an encrypted snapshot does not list them.
 *
 * What it cannot see: a change that leaves no trace in the metadata (there is
 * none through the KV v2 API), and writes to mounts that are not KV v2.
 *
 * The walk runs twice around the download, as the key counts do; a key whose
 * digest changed in between (written during the snapshot) is recorded with
 * both digests, either of which counts as the snapshot's.
 */

export const EVIDENCE_METHOD = 'kv2-current-version-metadata-sha256/v1'
/** Marks "the key may be absent" among a key's accepted digests. */
export const ABSENT = 'absent'

const DIGEST_LENGTH = 32

/** One key as found now: its name (for reports) and its version digest. */
export interface SurveyedKey {
  key: string
  digest: string
}

export interface MountSurvey {
  count: number
  /** Key id → key, when evidence was gathered for this mount. */
  versions?: Map<string, SurveyedKey>
}

export interface Survey {
  mounts: Record<string, MountSurvey>
  /** What could not be counted or read, and why: never silently partial. */
  notes: string[]
}

/** As recorded in the manifest: key id → its digest, or the digests accepted for it. */
export type RecordedVersions = Record<string, string | string[]>

export interface ContentEvidence {
  method: typeof EVIDENCE_METHOD
  /** False when the second walk failed: keys written during the snapshot may then be recorded with a digest the snapshot does not hold. */
  stable: boolean
  mounts: Record<string, RecordedVersions>
  notes: string[]
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, DIGEST_LENGTH)

export function keyId(mount: string, key: string): string {
  return sha256(`${mount}\u0000${key}`)
}

interface RawMetadata {
  current_version?: number
  updated_time?: string
  versions?: Record<string, {created_time?: string; deletion_time?: string; destroyed?: boolean}>
}

export function versionDigest(mount: string, key: string, raw: RawMetadata): string {
  const current = raw.current_version ?? 0
  const version = raw.versions?.[String(current)] ?? {}
  return sha256(JSON.stringify([EVIDENCE_METHOD, mount, key, current, version.created_time ?? null, version.deletion_time ?? '', version.destroyed ?? false, raw.updated_time ?? null]))
}

/** The digest of a key's metadata as a store reports it: the same as versionDigest of Vault's raw answer. */
export function metadataDigest(mount: string, key: string, metadata: SecretMetadata): string {
  const version = metadata.versions?.[metadata.currentVersion]
  return versionDigest(mount, key, {
    current_version: metadata.currentVersion,
    updated_time: metadata.updatedTime,
    versions: version ? {[String(metadata.currentVersion)]: {created_time: version.createdTime, deletion_time: version.deletionTime, destroyed: version.destroyed}} : {},
  })
}

/** What a survey reads: the store of each mount, and (Vault) which KV v2 mounts there are. */
export interface SurveySource {
  admin?: Pick<VaultAdmin, 'kvV2Mounts'>
  storeFor(mount: string): SecretStore
}

export interface SurveyOptions {
  /** Read every key's metadata for the content evidence (else: count only). */
  evidence: boolean
  /** Metadata reads in flight. */
  concurrency: number
  /** Survey these mounts (restore: the manifest's) instead of every KV v2 mount the token sees. */
  mounts?: string[]
}

/**
 * Counts the keys of each KV v2 mount and, with `evidence`, reads each key's
 * metadata for its version digest. A mount the token may not list, or whose
 * metadata it may not read, is named in `notes` (counted without evidence,
 * or not at all) rather than failing: the snapshot is the point.
 */
export async function surveyMounts(source: SurveySource, configuredMount: string, options: SurveyOptions): Promise<Survey> {
  const notes: string[] = []
  let mounts = options.mounts
  if (mounts === undefined) {
    mounts = source.admin ? await source.admin.kvV2Mounts() : [configuredMount]
    if (mounts === undefined) {
      notes.push(`the token may not read sys/mounts: surveyed the configured mount ${configuredMount} only`)
      mounts = [configuredMount]
    }
  }
  const limit = pLimit(Math.max(1, options.concurrency))
  const result: Record<string, MountSurvey> = {}
  for (const mount of mounts) {
    const keys: string[] = []
    // Shares the region's connection: closing it is the caller's business.
    const store = source.storeFor(mount)
    try {
      for await (const key of store.list('')) keys.push(key)
    } catch (error) {
      if (isStoreError(error, 'Denied')) {
        notes.push(`mount ${mount}: the token may not list it`)
        continue
      }
      throw error
    }
    const survey: MountSurvey = {count: keys.length}
    result[mount] = survey
    if (!options.evidence) continue
    try {
      const versions = new Map<string, SurveyedKey>()
      await Promise.all(
        keys.map((key) =>
          limit(async () => {
            const metadata = await store.readMetadata(key)
            // Deleted (all versions) between the listing and this read: it is simply not there.
            if (!metadata) return
            versions.set(keyId(mount, key), {key, digest: metadataDigest(mount, key, metadata)})
          }),
        ),
      )
      survey.versions = versions
    } catch (error) {
      limit.clearQueue()
      if (isStoreError(error, 'Denied')) notes.push(`mount ${mount}: the token may not read key metadata: no content evidence for it`)
      else throw error
    }
  }
  return {mounts: result, notes}
}

/**
 * The manifest's evidence from the walks before and after the download: a
 * key whose digest differs between them, or that exists in only one, is
 * recorded with every state it was seen in. Undefined when no mount yielded
 * evidence.
 */
export function evidenceForManifest(before: Survey, after: Survey | undefined): ContentEvidence | undefined {
  const mounts: Record<string, RecordedVersions> = {}
  const notes = before.notes.filter((note) => note.includes('metadata'))
  let stable = after !== undefined
  for (const [mount, survey] of Object.entries(before.mounts)) {
    if (!survey.versions) continue
    const later = after?.mounts[mount]?.versions
    if (!later) {
      stable = false
      notes.push(`mount ${mount}: the second walk found no evidence: keys written during the snapshot may be recorded in a state the snapshot does not hold`)
    }
    const recorded: RecordedVersions = {}
    for (const [id, {digest}] of survey.versions) {
      const second = later ? (later.get(id)?.digest ?? ABSENT) : digest
      recorded[id] = second === digest ? digest : [digest, second]
    }
    for (const [id, {digest}] of later ?? []) if (!survey.versions.has(id)) recorded[id] = [ABSENT, digest]
    mounts[mount] = recorded
  }
  if (Object.keys(mounts).length === 0) return undefined
  return {method: EVIDENCE_METHOD, stable, mounts, notes}
}

export interface EvidenceComparison {
  mounts: number
  /** Keys the snapshot recorded (those recorded as possibly absent included). */
  recorded: number
  matched: number
  /** Keys present now whose current version is not the snapshot's. */
  changed: string[]
  /** Keys the snapshot holds that are not there now (their names are not recorded, only counted). */
  missing: number
  /** Keys present now that the snapshot does not hold. */
  extra: string[]
  /** Mounts recorded in the evidence that could not be read now. */
  unreadable: string[]
}

export function compareEvidence(recorded: ContentEvidence, current: Survey): EvidenceComparison {
  const result: EvidenceComparison = {mounts: 0, recorded: 0, matched: 0, changed: [], missing: 0, extra: [], unreadable: []}
  for (const [mount, versions] of Object.entries(recorded.mounts)) {
    result.mounts++
    const now = current.mounts[mount]?.versions
    if (!now) {
      result.unreadable.push(mount)
      continue
    }
    for (const [id, accepted] of Object.entries(versions)) {
      result.recorded++
      const alternatives = Array.isArray(accepted) ? accepted : [accepted]
      const found = now.get(id)
      if (found ? alternatives.includes(found.digest) : alternatives.includes(ABSENT)) result.matched++
      else if (found) result.changed.push(`${mount}/${found.key}`)
      else result.missing++
    }
    for (const [id, {key}] of now) if (!(id in versions)) result.extra.push(`${mount}/${key}`)
  }
  return result
}

export function evidenceConfirms(comparison: EvidenceComparison): boolean {
  return comparison.changed.length === 0 && comparison.missing === 0 && comparison.extra.length === 0 && comparison.unreadable.length === 0
}
