import {readdir, stat} from 'node:fs/promises'
import {join, resolve} from 'node:path'

import pLimit from 'p-limit'

import {ToolkitError} from '../errors/errors.js'
import {displayText} from '../report/display.js'
import {describeFileType, isPartialFile} from './files.js'
import {ENCRYPTED_EXTENSION, SNAPSHOT_EXTENSION, manifestPathFor, parseSnapshotFileName, readManifest, summarizeManifest, type ManifestSummary, type SnapshotKind, type SnapshotManifest} from './manifest.js'
import {verifySnapshotFile, type VerifyOptions, type VerifyReport} from './verify.js'

export interface CatalogEntry {
  file: string
  name: string
  region?: string
  createdAt?: Date
  kind: SnapshotKind
  encrypted: boolean
  size: number
  manifest?: SnapshotManifest
  /** A manifest that exists but cannot be read or parsed. */
  manifestError?: string
  verify?: VerifyReport
  /** Why verification could not run (e.g. encrypted without manifest or key). */
  verifyError?: string
}

export interface Catalog {
  directory: string
  entries: CatalogEntry[]
  /** Leftovers that are not snapshots: interrupted downloads, manifests without an archive. */
  strays: {file: string; reason: string}[]
}

const isArchiveName = (name: string) => name.endsWith(SNAPSHOT_EXTENSION) || name.endsWith(ENCRYPTED_EXTENSION)

/**
 * The snapshots in a directory, oldest first, from file names and manifests
 * (the manifest wins where both say something). `verify` runs the integrity
 * check on each, a few at a time.
 */
export async function readCatalog(directory: string, options: {verify: boolean; verifyOptions?: VerifyOptions; concurrency?: number; region?: string} = {verify: false}): Promise<Catalog> {
  const dir = resolve(directory)
  let names: string[]
  try {
    names = await readdir(dir)
  } catch (error) {
    throw new ToolkitError('DIRECTORY_UNREADABLE', `cannot read snapshot directory ${displayText(dir)} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`, {
      hint: 'Pass the directory that `secrets dr snapshot --out` wrote to.',
    })
  }
  const entries: CatalogEntry[] = []
  const strays: Catalog['strays'] = []
  const archives = new Set<string>()
  const manifests: string[] = []
  for (const name of names.sort()) {
    const file = join(dir, name)
    if (isPartialFile(name)) {
      strays.push({file, reason: 'an interrupted download or manifest write (safe to delete once no snapshot is running)'})
      continue
    }
    const isManifestName = name.endsWith('.json')
    if (!isArchiveName(name) && !isManifestName) continue
    // A snapshot pruned by a concurrent run between readdir and stat is simply gone.
    const info = await stat(file).catch(() => undefined)
    if (!info) continue
    if (!info.isFile()) {
      // A FIFO or device named like a snapshot would block (or never end) a read: named here, never opened.
      strays.push({file, reason: `${describeFileType(info)}, not a regular file: skipped (never opened)`})
      continue
    }
    if (isManifestName) {
      manifests.push(name)
      continue
    }
    archives.add(name)
    entries.push(await catalogEntry(file, name, info.size, () => readManifest(manifestPathFor(file))))
  }
  for (const name of manifests) {
    const manifest = await readManifest(join(dir, name)).catch(() => undefined)
    if (manifest && !archives.has(manifest.archive.file)) strays.push({file: join(dir, name), reason: `manifest of ${manifest.archive.file}, which is missing`})
  }
  return {directory: dir, entries: await finishCatalog(entries, options, (entry) => verifySnapshotFile(entry.file, options.verifyOptions)), strays}
}

/**
 * One archive's entry, from its file name and its manifest (the manifest
 * wins where both say something); a manifest that cannot be read is noted.
 * Shared by the directory catalog and the object-store one (snapshot-store-ops.ts).
 */
export async function catalogEntry(file: string, name: string, size: number, manifestOf: () => Promise<SnapshotManifest | undefined>): Promise<CatalogEntry> {
  const parsed = parseSnapshotFileName(name)
  const entry: CatalogEntry = {
    file,
    name: parsed?.name ?? name,
    region: parsed?.region,
    createdAt: parsed?.createdAt,
    kind: parsed?.kind ?? 'snapshot',
    encrypted: parsed?.encrypted ?? name.endsWith(ENCRYPTED_EXTENSION),
    size,
  }
  try {
    const manifest = await manifestOf()
    if (manifest) {
      entry.manifest = manifest
      entry.region = manifest.region
      entry.createdAt = new Date(manifest.createdAt)
      entry.kind = manifest.kind
      entry.encrypted = manifest.encryption !== undefined
    }
  } catch (error) {
    entry.manifestError = (error as Error).message
  }
  return entry
}

/** Narrows the entries to a region, sorts them oldest first and, with `verify`, checks each one, a few at a time. */
export async function finishCatalog(
  entries: CatalogEntry[],
  options: {verify: boolean; concurrency?: number; region?: string},
  verifyOne: (entry: CatalogEntry) => Promise<VerifyReport>,
): Promise<CatalogEntry[]> {
  const chosen = options.region === undefined ? [...entries] : entries.filter((entry) => entry.region === options.region)
  chosen.sort((a, b) => (a.createdAt?.getTime() ?? 0) - (b.createdAt?.getTime() ?? 0) || a.name.localeCompare(b.name))
  if (options.verify) {
    const limit = pLimit(options.concurrency ?? 2)
    await Promise.all(
      chosen.map((entry) =>
        limit(async () => {
          try {
            entry.verify = await verifyOne(entry)
          } catch (error) {
            entry.verifyError = (error as Error).message
          }
        }),
      ),
    )
  }
  return chosen
}

/** A catalog entry's verdict in one word, for tables. */
export function verdict(entry: CatalogEntry): 'ok' | 'ok (hash only)' | 'FAILED' | 'unchecked' {
  if (entry.verifyError || entry.manifestError) return 'FAILED'
  if (!entry.verify) return 'unchecked'
  if (!entry.verify.ok) return 'FAILED'
  return entry.verify.contentsChecked ? 'ok' : 'ok (hash only)'
}

/** A catalog as `dr list --json` reports it: manifests summed up (see summarizeManifest). */
export type CatalogSummary = Omit<Catalog, 'entries'> & {
  entries: (Omit<CatalogEntry, 'manifest' | 'verify'> & {manifest?: ManifestSummary; verify?: Omit<VerifyReport, 'manifest'> & {manifest?: ManifestSummary}})[]
}

export function summarizeCatalog(catalog: Catalog): CatalogSummary {
  return {
    ...catalog,
    entries: catalog.entries.map((entry) => ({
      ...entry,
      manifest: summarizeManifest(entry.manifest),
      verify: entry.verify && {...entry.verify, manifest: summarizeManifest(entry.verify.manifest)},
    })),
  }
}
