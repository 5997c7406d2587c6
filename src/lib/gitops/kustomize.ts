import {existsSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {basename, dirname, join, resolve} from 'node:path'

import {parseAllDocuments, parseDocument, type Document} from 'yaml'

/**
 * What a kustomize tree says about files: which kustomization.yaml lists a
 * file (as a resource, a secretGenerator's env or file, or a generator), and
 * which namespace it gives it. Flux's kustomize-controller builds these trees
 * and decrypts SOPS files in them, so the migration must read them as kustomize
 * does — names only; values are never read here.
 */

export const KUSTOMIZATION_FILE_NAMES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization']

export interface GeneratorFileSource {
  /** The Secret key: the path's base name, or what `key=path` names. */
  key: string
  path: string
}

export interface SecretGenerator {
  /** Index in the kustomization's secretGenerator list. */
  index: number
  name: string
  namespace?: string
  type?: string
  envs: string[]
  files: GeneratorFileSource[]
  literals: number
  /** kustomize appends a content hash to the name unless disabled (per generator or in generatorOptions). */
  hashSuffix: boolean
  labels: Record<string, string>
  annotations: Record<string, string>
}

export interface Kustomization {
  /** Absolute path of the kustomization.yaml. */
  path: string
  dir: string
  namespace?: string
  resources: string[]
  generators: string[]
  secretGenerators: SecretGenerator[]
}

/** How a file reaches the cluster through a kustomization. */
export interface KustomizeReference {
  kustomization: Kustomization
  via: 'resources' | 'generators' | 'secretGenerator'
  generator?: SecretGenerator
  /** For a generator's files: entry, the key the file becomes. */
  fileKey?: string
  /** For a generator source: envs or files. */
  sourceKind?: 'envs' | 'files'
}

function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {}
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, entry] of Object.entries(value)) if (typeof entry === 'string') out[key] = entry
  }
  return out
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((entry): entry is string => typeof entry === 'string') : []
}

/** A kustomization.yaml as kustomize reads it (names only). Undefined when it does not parse as a map. */
export function parseKustomization(path: string, text: string): Kustomization | undefined {
  let data: unknown
  try {
    data = parseDocument(text).toJS()
  } catch {
    return undefined
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) return undefined
  const raw = data as Record<string, unknown>
  const options = (raw.generatorOptions ?? {}) as Record<string, unknown>
  const secretGenerators: SecretGenerator[] = []
  const list = Array.isArray(raw.secretGenerator) ? raw.secretGenerator : []
  list.forEach((entry: unknown, index: number) => {
    if (!entry || typeof entry !== 'object') return
    const generator = entry as Record<string, unknown>
    if (typeof generator.name !== 'string') return
    const own = (generator.options ?? {}) as Record<string, unknown>
    const envs = [...strings(generator.envs), ...(typeof generator.env === 'string' ? [generator.env] : [])]
    const files = strings(generator.files).map((spec) => {
      const equals = spec.indexOf('=')
      return equals > 0 ? {key: spec.slice(0, equals), path: spec.slice(equals + 1)} : {key: basename(spec), path: spec}
    })
    secretGenerators.push({
      index,
      name: generator.name,
      namespace: typeof generator.namespace === 'string' ? generator.namespace : undefined,
      type: typeof generator.type === 'string' ? generator.type : undefined,
      envs,
      files,
      literals: strings(generator.literals).length,
      hashSuffix: !(own.disableNameSuffixHash === true || options.disableNameSuffixHash === true),
      labels: {...stringMap(options.labels), ...stringMap(own.labels)},
      annotations: {...stringMap(options.annotations), ...stringMap(own.annotations)},
    })
  })
  return {
    path,
    dir: dirname(path),
    namespace: typeof raw.namespace === 'string' ? raw.namespace : undefined,
    resources: strings(raw.resources),
    generators: strings(raw.generators),
    secretGenerators,
  }
}

export async function readKustomization(path: string): Promise<Kustomization | undefined> {
  const text = await readFile(path, 'utf8').catch(() => undefined)
  return text === undefined ? undefined : parseKustomization(path, text)
}

/** The kustomization file of a directory, if it has one. */
export function kustomizationFileIn(dir: string): string | undefined {
  return KUSTOMIZATION_FILE_NAMES.map((name) => join(dir, name)).find((candidate) => existsSync(candidate))
}

/** Every way `kustomization` lists `file` (absolute). */
export function referencesTo(kustomization: Kustomization, file: string): KustomizeReference[] {
  const found: KustomizeReference[] = []
  const at = (entry: string) => resolve(kustomization.dir, entry) === file
  if (kustomization.resources.some(at)) found.push({kustomization, via: 'resources'})
  if (kustomization.generators.some(at)) found.push({kustomization, via: 'generators'})
  for (const generator of kustomization.secretGenerators) {
    if (generator.envs.some(at)) found.push({kustomization, via: 'secretGenerator', generator, sourceKind: 'envs'})
    const source = generator.files.find((entry) => at(entry.path))
    if (source) found.push({kustomization, via: 'secretGenerator', generator, sourceKind: 'files', fileKey: source.key})
  }
  return found
}

/**
 * The kustomizations that list a file: kustomize only loads files under a
 * kustomization's own directory, so they sit in the file's directory or
 * above it, up to `top` (the repository root).
 */
export class KustomizeIndex {
  readonly #cache = new Map<string, Promise<Kustomization | undefined>>()

  constructor(readonly top: string) {}

  #at(dir: string): Promise<Kustomization | undefined> {
    let pending = this.#cache.get(dir)
    if (!pending) {
      const file = kustomizationFileIn(dir)
      pending = file ? readKustomization(file) : Promise.resolve(undefined)
      this.#cache.set(dir, pending)
    }
    return pending
  }

  async referencesTo(file: string): Promise<KustomizeReference[]> {
    const found: KustomizeReference[] = []
    for (let dir = dirname(file); ; dir = dirname(dir)) {
      const kustomization = await this.#at(dir)
      if (kustomization) found.push(...referencesTo(kustomization, file))
      if (dir === this.top || !dir.startsWith(this.top) || dirname(dir) === dir) break
    }
    return found
  }
}

/** The directory at or above `start` that holds `.git` (the repository root), or undefined. */
export function repositoryRootOf(start: string): string | undefined {
  for (let directory = start; ; directory = dirname(directory)) {
    if (existsSync(join(directory, '.git'))) return directory
    if (dirname(directory) === directory) return undefined
  }
}

/** A Flux `Kustomization` object found in a file of the repository. */
export interface FluxKustomization {
  file: string
  /** Index of the YAML document in the file. */
  document: number
  name: string
  namespace: string
  /** spec.path, relative to the source's root ('./' when absent). */
  path: string
  prune: boolean
  decryption?: {provider?: string; secretName?: string}
}

export const FLUX_KUSTOMIZATION_GROUP = 'kustomize.toolkit.fluxcd.io/'

/**
 * The documents of a YAML file as data, by index; a document that does not
 * parse is undefined (a file that is not YAML at all has none).
 */
function yamlDocuments(text: string): unknown[] {
  let documents: Document[]
  try {
    documents = parseAllDocuments(text) as Document[]
  } catch {
    return []
  }
  return Array.isArray(documents) ? documents.map((document) => (document.errors.length > 0 ? undefined : document.toJS())) : []
}

/** The Flux Kustomizations in one YAML file's text (a file that does not parse has none). */
export function fluxKustomizationsIn(file: string, text: string): FluxKustomization[] {
  const found: FluxKustomization[] = []
  yamlDocuments(text).forEach((data, index) => {
    const object = data as Record<string, unknown> | null | undefined
    if (!object || typeof object !== 'object') return
    if (object.kind !== 'Kustomization' || typeof object.apiVersion !== 'string' || !object.apiVersion.startsWith(FLUX_KUSTOMIZATION_GROUP)) return
    const metadata = (object.metadata ?? {}) as Record<string, unknown>
    const spec = (object.spec ?? {}) as Record<string, unknown>
    const decryption = spec.decryption as Record<string, unknown> | undefined
    const secretRef = decryption?.secretRef as Record<string, unknown> | undefined
    found.push({
      file,
      document: index,
      name: String(metadata.name ?? ''),
      namespace: String(metadata.namespace ?? 'flux-system'),
      path: typeof spec.path === 'string' ? spec.path : './',
      prune: spec.prune === true,
      decryption: decryption ? {provider: typeof decryption.provider === 'string' ? decryption.provider : undefined, secretName: typeof secretRef?.name === 'string' ? secretRef.name : undefined} : undefined,
    })
  })
  return found
}

/** Workload kinds whose pod template can name Secrets. */
const POD_TEMPLATE_PATHS: Record<string, string[]> = {
  Pod: ['spec'],
  Deployment: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
}

export interface SecretReference {
  kind: string
  name: string
  namespace?: string
  secret: string
  /** Where in the pod spec: envFrom, env, volume, imagePullSecrets. */
  how: string
}

/** The Secrets a workload manifest names (pod spec: envFrom, env valueFrom, volumes, projected volumes, imagePullSecrets). */
export function secretReferencesOf(object: unknown): SecretReference[] {
  if (!object || typeof object !== 'object') return []
  const manifest = object as Record<string, unknown>
  const kind = typeof manifest.kind === 'string' ? manifest.kind : ''
  const path = POD_TEMPLATE_PATHS[kind]
  if (!path) return []
  let pod: unknown = manifest
  for (const step of path) pod = (pod as Record<string, unknown> | undefined)?.[step]
  if (!pod || typeof pod !== 'object') return []
  const metadata = (manifest.metadata ?? {}) as Record<string, unknown>
  const base = {kind, name: String(metadata.name ?? ''), namespace: typeof metadata.namespace === 'string' ? metadata.namespace : undefined}
  const found: SecretReference[] = []
  const add = (secret: unknown, how: string) => {
    if (typeof secret === 'string' && secret) found.push({...base, secret, how})
  }
  const spec = pod as Record<string, unknown>
  const containers = [...(Array.isArray(spec.containers) ? spec.containers : []), ...(Array.isArray(spec.initContainers) ? spec.initContainers : [])] as Record<string, unknown>[]
  for (const container of containers) {
    for (const from of (Array.isArray(container?.envFrom) ? container.envFrom : []) as Record<string, Record<string, unknown>>[]) add(from?.secretRef?.name, 'envFrom')
    for (const env of (Array.isArray(container?.env) ? container.env : []) as Record<string, Record<string, Record<string, unknown>>>[]) add(env?.valueFrom?.secretKeyRef?.name, 'env')
  }
  for (const volume of (Array.isArray(spec.volumes) ? spec.volumes : []) as Record<string, Record<string, unknown>>[]) {
    add(volume?.secret?.secretName, 'volume')
    for (const source of (Array.isArray(volume?.projected?.sources) ? volume.projected.sources : []) as Record<string, Record<string, unknown>>[]) add(source?.secret?.name, 'projected volume')
  }
  for (const pull of (Array.isArray(spec.imagePullSecrets) ? spec.imagePullSecrets : []) as Record<string, unknown>[]) add(pull?.name, 'imagePullSecrets')
  return found
}

/** Every workload Secret reference in a YAML file's text (a file that does not parse has none). */
export function secretReferencesIn(text: string): SecretReference[] {
  return yamlDocuments(text).flatMap((data) => secretReferencesOf(data))
}
