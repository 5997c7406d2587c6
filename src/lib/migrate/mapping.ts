import {closeSync, readFileSync, type Stats} from 'node:fs'
import {basename, dirname, relative, resolve, sep} from 'node:path'

import {minimatch} from 'minimatch'
import {parse as parseYaml} from 'yaml'
import {z} from 'zod'

import {formatIssues} from '../config/load.js'
import {ToolkitError} from '../errors/errors.js'
import {openRegularFileSync, RegularFileProblem} from '../files/regular-file.js'
import type {SecretSpec} from '../kube/client.js'
import {labelValueFromPath, nameProblem, namespaceProblem, SECRET_MAX_BYTES, secretKeyProblem, secretNameFromFile} from '../kube/names.js'
import {displayText, hasControlCharacters} from '../report/display.js'
import {isSecretValue, SecretValue} from '../secret/secret-value.js'
import type {DecryptedSops, SopsTree} from '../sops/decrypt.js'

export const MIGRATED_FROM_LABEL = 'secrets-toolkit.io/migrated-from'
/** The full source path (a label value is limited to 63 characters). */
export const SOURCE_ANNOTATION = 'secrets-toolkit.io/source'

/**
 * Which Secret a plain (non-manifest) SOPS file becomes, and which namespace
 * files in a directory go to. Committed next to the GitOps tree; names only.
 */
const mappingSchema = z
  .object({
    files: z
      .array(
        z
          .object({
            path: z.string().min(1),
            name: z.string().min(1).optional(),
            namespace: z.string().min(1).optional(),
          })
          .strict(),
      )
      .default([]),
    directories: z.array(z.object({path: z.string().min(1), namespace: z.string().min(1)}).strict()).default([]),
  })
  .strict()

/** Paths in a mapping file are relative to the file's own directory, so it can live in the GitOps repository. */
export type MappingFile = z.infer<typeof mappingSchema> & {base: string}

export function loadMappingFile(path: string): MappingFile {
  let raw: unknown
  try {
    raw = parseYaml(readRegularFileSync(path))
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message.split('\n')[0]
    throw new ToolkitError('MAPPING_INVALID', `cannot read mapping file ${displayText(path)}: ${displayText(reason)}`, {hint: 'See `secrets migrate sops --help` for the mapping file format.'})
  }
  const result = mappingSchema.safeParse(raw ?? {})
  if (!result.success) {
    throw new ToolkitError('MAPPING_INVALID', `mapping file ${displayText(path)}: ${formatIssues(result.error.issues).join('; ')}`, {hint: 'Fix the mapping file; each entry needs a path.'})
  }
  return {...result.data, base: dirname(resolve(path))}
}

/** A mapping file is small and regular: a FIFO or a device named by mistake must fail at once, not hang or fill memory. */
function readRegularFileSync(path: string): string {
  let opened: {fd: number; info: Stats}
  try {
    opened = openRegularFileSync(path)
  } catch (error) {
    if (error instanceof RegularFileProblem) throw Object.assign(new Error(error.reason), {code: error.kind === 'not-regular' ? `not a regular file (${error.found})` : (error.errno ?? error.reason)})
    throw error
  }
  const {fd: descriptor, info} = opened
  try {
    if (info.size > 1024 * 1024) throw Object.assign(new Error('larger than 1 MiB'), {code: 'larger than 1 MiB'})
    return readFileSync(descriptor, 'utf8')
  } finally {
    closeSync(descriptor)
  }
}

export interface MappingOptions {
  /** Namespace for files that do not say (plain files, Secret manifests without metadata.namespace). */
  namespace?: string
  mapping?: MappingFile
  /** Base for the mapping file's relative paths and the labels. */
  cwd: string
}

/**
 * How kustomize (and so Flux) turns the file into a Secret: the namespace of
 * the kustomization that lists it, or the secretGenerator that takes it.
 */
export interface KustomizeContext {
  /** The kustomization.yaml (display path) that lists the file. */
  kustomization: string
  /** Its `namespace:`, which kustomize sets on every object it emits. */
  namespace?: string
  generator?: {
    name: string
    namespace?: string
    type?: string
    labels: Record<string, string>
    annotations: Record<string, string>
    /** kustomize names the Secret `<name>-<hash>` unless disabled. */
    hashSuffix: boolean
    sourceKind: 'envs' | 'files'
    /** For files:, the key the file becomes. */
    fileKey?: string
    /** Every source of the generator (envs, files, literals): only a single SOPS source maps to one Secret. */
    sources: number
  }
}

/** One Kubernetes Secret the migration will create, with where it came from. */
export interface PlannedSecret {
  source: string
  /** Index of the YAML document, for multi-document files. */
  document: number
  origin: 'manifest' | 'file' | 'generator'
  spec: SecretSpec
  /** The kustomization that applies the source, when one does. */
  kustomize?: KustomizeContext
}

/** Why a file cannot be mapped. Names the file and the field, never a value. */
export class MappingError extends ToolkitError {
  constructor(readonly file: string, message: string, hint: string) {
    super('MAPPING_INVALID', `${file}: ${message}`, {hint})
  }
}

// Bookkeeping of the tools that applied the manifest, not part of the secret.
const DROPPED_METADATA = [/^kustomize\.toolkit\.fluxcd\.io\//, /^kubectl\.kubernetes\.io\/last-applied-configuration$/, /^(internal\.)?config\.kubernetes\.io\//, /^argocd\.argoproj\.io\//, /^sops/]

function plainString(node: SopsTree | undefined): string | undefined {
  if (isSecretValue(node)) return node.revealString()
  return undefined
}

function isObject(node: SopsTree | undefined): node is {[key: string]: SopsTree} {
  return node !== null && node !== undefined && typeof node === 'object' && !Array.isArray(node) && !isSecretValue(node)
}

function stringMap(node: SopsTree | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  if (!isObject(node)) return out
  for (const [key, value] of Object.entries(node)) {
    if (DROPPED_METADATA.some((pattern) => pattern.test(key))) continue
    const text = plainString(value)
    if (text !== undefined) out[key] = text
  }
  return out
}

/** The JSON text of a nested value, built in memory from the decrypted leaves. */
function toJsonText(node: SopsTree): string {
  const reveal = (value: SopsTree): unknown => {
    if (isSecretValue(value)) return value.revealJson()
    if (value === null) return null
    if (Array.isArray(value)) return value.map(reveal)
    return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, reveal(child)]))
  }
  return JSON.stringify(reveal(node))
}

function leafValue(node: SopsTree): SecretValue {
  if (isSecretValue(node)) return node
  if (node === null) return SecretValue.fromString('')
  return SecretValue.fromString(toJsonText(node))
}

/**
 * Base64 as the API server takes it (line breaks allowed). Whitespace first,
 * then one unambiguous pattern: the old single regex backtracked
 * quadratically on a long decrypted value.
 */
function isBase64(encoded: string): boolean {
  return /^[A-Za-z0-9+/]*={0,2}$/.test(encoded.replace(/\s+/g, ''))
}

function isSecretManifest(document: SopsTree): document is {[key: string]: SopsTree} {
  return isObject(document) && plainString(document.kind) === 'Secret' && plainString(document.apiVersion) === 'v1'
}

function relativeSlash(cwd: string, path: string): string {
  return relative(cwd, path).split(sep).join('/')
}

/** A source's path as the mapping file's rules see it. */
function mappingPath(file: string, options: MappingOptions): string {
  return relativeSlash(options.mapping?.base ?? options.cwd, resolve(options.cwd, file))
}

function namespaceFor(file: string, options: MappingOptions, explicit?: string): string | undefined {
  if (explicit) return explicit
  const rel = mappingPath(file, options)
  const mapped = options.mapping?.files.find((entry) => minimatch(rel, entry.path))
  if (mapped?.namespace) return mapped.namespace
  // The deepest directory rule wins, as a nested kustomization would.
  const directory = options.mapping?.directories
    .filter((entry) => rel === entry.path || rel.startsWith(`${entry.path.replace(/\/+$/, '')}/`) || minimatch(dirname(rel), entry.path))
    .sort((a, b) => b.path.length - a.path.length)[0]
  return directory?.namespace ?? options.namespace
}

function commonLabels(file: string, options: MappingOptions): {labels: Record<string, string>; annotations: Record<string, string>} {
  const rel = relativeSlash(options.cwd, resolve(options.cwd, file))
  return {labels: {[MIGRATED_FROM_LABEL]: labelValueFromPath(rel)}, annotations: {[SOURCE_ANNOTATION]: rel}}
}

function fromManifest(decrypted: DecryptedSops, index: number, document: {[key: string]: SopsTree}, options: MappingOptions, context?: KustomizeContext): PlannedSecret {
  const file = decrypted.path
  const metadata = isObject(document.metadata) ? document.metadata : {}
  const name = plainString(metadata.name)
  if (!name) throw new MappingError(file, `document ${index + 1} is a Secret without metadata.name`, 'Add metadata.name to the manifest.')
  // The kustomization's namespace: is where kustomize (and Flux) puts the Secret, whatever the manifest says.
  const namespace = context?.namespace ?? namespaceFor(file, options, plainString(metadata.namespace))
  if (!namespace) throw new MappingError(file, `Secret ${name} has no metadata.namespace`, 'Pass --namespace, or map the file or its directory to a namespace in the --mapping file.')
  const data = new Map<string, SecretValue>()
  if (isObject(document.data)) {
    for (const [key, value] of Object.entries(document.data)) {
      // A map or list here is no Secret value: taking it as empty would migrate a blank secret without a word.
      if (value !== null && !isSecretValue(value)) {
        throw new MappingError(file, `Secret ${namespace}/${name}: data.${key} is a nested ${Array.isArray(value) ? 'list' : 'map'}, not a base64 string`, 'Values under data: must be base64 strings; put structured text under stringData: as one string, or split it into several keys.')
      }
      const encoded = plainString(value) ?? ''
      if (!isBase64(encoded)) {
        throw new MappingError(file, `Secret ${namespace}/${name}: data.${key} is not base64`, 'Values under data: must be base64; put plain text under stringData:.')
      }
      data.set(key, SecretValue.fromBase64(encoded))
    }
  } else if (document.data !== undefined && document.data !== null) {
    throw new MappingError(file, `Secret ${namespace}/${name}: data is not a map of keys to base64 values`, 'Make data: a map of key: base64 value, or remove it.')
  }
  // stringData wins, as the API server merges it.
  if (isObject(document.stringData)) {
    for (const [key, value] of Object.entries(document.stringData)) data.set(key, leafValue(value))
  }
  const common = commonLabels(file, options)
  return {
    ...(context ? {kustomize: context} : {}),
    source: file,
    document: index,
    origin: 'manifest',
    spec: {
      namespace,
      name,
      type: plainString(document.type) ?? 'Opaque',
      labels: {...stringMap(metadata.labels), ...common.labels},
      annotations: {...stringMap(metadata.annotations), ...common.annotations},
      data,
    },
  }
}

function fromPlainFile(decrypted: DecryptedSops, options: MappingOptions): PlannedSecret {
  const file = decrypted.path
  const rel = mappingPath(file, options)
  const mapped = options.mapping?.files.find((entry) => minimatch(rel, entry.path))
  const name = mapped?.name ?? secretNameFromFile(basename(file))
  const namespace = namespaceFor(file, options)
  if (!namespace) throw new MappingError(file, `no namespace for Secret ${name}`, 'Pass --namespace, or map the file or its directory to a namespace in the --mapping file.')
  const data = new Map<string, SecretValue>()
  const [document] = decrypted.documents
  if (decrypted.format === 'binary') {
    const key = basename(file).replaceAll(/[^-._a-zA-Z0-9]/g, '_')
    if (isObject(document) && isSecretValue(document.data)) data.set(key, document.data)
  } else if (decrypted.format === 'ini') {
    // INI sections become `section.key`: Secret keys are flat, and dots are allowed in them.
    for (const [section, entries] of Object.entries(isObject(document) ? document : {})) {
      if (isObject(entries)) for (const [key, value] of Object.entries(entries)) data.set(`${section}.${key}`, leafValue(value))
      else data.set(section, leafValue(entries))
    }
  } else {
    if (decrypted.documents.length > 1) {
      throw new MappingError(file, `has ${decrypted.documents.length} YAML documents that are not Secret manifests`, 'Split the file, or make each document a Secret manifest (apiVersion: v1, kind: Secret).')
    }
    if (!isObject(document)) throw new MappingError(file, 'is not a map of keys to values', 'A plain SOPS file must hold key: value pairs at its top level.')
    for (const [key, value] of Object.entries(document)) data.set(key, leafValue(value))
  }
  const common = commonLabels(file, options)
  return {source: file, document: 0, origin: 'file', spec: {namespace, name, type: 'Opaque', labels: common.labels, annotations: common.annotations, data}}
}

function validate(planned: PlannedSecret): void {
  const {spec, source} = planned
  const what = `Secret ${spec.namespace}/${spec.name}`
  const nameIssue = nameProblem(spec.name)
  if (nameIssue) throw new MappingError(source, `Secret name "${spec.name}" ${nameIssue}`, 'Rename it with a files: entry in the --mapping file (or in the manifest).')
  const namespaceIssue = namespaceProblem(spec.namespace)
  if (namespaceIssue) throw new MappingError(source, `namespace "${spec.namespace}" ${namespaceIssue}`, 'Fix the namespace in the manifest, --namespace or the --mapping file.')
  if (spec.data.size === 0) throw new MappingError(source, `${what} has no keys`, 'Nothing to migrate: remove the file or add keys.')
  let total = 0
  for (const [key, value] of spec.data) {
    const keyIssue = secretKeyProblem(key)
    if (keyIssue) throw new MappingError(source, `${what}: key "${key}" ${keyIssue}`, 'Rename the key in the source file (Kubernetes Secret keys are [-._a-zA-Z0-9]+).')
    total += value.byteLength + Buffer.byteLength(key)
  }
  if (total > SECRET_MAX_BYTES) {
    throw new MappingError(source, `${what} would hold ${total} bytes, over Kubernetes' 1 MiB Secret limit`, 'Split the file into several Secrets, or keep large material out of Secrets.')
  }
}

/**
 * A SOPS file a kustomize secretGenerator takes (Flux decrypts envs and files
 * there): the Secret is the generator's, under its name WITHOUT kustomize's
 * hash suffix — the name workloads name in Git, which resolves to this Secret
 * once the generator is gone (`migrate finish`).
 */
function fromGenerator(decrypted: DecryptedSops, options: MappingOptions, context: KustomizeContext & {generator: NonNullable<KustomizeContext['generator']>}): PlannedSecret {
  const file = decrypted.path
  const {generator} = context
  const where = `secretGenerator ${generator.name} in ${displayText(context.kustomization)}`
  if (generator.sources > 1) {
    throw new MappingError(file, `${where} takes ${generator.sources} sources (envs, files, literals); only a generator whose single source is this SOPS file becomes one migrated Secret`, 'Split the generator so that each SOPS file has its own, or move the other keys into the SOPS file.')
  }
  const namespace = generator.namespace ?? context.namespace ?? namespaceFor(file, options)
  if (!namespace) throw new MappingError(file, `no namespace for ${where}`, 'Set namespace: in the kustomization or the generator, pass --namespace, or map the directory in the --mapping file.')
  const data = new Map<string, SecretValue>()
  const [document] = decrypted.documents
  if (generator.sourceKind === 'envs') {
    if (decrypted.format !== 'dotenv') throw new MappingError(file, `${where} lists it under envs:, but it is ${decrypted.format}, not a dotenv file`, 'An envs: source is KEY=value lines; encrypt it as dotenv.')
    for (const [key, value] of Object.entries(isObject(document) ? document : {})) data.set(key, leafValue(value))
  } else {
    // Flux puts the whole decrypted file under one key; only a binary-format file is that text byte for byte here.
    if (decrypted.format !== 'binary' || !isObject(document) || !isSecretValue(document.data)) {
      throw new MappingError(file, `${where} lists it under files:, and its ${decrypted.format} content would have to be re-emitted as text byte for byte`, 'Encrypt the file with sops --input-type binary (its content then is the key\'s value), or make it an envs: dotenv file.')
    }
    data.set(generator.fileKey ?? basename(file), document.data)
  }
  const common = commonLabels(file, options)
  return {
    kustomize: context,
    source: file,
    document: 0,
    origin: 'generator',
    spec: {namespace, name: generator.name, type: generator.type ?? 'Opaque', labels: {...generator.labels, ...common.labels}, annotations: {...generator.annotations, ...common.annotations}, data},
  }
}

/** Maps one decrypted SOPS file to the Secrets it becomes (a multi-document file yields several). */
export function mapSopsFile(decrypted: DecryptedSops, options: MappingOptions, context?: KustomizeContext): PlannedSecret[] {
  // The path goes into labels, annotations and the `# Generated … from <path>` comment of manifests
  // committed to Git: a newline there would let a file name add YAML of its own.
  if (hasControlCharacters(decrypted.path)) {
    throw new MappingError(decrypted.path, 'its path holds control characters (shown escaped), which cannot be written into manifests and comments safely', 'Rename the file (or the directories above it) to a name without control characters.')
  }
  const manifests = decrypted.format === 'yaml' || decrypted.format === 'json' ? decrypted.documents.map((document, index) => [document, index] as const).filter(([document]) => isSecretManifest(document)) : []
  let planned: PlannedSecret[]
  if (context?.generator) {
    planned = [fromGenerator(decrypted, options, {...context, generator: context.generator})]
  } else if (manifests.length > 0) {
    if (manifests.length !== decrypted.documents.length) {
      throw new MappingError(decrypted.path, 'mixes Secret manifests with other documents', 'Keep only kind: Secret documents in a file of Secret manifests.')
    }
    planned = manifests.map(([document, index]) => fromManifest(decrypted, index, document as {[key: string]: SopsTree}, options, context))
  } else {
    planned = [{...fromPlainFile(decrypted, options), ...(context ? {kustomize: context} : {})}]
  }
  planned.forEach(validate)
  return planned
}

/** Two sources mapping to one Secret would overwrite each other: refuse before anything is written. */
export function findCollisions(planned: PlannedSecret[]): ToolkitError | undefined {
  const owners = new Map<string, PlannedSecret>()
  for (const item of planned) {
    const id = `${item.spec.namespace}/${item.spec.name}`
    const previous = owners.get(id)
    if (previous) {
      const where = (p: PlannedSecret) => `${displayText(p.source)}${p.origin === 'manifest' ? ` (document ${p.document + 1})` : ''}`
      return new ToolkitError('MAPPING_COLLISION', `Secret ${id} would come from both ${where(previous)} and ${where(item)}`, {
        hint: 'Give one of them another name or namespace in the --mapping file.',
      })
    }
    owners.set(id, item)
  }
  return undefined
}
