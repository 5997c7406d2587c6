import {readAllObjects, type GitObjectType} from './cat-file.js'
import {displayPath, indexHistory, type BlobReferences, type PathKey} from './history-index.js'
import {MIN_VALUE_BYTES, type PatternSet, type ValueForm} from './value-patterns.js'

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
  matches: ValueMatch[]
  paths: string[]
  commits: string[]
}

/** The scan result as reported (--json): names and object ids only, never a value. */
export interface ScanReport {
  repository: string
  clean: boolean
  objects: {scanned: number; bytes: number; commits: number}
  sopsBlobs: SopsBlobFinding[]
  sopsConfigs: SopsConfigFinding[]
  valueFindings: ValueFinding[]
  /** Values that were not searched for and why (names only). */
  skippedValues: {source: string; secret: string; key: string; reason: string}[]
  warnings: string[]
  durationMs: number
}

/** What scrub needs beyond the report: exact path bytes and blob ids. */
export interface ScanResult {
  report: ScanReport
  /** Every path that ever held a SOPS blob or a `.sops.yaml`. */
  pathsToRemove: Set<PathKey>
  /** SOPS and `.sops.yaml` blob ids. */
  blobsToStrip: Set<string>
}

export interface ScanOptions {
  detector: SopsDetector
  patterns?: PatternSet
  onProgress?: (message: string) => void
}

// Every SOPS format carries this marker (the `sops` key, `sops_*` dotenv/ini
// keys); checking it natively first keeps the detector off most blobs.
const SOPS_MARKER = Buffer.from('sops')

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

/**
 * The integrity check shared by `git scan` and `git scrub` (before: the plan;
 * after: the proof). Reads every object once; values are matched in memory
 * and only pattern names leave this function.
 */
export async function scanRepository(repo: string, options: ScanOptions): Promise<ScanResult> {
  const started = Date.now()
  const {detector, patterns} = options
  const matcher = patterns?.matcher
  const sops = new Map<string, string>()
  const hits = new Map<string, {type: 'blob' | 'commit' | 'tag'; tag?: string; patterns: Set<number>}>()
  const stats = await readAllObjects(repo, {
    wants: (type: GitObjectType) => type === 'blob' || (matcher !== undefined && (type === 'commit' || type === 'tag')),
    visit: (oid, type, content) => {
      if (type === 'blob' && content.indexOf(SOPS_MARKER) !== -1) {
        const detected = detector.detect(content)
        if (detected) {
          sops.set(oid, detected.format)
          return
        }
      }
      if (!matcher) return
      const found = matcher.matchedPatterns(content)
      if (found.size > 0) {
        hits.set(oid, {type: type as 'blob' | 'commit' | 'tag', tag: type === 'tag' ? tagName(content) : undefined, patterns: found})
      }
    },
  })
  options.onProgress?.(`read ${stats.objects} objects; mapping findings to paths and commits`)
  const blobsOfInterest = new Set<string>([...sops.keys(), ...[...hits].filter(([, hit]) => hit.type === 'blob').map(([oid]) => oid)])
  const history = await indexHistory(repo, {blobs: blobsOfInterest, selectPath: (path) => detector.isConfigPath(displayPath(path))})

  const warnings: string[] = []
  const sopsBlobs: SopsBlobFinding[] = sorted(sops.keys()).map((blob) => {
    const refs = history.byBlob.get(blob)
    if (!refs) warnings.push(`SOPS blob ${blob} is not referenced by any commit or reflog (unreachable; git gc --prune=now removes it)`)
    return {blob, format: sops.get(blob)!, ...refsOf(refs)}
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
    return {object, objectType: hit.type, ...(hit.tag ? {tag: hit.tag} : {}), matches, ...refs}
  })

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
    reason: `shorter than ${MIN_VALUE_BYTES} bytes: it would match everywhere, so it is not searched for`,
  }))
  const report: ScanReport = {
    repository: repo,
    clean: sopsBlobs.length === 0 && sopsConfigs.length === 0 && valueFindings.length === 0,
    objects: {scanned: stats.objects, bytes: stats.bytes, commits: history.commits},
    sopsBlobs,
    sopsConfigs,
    valueFindings,
    skippedValues,
    warnings,
    durationMs: Date.now() - started,
  }
  return {report, pathsToRemove, blobsToStrip}
}
