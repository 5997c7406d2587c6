import {readFile} from 'node:fs/promises'

import {AhoCorasick} from './aho-corasick.js'
import {MAX_IN_MEMORY_OBJECT, readWantedObjects, type GitObjectType, type ObjectSink} from '../git-client/cat-file.js'
import {displayPath, startHistoryIndex, type BlobReferences, type PathKey} from './history-index.js'
import {lfsObjectPath, lfsObjectPresent, lfsObjectsDirectory, MAX_POINTER_SIZE, parseLfsPointer, readLfsObject, type LfsPointer} from './lfs.js'
import {assertConnected, assertWholeHistory, missingObjects} from './repository-checks.js'
import type {PatternSet, ValueForm} from './value-patterns.js'

/** The SOPS knowledge scan needs; the real one is src/lib/sops/detect.ts (wired in by the command). */
export interface SopsDetector {
  detect(content: Buffer): {format: string} | undefined
  isConfigPath(path: string): boolean
}

export interface SopsBlobFinding {
  blob: string
  format: string
  paths: string[]
  commits: string[]
  /** The blob is a Git LFS pointer; this LFS object (SHA-256) holds the SOPS file. */
  lfsObject?: string
}

export interface SopsConfigFinding {
  blob: string
  paths: string[]
  commits: string[]
}

export interface ValueMatch {
  source: string
  secret: string
  key: string
  forms: ValueForm[]
}

export interface ValueFinding {
  object: string
  objectType: 'blob' | 'commit' | 'tag'
  /** For a tag object: its name. */
  tag?: string
  /** The blob is a Git LFS pointer; the value is in this LFS object. */
  lfsObject?: string
  matches: ValueMatch[]
  paths: string[]
  commits: string[]
}

/** A blob that could not be checked, and why; a finding, since nobody can say it is clean. */
export interface UncheckedBlobFinding {
  blob: string
  reason: 'too-large-with-sops-markers' | 'unparsable-with-sops-markers' | 'lfs-object-missing'
  /** Bytes (of the LFS object, for a pointer). */
  size: number
  lfsObject?: string
  paths: string[]
  commits: string[]
}

/** The scan result as reported (--json): names and object ids only, never a value. */
export interface ScanReport {
  repository: string
  clean: boolean
  objects: {scanned: number; bytes: number; commits: number; lfsObjects: number}
  sopsBlobs: SopsBlobFinding[]
  sopsConfigs: SopsConfigFinding[]
  valueFindings: ValueFinding[]
  /** Blobs nobody can vouch for: too large to parse yet carrying SOPS markers, or LFS objects that are not here. */
  uncheckedBlobs: UncheckedBlobFinding[]
  /** Values that were not searched for and why (names only). */
  skippedValues: {source: string; secret: string; key: string; reason: string}[]
  warnings: string[]
  durationMs: number
}

/** What scrub needs beyond the report: exact path bytes and blob ids. */
export interface ScanResult {
  report: ScanReport
  /** Every path that ever held a SOPS blob or a `.sops.yaml` (shown in the plan; the rewrite removes by blob id). */
  pathsToRemove: Set<PathKey>
  /** SOPS and `.sops.yaml` blob ids (LFS pointers of SOPS files included). */
  blobsToStrip: Set<string>
  /** Where this repository's LFS objects live. */
  lfsObjectsDirectory?: string
}

export interface ScanOptions {
  detector: SopsDetector
  patterns?: PatternSet
  onProgress?: (message: string) => void
  /** The caller already checked that this is a Git repository, neither shallow nor partial (assertWholeHistory). */
  repositoryChecked?: boolean
  /** The caller already checked that no object is missing (assertCompleteRepository); otherwise it runs beside the read. */
  connectivityChecked?: boolean
  /** Objects larger than this are streamed, never held whole (tests lower it). */
  maxInMemory?: number
}

// Every SOPS format carries this marker (the `sops` key, `sops_*` dotenv/ini
// keys); checking it natively first keeps the detector off most blobs.
const SOPS_MARKER = Buffer.from('sops')
// What detectSops looks for first: `sops` plus an encrypted value or the
// lastmodified stamp. A blob too large to parse is reported when it has them.
const LARGE_BLOB_MARKERS = new AhoCorasick([SOPS_MARKER, Buffer.from('ENC[AES256_GCM,'), Buffer.from('lastmodified')])

/** SOPS detection parses at most this much of a blob; a larger one with SOPS markers is a finding ("cannot be checked"). */
export const MAX_DETECT_BYTES = 4 * 1024 * 1024

function hasSopsMarkers(content: Buffer): boolean {
  const found = LARGE_BLOB_MARKERS.matchedPatterns(content)
  return found.has(0) && (found.has(1) || found.has(2))
}

function tagName(content: Buffer): string | undefined {
  const match = /^tag (.+)$/m.exec(content.subarray(0, Math.min(content.length, 4096)).toString('utf8'))
  return match?.[1]
}

function sorted(values: Iterable<string>): string[] {
  return [...values].sort()
}

function refsOf(refs: BlobReferences | undefined): {paths: string[]; commits: string[]} {
  return {paths: sorted([...(refs?.paths ?? [])].map(displayPath)), commits: sorted(refs?.commits ?? [])}
}

type Hit = {type: 'blob' | 'commit' | 'tag'; tag?: string; lfsObject?: string; patterns: Set<number>}

/**
 * Looks at one object's bytes, whole or streamed: SOPS detection (whole
 * objects only; a streamed blob with SOPS markers is reported as unchecked),
 * and known values with the Aho–Corasick matcher.
 */
class Inspector {
  readonly sops = new Map<string, {format: string; lfsObject?: string}>()
  readonly hits = new Map<string, Hit>()
  readonly unchecked = new Map<string, {reason: UncheckedBlobFinding['reason']; size: number; lfsObject?: string}>()
  readonly pointers = new Map<string, LfsPointer>()

  constructor(
    private readonly detector: SopsDetector,
    private readonly matcher: AhoCorasick | undefined,
  ) {}

  whole(oid: string, type: GitObjectType, content: Buffer, lfsObject?: string): void {
    if (type === 'blob') {
      if (lfsObject === undefined && content.length <= MAX_POINTER_SIZE) {
        const pointer = parseLfsPointer(content)
        if (pointer) {
          this.pointers.set(oid, pointer)
          return
        }
      }
      if (content.indexOf(SOPS_MARKER) !== -1) {
        const lfs = lfsObject ? {lfsObject} : {}
        if (content.length > MAX_DETECT_BYTES) {
          // Parsing this much would cost memory out of proportion; a SOPS file is far smaller.
          if (hasSopsMarkers(content)) this.unchecked.set(oid, {reason: 'too-large-with-sops-markers', size: content.length, ...lfs})
        } else {
          let detected: {format: string} | undefined
          try {
            detected = this.detector.detect(content)
          } catch {
            // A hostile blob (say, nesting deep enough to exhaust the parser) must not end the scan, nor pass as clean.
            if (hasSopsMarkers(content)) this.unchecked.set(oid, {reason: 'unparsable-with-sops-markers', size: content.length, ...lfs})
          }
          if (detected) {
            this.sops.set(oid, {format: detected.format, ...lfs})
            return
          }
        }
      }
    }
    if (!this.matcher) return
    const found = this.matcher.matchedPatterns(content)
    if (found.size > 0) this.hits.set(oid, {type: type as Hit['type'], tag: type === 'tag' ? tagName(content) : undefined, ...(lfsObject ? {lfsObject} : {}), patterns: found})
  }

  streamed(oid: string, type: GitObjectType, size: number, lfsObject?: string): ObjectSink {
    const values = this.matcher?.stream()
    const markers = type === 'blob' ? LARGE_BLOB_MARKERS.stream() : undefined
    let head: Buffer | undefined
    return {
      write: (chunk) => {
        if (type === 'tag' && head === undefined) head = Buffer.from(chunk.subarray(0, 4096))
        values?.write(chunk)
        markers?.write(chunk)
      },
      end: () => {
        if (markers && markers.found.has(0) && (markers.found.has(1) || markers.found.has(2))) {
          this.unchecked.set(oid, {reason: 'too-large-with-sops-markers', size, ...(lfsObject ? {lfsObject} : {})})
        }
        if (values && values.found.size > 0) {
          this.hits.set(oid, {type: type as Hit['type'], tag: head ? tagName(head) : undefined, ...(lfsObject ? {lfsObject} : {}), patterns: values.found})
        }
      },
    }
  }
}

/**
 * The integrity check shared by `git scan` and `git scrub` (before: the plan;
 * after: the proof). Reads every object once; values are matched in memory
 * and only pattern names leave this function. Refuses (exit 2) a repository
 * whose objects are not all present: shallow, partial, or damaged (the
 * connectivity check runs beside the read).
 */
export async function scanRepository(repo: string, options: ScanOptions): Promise<ScanResult> {
  const started = Date.now()
  if (!options.repositoryChecked) await assertWholeHistory(repo, 'the scan')
  // The object walk of the connectivity check runs beside the read (its own git process, another core).
  const connectivity = options.connectivityChecked ? undefined : missingObjects(repo)
  const {detector, patterns} = options
  const matcher = patterns?.matcher
  const maxInMemory = options.maxInMemory ?? MAX_IN_MEMORY_OBJECT
  const inspector = new Inspector(detector, matcher)
  // The pass that maps findings to paths and commits starts now, beside the
  // read (another git process, the other core), instead of after it.
  const early = startHistoryIndex(repo, {selectPath: (path) => detector.isConfigPath(displayPath(path))})
  const reading = readWantedObjects(
    repo,
    {
      wants: (type: GitObjectType) => type === 'blob' || (matcher !== undefined && (type === 'commit' || type === 'tag')),
      visit: (oid, type, content) => inspector.whole(oid, type, content),
      visitLarge: (oid, type, size) => inspector.streamed(oid, type, size),
    },
    {maxInMemory},
  )
  const [read, connected] = await Promise.allSettled([reading, connectivity])
  // Declared here, filled in the try: a failure before the history pass is awaited stops it.
  let stats!: Awaited<typeof reading>
  const warnings: string[] = []
  let lfsDirectory: string | undefined
  let lfsObjects = 0
  try {
    // Missing objects explain a failed read better than cat-file's own message does.
    if (connected.status === 'fulfilled' && connected.value) assertConnected(repo, 'the scan', connected.value)
    if (read.status === 'rejected') throw read.reason
    if (connected.status === 'rejected') throw connected.reason
    stats = read.value
    if (inspector.pointers.size > 0) {
      options.onProgress?.(`checking ${inspector.pointers.size} Git LFS pointers`)
      lfsDirectory = await lfsObjectsDirectory(repo)
      for (const [blob, pointer] of inspector.pointers) {
        if (!(await lfsObjectPresent(lfsDirectory, pointer))) {
          inspector.unchecked.set(blob, {reason: 'lfs-object-missing', size: pointer.size, lfsObject: pointer.oid})
          continue
        }
        lfsObjects++
        stats.bytes += pointer.size
        if (pointer.size <= maxInMemory) {
          inspector.whole(blob, 'blob', await readFile(lfsObjectPath(lfsDirectory, pointer.oid)), pointer.oid)
        } else {
          const sink = inspector.streamed(blob, 'blob', pointer.size, pointer.oid)
          for await (const chunk of readLfsObject(lfsDirectory, pointer.oid)) sink.write(chunk)
          sink.end()
        }
      }
    }
  } catch (error) {
    early.abort()
    throw error
  }
  options.onProgress?.(`read ${stats.objects} objects; mapping findings to paths and commits`)
  const {sops, hits, unchecked} = inspector
  const blobsOfInterest = new Set<string>([...sops.keys(), ...unchecked.keys(), ...[...hits].filter(([, hit]) => hit.type === 'blob').map(([oid]) => oid)])
  const history = await early.finish(blobsOfInterest)

  const sopsBlobs: SopsBlobFinding[] = sorted(sops.keys()).map((blob) => {
    const refs = history.byBlob.get(blob)
    if (!refs) warnings.push(`SOPS blob ${blob} is not referenced by any commit or reflog (unreachable; git gc --prune=now removes it)`)
    const {format, lfsObject} = sops.get(blob)!
    return {blob, format, ...refsOf(refs), ...(lfsObject ? {lfsObject} : {})}
  })
  const sopsConfigs: SopsConfigFinding[] = sorted(history.selected.keys()).map((blob) => ({blob, ...refsOf(history.selected.get(blob))}))
  const valueFindings: ValueFinding[] = sorted(hits.keys()).map((object) => {
    const hit = hits.get(object)!
    const byValue = new Map<number, Set<ValueForm>>()
    for (const index of hit.patterns) {
      const pattern = patterns!.patterns[index]
      if (!byValue.has(pattern.value)) byValue.set(pattern.value, new Set())
      byValue.get(pattern.value)!.add(pattern.form)
    }
    const matches = [...byValue].map(([value, forms]) => {
      const known = patterns!.values[value]
      return {source: known.source, secret: known.secret, key: known.key, forms: [...forms].sort()}
    })
    const refs = hit.type === 'blob' ? refsOf(history.byBlob.get(object)) : {paths: [], commits: hit.type === 'commit' ? [object] : []}
    return {object, objectType: hit.type, ...(hit.tag ? {tag: hit.tag} : {}), ...(hit.lfsObject ? {lfsObject: hit.lfsObject} : {}), matches, ...refs}
  })
  const uncheckedBlobs: UncheckedBlobFinding[] = sorted(unchecked.keys()).map((blob) => ({blob, ...unchecked.get(blob)!, ...refsOf(history.byBlob.get(blob))}))

  const pathsToRemove = new Set<PathKey>()
  const blobsToStrip = new Set<string>()
  for (const blob of sops.keys()) {
    blobsToStrip.add(blob)
    for (const path of history.byBlob.get(blob)?.paths ?? []) pathsToRemove.add(path)
  }
  for (const [blob, refs] of history.selected) {
    blobsToStrip.add(blob)
    for (const path of refs.paths) pathsToRemove.add(path)
  }
  const skippedValues = (patterns?.skipped ?? []).map((skip) => ({
    source: skip.source,
    secret: skip.secret,
    key: skip.key,
    reason: `shorter than ${patterns!.minBytes} bytes (--min-value-length): it would match ordinary text, so it is not searched for`,
  }))
  const report: ScanReport = {
    repository: repo,
    clean: sopsBlobs.length === 0 && sopsConfigs.length === 0 && valueFindings.length === 0 && uncheckedBlobs.length === 0,
    objects: {scanned: stats.objects, bytes: stats.bytes, commits: history.commits, lfsObjects},
    sopsBlobs,
    sopsConfigs,
    valueFindings,
    uncheckedBlobs,
    skippedValues,
    warnings,
    durationMs: Date.now() - started,
  }
  return {report, pathsToRemove, blobsToStrip, ...(lfsDirectory ? {lfsObjectsDirectory: lfsDirectory} : {})}
}
