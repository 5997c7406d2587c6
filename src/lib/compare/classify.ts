import type {SecretMetadata, SecretRecord} from '../vault/secret-store.js'
import {
  type ComparedMetadata,
  deletedIn,
  type DriftClass,
  type KeyDifference,
  type KeyState,
  METADATA_DIFFERS,
  type MetadataDifference,
  onlyIn,
  type PropertyDifference,
  type RegionSide,
  VALUE_DIFFERS,
} from './types.js'

/**
 * What the comparison keeps of one key in one region: state, metadata and a
 * keyed hash per property. The values themselves are dropped as soon as they
 * are hashed, so memory grows with the number of keys, not their size.
 */
export interface KeySnapshot {
  state: KeyState
  version?: number
  metadata?: ComparedMetadata
  /** Property name → keyed hash (base64) of its value, under this run's random key. Only for `live`. */
  hashes?: Map<string, string>
}

export const ABSENT: KeySnapshot = Object.freeze({state: 'absent'}) as KeySnapshot

export function comparedMetadata(metadata: SecretMetadata): ComparedMetadata {
  return {
    maxVersions: metadata.maxVersions,
    casRequired: metadata.casRequired,
    deleteVersionAfter: metadata.deleteVersionAfter,
    customMetadata: {...metadata.customMetadata},
  }
}

/**
 * Builds a key's snapshot from what the store returned. The data read is the
 * truth about liveness (it may race the metadata read); the metadata says why
 * a key has no current value.
 */
export function snapshotOf(metadata: SecretMetadata | undefined, record: SecretRecord | undefined, hashKey: Buffer): KeySnapshot {
  if (record) {
    const hashes = new Map<string, string>()
    for (const [property, value] of record.data) hashes.set(property, value.keyedHash(hashKey).toString('base64'))
    return {state: 'live', version: record.version, metadata: metadata ? comparedMetadata(metadata) : undefined, hashes}
  }
  if (!metadata) return ABSENT
  let state: KeyState = 'deleted'
  if (metadata.current.destroyed) state = 'destroyed'
  else if (metadata.currentVersion === 0) state = 'no-version'
  return {state, version: metadata.currentVersion, metadata: comparedMetadata(metadata)}
}

export function regionSide(snapshot: KeySnapshot): RegionSide {
  const side: RegionSide = {state: snapshot.state}
  if (snapshot.version !== undefined) side.version = snapshot.version
  if (snapshot.metadata) side.metadata = snapshot.metadata
  return side
}

export function propertyDifferences(a: [string, Map<string, string>], b: [string, Map<string, string>]): PropertyDifference[] {
  const [nameA, hashesA] = a
  const [nameB, hashesB] = b
  const differences: PropertyDifference[] = []
  const properties = [...new Set([...hashesA.keys(), ...hashesB.keys()])].sort()
  for (const property of properties) {
    const hashA = hashesA.get(property)
    const hashB = hashesB.get(property)
    if (hashA === undefined) differences.push({property, difference: onlyIn(nameB)})
    else if (hashB === undefined) differences.push({property, difference: onlyIn(nameA)})
    else if (hashA !== hashB) differences.push({property, difference: 'differs'})
  }
  return differences
}

export function metadataDifferences(a: [string, ComparedMetadata | undefined], b: [string, ComparedMetadata | undefined]): MetadataDifference[] {
  const [nameA, metaA] = a
  const [nameB, metaB] = b
  // A backend without KV metadata has nothing to compare.
  if (!metaA || !metaB) return []
  const differences: MetadataDifference[] = []
  const scalar = (field: string, valueA: string | number | boolean, valueB: string | number | boolean) => {
    if (valueA !== valueB) differences.push({field, values: {[nameA]: valueA, [nameB]: valueB}})
  }
  const names = [...new Set([...Object.keys(metaA.customMetadata), ...Object.keys(metaB.customMetadata)])].sort()
  for (const name of names) {
    const valueA = metaA.customMetadata[name]
    const valueB = metaB.customMetadata[name]
    if (valueA !== valueB) differences.push({field: `custom_metadata.${name}`, values: {[nameA]: valueA, [nameB]: valueB}})
  }
  scalar('max_versions', metaA.maxVersions, metaB.maxVersions)
  scalar('cas_required', metaA.casRequired, metaB.casRequired)
  scalar('delete_version_after', metaA.deleteVersionAfter, metaB.deleteVersionAfter)
  return differences
}

/**
 * Classifies one key seen from two regions. Returns undefined when the key is
 * in sync, and also when neither region has it (it vanished between the list
 * and the read). Version numbers are carried along but never compared: two
 * independent clusters number their versions independently.
 */
export function classifyKey(key: string, a: [string, KeySnapshot], b: [string, KeySnapshot]): KeyDifference | 'in-sync' | undefined {
  const [nameA, snapA] = a
  const [nameB, snapB] = b
  if (snapA.state === 'absent' && snapB.state === 'absent') return undefined
  const regions = {[nameA]: regionSide(snapA), [nameB]: regionSide(snapB)}
  if (snapA.state === 'absent' || snapB.state === 'absent') {
    const present = snapA.state === 'absent' ? nameB : nameA
    return {key, classes: [onlyIn(present)], properties: [], metadata: [], regions}
  }
  const classes: DriftClass[] = []
  let properties: PropertyDifference[] = []
  const liveA = snapA.state === 'live'
  const liveB = snapB.state === 'live'
  if (liveA && liveB) {
    properties = propertyDifferences([nameA, snapA.hashes ?? new Map()], [nameB, snapB.hashes ?? new Map()])
    if (properties.length > 0) classes.push(VALUE_DIFFERS)
  } else if (liveA !== liveB) {
    classes.push(deletedIn(liveA ? nameB : nameA))
  }
  const metadata = metadataDifferences([nameA, snapA.metadata], [nameB, snapB.metadata])
  if (metadata.length > 0) classes.push(METADATA_DIFFERS)
  if (classes.length === 0) return 'in-sync'
  return {key, classes, properties, metadata, regions}
}
