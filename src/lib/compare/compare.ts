import {randomBytes} from 'node:crypto'
import {performance} from 'node:perf_hooks'

import {isToolkitError, ToolkitError} from '../errors/errors.js'
import {isStoreError, type SecretStore} from '../vault/secret-store.js'
import {ABSENT, classifyKey, type KeySnapshot, snapshotOf} from './classify.js'
import {keyScope} from './scope.js'
import {Slots} from './slots.js'
import {
  type CompareOptions,
  type CompareProgress,
  deletedIn,
  type DriftClass,
  IN_SYNC,
  type KeyDifference,
  type KeyError,
  METADATA_DIFFERS,
  onlyIn,
  type RegionComparison,
  VALUE_DIFFERS,
} from './types.js'

export type {CompareOptions, RegionComparison} from './types.js'

export const DEFAULT_CONCURRENCY = 16
const DEFAULT_MAX_KEY_ERRORS = 50
const PROGRESS_EVERY = 250


/**
 * The comparison stopped before the end. `partial` is the report of the keys
 * both regions answered for (their drift is real), with `incomplete` set;
 * the error's code and message are those of the failure that stopped it.
 */
export class IncompleteComparisonError extends ToolkitError {
  constructor(
    readonly partial: RegionComparison,
    cause: unknown,
  ) {
    const failure = isToolkitError(cause) ? cause : undefined
    super(failure?.code ?? 'UNEXPECTED', failure?.message ?? `unexpected error: ${(cause as Error)?.message ?? String(cause)}`, {hint: failure?.hint, cause})
    this.name = 'IncompleteComparisonError'
  }
}

export function classesFor(a: string, b: string): DriftClass[] {
  return [onlyIn(a), onlyIn(b), VALUE_DIFFERS, METADATA_DIFFERS, deletedIn(a), deletedIn(b), IN_SYNC]
}

/** Reads one key's metadata and current data at once and keeps only what is compared. */
async function snapshotKey(store: SecretStore, key: string, hashKey: Buffer): Promise<KeySnapshot> {
  const [metadata, record] = await Promise.all([store.readMetadata(key), store.read(key)])
  return snapshotOf(metadata, record, hashKey)
}

/**
 * Walks both stores under `options.prefix` concurrently and classifies every
 * key: `only-in-<region>`, `value-differs`, `metadata-differs`,
 * `deleted-in-<region>` or `in-sync`. Values are hashed with a key drawn at
 * random for this call (so no hash outlives the run or means anything
 * elsewhere) and dropped at once; a key's snapshot is dropped as soon as both
 * regions have answered for it.
 *
 * Depends on the SecretStore interface only. The caller checks that both
 * regions are reachable and unsealed first (SecretStore.ready()); a
 * region that fails during the walk makes this throw, never return "in sync".
 */
export async function compareRegions(a: SecretStore, b: SecretStore, options: CompareOptions = {}): Promise<RegionComparison> {
  if (a.name === b.name) {
    throw new ToolkitError('SAME_REGION', `cannot compare region ${a.name} with itself`, {hint: 'Name two different regions (--regions region1,region2).'})
  }
  const started = performance.now()
  const scope = keyScope(options.prefix, options.exclude)
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY
  const maxKeyErrors = options.maxKeyErrors ?? DEFAULT_MAX_KEY_ERRORS
  const hashKey = randomBytes(32)
  const stores = [a, b] as const
  const names = [a.name, b.name] as [string, string]

  const counts: Record<DriftClass, number> = Object.fromEntries(classesFor(a.name, b.name).map((name) => [name, 0]))
  const differences: KeyDifference[] = []
  const errors: KeyError[] = []
  let keysCompared = 0
  let keysWithDrift = 0
  // A key waits here until the other region has answered for it too.
  const waiting = new Map<string, {side: 0 | 1; snapshot: KeySnapshot} | 'failed'>()
  const progress: CompareProgress = {listed: {[a.name]: 0, [b.name]: 0}, fetched: {[a.name]: 0, [b.name]: 0}}
  let fatal: {error: unknown} | undefined

  const record = (key: string, snapA: KeySnapshot, snapB: KeySnapshot) => {
    const result = classifyKey(key, [a.name, snapA], [b.name, snapB])
    if (result === undefined) return
    keysCompared++
    if (result === 'in-sync') {
      counts[IN_SYNC]++
      return
    }
    keysWithDrift++
    for (const name of result.classes) counts[name]++
    differences.push(result)
  }

  const settle = (side: 0 | 1, key: string, outcome: KeySnapshot | 'failed') => {
    const other = waiting.get(key)
    if (other === undefined) {
      waiting.set(key, outcome === 'failed' ? 'failed' : {side, snapshot: outcome})
      return
    }
    waiting.delete(key)
    if (other === 'failed' || outcome === 'failed') return
    if (side === 0) record(key, outcome, other.snapshot)
    else record(key, other.snapshot, outcome)
  }

  const fail = (side: 0 | 1, key: string, error: unknown) => {
    // A store that is Unavailable (after its retries) is at fault as a whole, not this key: the comparison stops,
    // and throws an IncompleteComparisonError that carries what was found so far — never a verdict of "in sync".
    if (!isToolkitError(error) || isStoreError(error, 'Unavailable')) {
      fatal ??= {error}
      return
    }
    errors.push({key, region: names[side], code: error.code, message: error.message})
    settle(side, key, 'failed')
    if (errors.length > maxKeyErrors) {
      fatal ??= {
        error: new ToolkitError('TOO_MANY_ERRORS', `stopped after ${errors.length} keys could not be read (first: ${errors[0].message})`, {
          hint: 'So many failures point at the region or the credentials rather than single keys: check the token policy and the server, then re-run.',
        }),
      }
    }
  }

  // A side whose listing ran to its end: a key it never listed is truly absent there, even if the comparison stops.
  const listedAll = [false, false]
  const walk = async (side: 0 | 1) => {
    const store = stores[side]
    const name = names[side]
    const slots = new Slots(concurrency)
    try {
      let stopped = false
      for await (const key of store.list(scope.prefix)) {
        if (fatal) {
          stopped = true
          break
        }
        if (!scope.includes(key)) continue
        progress.listed[name]++
        await slots.take()
        if (fatal) {
          slots.give()
          stopped = true
          break
        }
        snapshotKey(store, key, hashKey)
          .then(
            (snapshot) => settle(side, key, snapshot),
            (error: unknown) => fail(side, key, error),
          )
          .finally(() => {
            slots.give()
            progress.fetched[name]++
            if (options.onProgress && progress.fetched[name] % PROGRESS_EVERY === 0) options.onProgress(progress)
          })
      }
      listedAll[side] = !stopped
    } catch (error) {
      fatal ??= {error}
    } finally {
      await slots.idle()
    }
  }

  await Promise.all([walk(0), walk(1)])

  let incomplete: RegionComparison['incomplete']
  if (fatal) {
    // A key one region answered for is only in that region when the other listed everything without it;
    // otherwise the other never got to it: counted as not compared, never guessed.
    let notCompared = 0
    for (const [key, entry] of waiting) {
      if (entry === 'failed') continue
      if (!listedAll[entry.side === 0 ? 1 : 0]) notCompared++
      else if (entry.side === 0) record(key, entry.snapshot, ABSENT)
      else record(key, ABSENT, entry.snapshot)
    }
    const failure = isToolkitError(fatal.error) ? fatal.error : undefined
    incomplete = {
      code: failure?.code ?? 'UNEXPECTED',
      message: failure?.message ?? `unexpected error: ${(fatal.error as Error)?.message ?? String(fatal.error)}`,
      hint: failure?.hint,
      keysNotCompared: notCompared,
    }
  } else {
    // What is left was listed by one region only.
    for (const [key, entry] of waiting) {
      if (entry === 'failed') continue
      if (entry.side === 0) record(key, entry.snapshot, ABSENT)
      else record(key, ABSENT, entry.snapshot)
    }
  }
  waiting.clear()
  options.onProgress?.(progress)

  differences.sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0))
  errors.sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0))
  const comparison: RegionComparison = {
    regions: names,
    prefix: scope.prefix,
    exclude: scope.exclude,
    keysCompared,
    counts,
    keysWithDrift,
    inSync: keysWithDrift === 0 && errors.length === 0 && incomplete === undefined,
    differences,
    errors,
    durationMs: Math.round(performance.now() - started),
  }
  if (incomplete) {
    comparison.incomplete = incomplete
    throw new IncompleteComparisonError(comparison, fatal!.error)
  }
  return comparison
}
