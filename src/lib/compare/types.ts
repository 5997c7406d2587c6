/**
 * What a comparison of two regions reports. Everything here is safe to print
 * or serialise: key names, property names, metadata and version numbers —
 * never a value, never a hash of one.
 */

/** `only-in-<region>`, `deleted-in-<region>`, `value-differs`, `metadata-differs`, `in-sync`. */
export type DriftClass = string

export const VALUE_DIFFERS = 'value-differs'
export const METADATA_DIFFERS = 'metadata-differs'
export const IN_SYNC = 'in-sync'
export const onlyIn = (region: string): DriftClass => `only-in-${region}`
export const deletedIn = (region: string): DriftClass => `deleted-in-${region}`

/**
 * A key's state in one region. Only `live` has a readable current value;
 * `deleted` (soft-deleted), `destroyed` and `no-version` (metadata without
 * any version) are present but hold no current data.
 */
export type KeyState = 'live' | 'deleted' | 'destroyed' | 'no-version' | 'absent'

/** The metadata fields that must match across regions (version numbers never do). */
export interface ComparedMetadata {
  maxVersions: number
  casRequired: boolean
  deleteVersionAfter: string
  customMetadata: Record<string, string>
}

export interface RegionSide {
  state: KeyState
  /** Current version number: information only, never compared across regions. */
  version?: number
  metadata?: ComparedMetadata
}

export interface PropertyDifference {
  property: string
  /** `differs`, or `only-in-<region>` when one side lacks the property. */
  difference: string
}

export interface MetadataDifference {
  /** `max_versions`, `cas_required`, `delete_version_after` or `custom_metadata.<name>`. */
  field: string
  /** The field per region; undefined when a custom_metadata entry is unset on that side. */
  values: Record<string, string | number | boolean | undefined>
}

export interface KeyDifference {
  key: string
  /** One or more classes, never `in-sync`. A key can differ in value and metadata at once. */
  classes: DriftClass[]
  properties: PropertyDifference[]
  metadata: MetadataDifference[]
  regions: Record<string, RegionSide>
}

export interface KeyError {
  key: string
  region: string
  code: string
  message: string
}

export interface RegionComparison {
  /** The two regions, in the order given. */
  regions: [string, string]
  prefix: string
  exclude: string[]
  /** Keys present in at least one region (excluded keys not counted). */
  keysCompared: number
  /** Keys per class; a key with both value and metadata drift counts in both. Always has every class, zero included. */
  counts: Record<DriftClass, number>
  /** Keys with at least one difference. */
  keysWithDrift: number
  inSync: boolean
  /** Sorted by key. */
  differences: KeyDifference[]
  /** Keys that could not be read in a region: the comparison is incomplete when non-empty. */
  errors: KeyError[]
  /**
   * Set when the comparison stopped early (a region failed, the deadline ran
   * out, too many keys failed): `differences` then holds the drift found in
   * the keys both regions did answer for, and `keysNotCompared` how many
   * listed keys were left without a verdict. Never "in sync".
   */
  incomplete?: IncompleteReason
  durationMs: number
}

export interface IncompleteReason {
  code: string
  message: string
  hint?: string
  /** Keys listed by a region but not compared (the other side had not answered when the comparison stopped). */
  keysNotCompared: number
}

export interface CompareProgress {
  listed: Record<string, number>
  fetched: Record<string, number>
}

export interface CompareOptions {
  /** Limit the walk to this key or folder (relative to the mount); '' or undefined for the whole mount. */
  prefix?: string
  /** Keys (or folders) to leave out, as globs on the full key: `*`, `?`, `**`. */
  exclude?: string[]
  /** Keys fetched at once per region (default 16). */
  concurrency?: number
  /** Stop after this many per-key errors (default 50): more means the region, not a key, is at fault. */
  maxKeyErrors?: number
  onProgress?: (progress: CompareProgress) => void
}
