import {relative, resolve} from 'node:path'

import pLimit from 'p-limit'

import type {RegionConfig} from '../config/schema.js'
import {isToolkitError, ToolkitError} from '../errors/errors.js'
import {buildPushSecret, remoteKeyFor, templateIsPerKey, type PushSecret, type PushSecretOptions} from '../eso/push-secret.js'
import {displayText} from '../report/display.js'
import {decryptSops, resolveEngine, type DecryptOptions} from '../sops/decrypt.js'
import {MAX_SOPS_FILE_BYTES} from '../sops/detect.js'
import {discoverSopsFiles, type Discovery} from './discover.js'
import {KustomizeIndex, repositoryRootOf, type KustomizeReference} from '../gitops/kustomize.js'
import {findCollisions, mapSopsFile, MIGRATED_FROM_LABEL, type KustomizeContext, type MappingOptions, type PlannedSecret} from './mapping.js'

export interface RemoteTarget {
  region: string
  clusterSecretStore: string
  /** Path under the region's KV v2 mount. */
  remoteKey: string
  /** Secret keys pushed as properties of that Vault secret. */
  properties: string[]
}

export interface PlannedMigration {
  planned: PlannedSecret
  pushSecret: PushSecret
  remotes: RemoteTarget[]
}

export interface FileFailure {
  source: string
  code: string
  message: string
}

export interface MigrationPlan {
  engine: {name: 'sops' | 'builtin'; reason: string}
  discovery: Omit<Discovery, 'sopsFiles' | 'refused'> & {sopsFiles: {path: string; format: string}[]}
  migrations: PlannedMigration[]
  /** Files skipped under --continue-on-error. */
  failures: FileFailure[]
}

export interface PlanOptions {
  paths: string[]
  cwd: string
  regions: RegionConfig[]
  decrypt: DecryptOptions
  mapping: MappingOptions
  push: PushSecretOptions
  continueOnError: boolean
  concurrency: number
  onProgress?: (done: number, total: number, file: string) => void
}

/** The remote targets of one Secret, grouped by Vault secret, for every region. */
export function remoteTargets(spec: {namespace: string; name: string; data: Map<string, unknown>}, regions: RegionConfig[], template: string): RemoteTarget[] {
  const keys = [...spec.data.keys()].sort()
  const byRemoteKey = new Map<string, string[]>()
  for (const key of keys) {
    const remoteKey = remoteKeyFor(template, spec, templateIsPerKey(template) ? key : undefined)
    byRemoteKey.set(remoteKey, [...(byRemoteKey.get(remoteKey) ?? []), key])
  }
  return regions.flatMap((region) =>
    [...byRemoteKey].map(([remoteKey, properties]) => ({region: region.name, clusterSecretStore: region.clusterSecretStore, remoteKey, properties})),
  )
}

/**
 * Parsing a file costs several times its size: concurrent decryptions of
 * large files start only while the bytes in flight fit the budget (one file
 * always may), so memory follows the largest file, not the file count.
 */
class ByteBudget {
  #inFlight = 0
  readonly #waiting: {bytes: number; start: () => void}[] = []

  constructor(readonly budget: number) {}

  acquire(bytes: number): Promise<void> {
    if (this.#fits(bytes)) {
      this.#inFlight += bytes
      return Promise.resolve()
    }
    return new Promise((start) => this.#waiting.push({bytes, start}))
  }

  release(bytes: number): void {
    this.#inFlight -= bytes
    while (this.#waiting.length > 0 && this.#fits(this.#waiting[0].bytes)) {
      const next = this.#waiting.shift()!
      this.#inFlight += next.bytes
      next.start()
    }
  }

  #fits(bytes: number): boolean {
    return this.#inFlight === 0 || this.#inFlight + bytes <= this.budget
  }
}

/**
 * One file's error as a failure of that file (its message with control
 * characters escaped: it names the file, whose name is untrusted), or
 * undefined for an error that is a bug. A call stack exhausted by a hostile
 * nesting depth in any parser is that file's problem, not the run's.
 */
function fileFailure(source: string, error: unknown): FileFailure | undefined {
  if (isToolkitError(error)) return {source, code: error.code, message: displayText(error.message)}
  if (error instanceof RangeError) return {source, code: 'PARSE', message: displayText(`${source} is nested too deeply to process (${error.message})`)}
  return undefined
}

/** What kustomize does with a file, as the mapping needs it: a secretGenerator taking it wins over a resources entry. */
export function kustomizeContextOf(references: KustomizeReference[], cwd: string): KustomizeContext | undefined {
  const reference = references.find((candidate) => candidate.generator) ?? references[0]
  if (!reference) return undefined
  const {kustomization, generator} = reference
  const context: KustomizeContext = {kustomization: relative(cwd, kustomization.path) || kustomization.path, ...(kustomization.namespace ? {namespace: kustomization.namespace} : {})}
  if (generator) {
    context.generator = {
      name: generator.name,
      ...(generator.namespace ? {namespace: generator.namespace} : {}),
      ...(generator.type ? {type: generator.type} : {}),
      labels: generator.labels,
      annotations: generator.annotations,
      hashSuffix: generator.hashSuffix,
      sourceKind: reference.sourceKind ?? 'envs',
      ...(reference.fileKey ? {fileKey: reference.fileKey} : {}),
      sources: generator.envs.length + generator.files.length + generator.literals,
    }
  }
  return context
}

/**
 * Finds and decrypts every SOPS file, maps each to Secrets and PushSecrets,
 * and validates the whole set. Reads files only; touches no system. One bad
 * file stops the plan (or, with continueOnError, is reported and skipped).
 */
export async function buildMigrationPlan(options: PlanOptions): Promise<MigrationPlan> {
  const discovery = await discoverSopsFiles(options.paths, {cwd: options.cwd})
  // The kustomizations above each file say which Secret kustomize (and Flux) makes of it: a generator's, a namespace.
  const firstPath = resolve(options.cwd, options.paths[0] ?? '.')
  const kustomize = new KustomizeIndex(repositoryRootOf(firstPath) ?? options.cwd)
  const engine = resolveEngine(options.decrypt)
  const limit = pLimit(engine.engine === 'sops' ? options.concurrency : Math.max(1, Math.min(options.concurrency, 4)))
  const bytesInFlight = new ByteBudget(MAX_SOPS_FILE_BYTES)
  // Files with sops' marks that cannot be read as SOPS files (too large) fail like any other bad file.
  const failures: FileFailure[] = discovery.refused.map((file) => ({source: file.displayPath, code: file.code, message: displayText(file.message)}))
  const total = discovery.sopsFiles.length + discovery.refused.length
  let done = discovery.refused.length
  const perFile = await Promise.all(
    discovery.sopsFiles.map((file) =>
      limit(async (): Promise<PlannedSecret[]> => {
        try {
          // Read again here rather than kept from discovery: only the files in flight are in memory.
          await bytesInFlight.acquire(file.size)
          let decrypted
          try {
            decrypted = await decryptSops(file.path, {...options.decrypt, engine: engine.engine, format: file.format})
          } finally {
            bytesInFlight.release(file.size)
          }
          decrypted.path = file.displayPath
          return mapSopsFile(decrypted, options.mapping, kustomizeContextOf(await kustomize.referencesTo(file.path), options.cwd))
        } catch (error) {
          const failure = fileFailure(file.displayPath, error)
          if (!failure) throw error
          failures.push(failure)
          return []
        } finally {
          done += 1
          options.onProgress?.(done, total, displayText(file.displayPath))
        }
      }),
    ),
  )
  if (failures.length > 0 && !options.continueOnError) {
    failures.sort((a, b) => (a.source < b.source ? -1 : 1))
    const lines = failures.map((failure) => `${failure.message} [${failure.code}]`)
    throw new ToolkitError('SOURCE_INVALID', `${failures.length} of ${total} SOPS file(s) cannot be migrated; nothing was written:\n  ${lines.join('\n  ')}`, {
      hint: 'Fix those files (or their keys and mapping), or re-run with --continue-on-error to migrate the others.',
    })
  }
  const planned = perFile.flat()
  const collision = findCollisions(planned)
  if (collision) throw collision
  const migrations = planned.map((item) => ({
    planned: item,
    pushSecret: buildPushSecret({namespace: item.spec.namespace, name: item.spec.name, keys: [...item.spec.data.keys()]}, options.regions, {
      ...options.push,
      labels: {...options.push.labels, [MIGRATED_FROM_LABEL]: item.spec.labels[MIGRATED_FROM_LABEL]},
      // What `dr rehydrate` needs to rebuild the Secret as it was when the cluster is lost.
      record: {type: item.spec.type, labels: item.spec.labels, annotations: item.spec.annotations},
    }),
    remotes: remoteTargets(item.spec, options.regions, options.push.remoteKeyTemplate),
  }))
  migrations.sort((a, b) => (`${a.planned.spec.namespace}/${a.planned.spec.name}` < `${b.planned.spec.namespace}/${b.planned.spec.name}` ? -1 : 1))
  return {
    engine: {name: engine.engine, reason: engine.reason},
    discovery: {configFiles: discovery.configFiles, skipped: discovery.skipped, filesRead: discovery.filesRead, sopsFiles: discovery.sopsFiles.map((file) => ({path: file.displayPath, format: file.format}))},
    migrations,
    failures,
  }
}
