import {existsSync} from 'node:fs'
import {readdir, readFile} from 'node:fs/promises'
import {basename, dirname, join, relative, resolve, sep} from 'node:path'

import {parse as parseYaml} from 'yaml'

import {applyYamlEdits, type YamlEdit} from '../gitops/kustomize-edit.js'
import {fluxKustomizationsIn, kustomizationFileIn, KustomizeIndex, readKustomization, secretReferencesIn, type Kustomization} from '../gitops/kustomize.js'
import {displayText} from '../report/display.js'
import {discoverSopsFiles} from './discover.js'
import {pushSecretManifestText} from './apply.js'
import type {MigrationPlan, PlannedMigration} from './plan.js'

/**
 * The Git side of the hand-off, planned without touching anything: which
 * files go (the migrated SOPS files, the .sops.yaml files nothing matches any
 * more), which come (the PushSecret manifests), and which kustomization.yaml
 * and Flux Kustomization files change (their references to the SOPS files, the
 * new manifests, `spec.decryption`). Names only: no value, no ciphertext.
 */

export type ChangeAction = 'delete' | 'create' | 'modify'

export interface FinishChange {
  /** Relative to the repository root, with forward slashes. */
  path: string
  action: ChangeAction
  /** Why, in a few words per reason. */
  why: string[]
  /** Text before and after (kustomizations and manifests only; never for a deleted SOPS file). */
  before?: string
  after?: string
  /** The `yaml` library re-serialised the file (an unusual layout): comments kept, formatting may differ. */
  reformatted?: boolean
}

export interface GeneratorHandOff {
  generator: string
  kustomization: string
  /** namespace/name of the migrated Secret: the generator's name without kustomize's hash suffix. */
  secret: string
  hashSuffix: boolean
  /** Workloads whose reference resolves to the migrated Secret once the generator is gone. */
  workloads: string[]
}

export interface DecryptionRetirement {
  /** namespace/name of the Flux Kustomization. */
  kustomization: string
  file: string
  /** namespace/name of the Secret holding the decryption key, to delete after the next reconcile. */
  keySecret?: string
}

export interface FinishPlan {
  root: string
  changes: FinishChange[]
  generators: GeneratorHandOff[]
  decryption: DecryptionRetirement[]
  /** Flux Kustomizations that keep decrypting: SOPS files remain under their path. */
  decryptionKept: {kustomization: string; remaining: string[]}[]
  sopsConfigsKept: {path: string; reason: string}[]
}

const slash = (path: string) => path.split(sep).join('/')

/** Manifests larger than this are not read for workloads and Flux Kustomizations (generated bundles, CRDs). */
const MAX_MANIFEST_BYTES = 1024 * 1024

async function yamlFilesUnder(dir: string): Promise<string[]> {
  const found: string[] = []
  const walk = async (directory: string): Promise<void> => {
    const entries = await readdir(directory, {withFileTypes: true}).catch(() => [])
    for (const entry of entries) {
      if (entry.name === '.git' || entry.name === 'node_modules') continue
      if (entry.isSymbolicLink()) continue
      const path = join(directory, entry.name)
      if (entry.isDirectory()) await walk(path)
      else if (entry.isFile() && /\.ya?ml$/i.test(entry.name)) found.push(path)
    }
  }
  await walk(dir)
  return found.sort()
}

/** Edits collected per file, applied in an order that keeps list indexes valid (highest index first). */
class EditBook {
  readonly edits = new Map<string, {edits: YamlEdit[]; why: string[]}>()

  add(file: string, edit: YamlEdit, why: string): void {
    const entry = this.edits.get(file) ?? {edits: [], why: []}
    if (!entry.edits.some((existing) => JSON.stringify(existing) === JSON.stringify(edit))) entry.edits.push(edit)
    if (!entry.why.includes(why)) entry.why.push(why)
    this.edits.set(file, entry)
  }
}

function ordered(edits: YamlEdit[]): YamlEdit[] {
  const removals = edits.filter((edit) => edit.op === 'remove-item').sort((a, b) => (a.op === 'remove-item' && b.op === 'remove-item' ? b.index - a.index : 0))
  // Appends first: they add at the end, so the removals' indexes stay valid, and a list that loses its last source entry
  // while gaining a manifest keeps its layout.
  return [...edits.filter((edit) => edit.op === 'append-item'), ...removals, ...edits.filter((edit) => edit.op === 'remove-key')]
}

/** Lists emptied by the removals go too: an empty secretGenerator or resources list says nothing. */
function emptiedLists(text: string): YamlEdit[] {
  let data: unknown
  try {
    data = parseYaml(text)
  } catch {
    return []
  }
  if (!data || typeof data !== 'object') return []
  return ['resources', 'secretGenerator', 'generators'].filter((key) => Array.isArray((data as Record<string, unknown>)[key]) && ((data as Record<string, unknown[]>)[key]).length === 0).map((key) => ({op: 'remove-key', document: 0, path: [key]}))
}

function indexOfEntry(kustomization: Kustomization, list: 'resources' | 'generators', file: string): number {
  return kustomization[list].findIndex((entry) => resolve(kustomization.dir, entry) === file)
}

/** `.sops.yaml` creation rules: a rule without path_regex matches every file. */
function creationRules(text: string): {pathRegex?: string}[] {
  try {
    const data = parseYaml(text) as {creation_rules?: {path_regex?: unknown}[]} | null
    return (data?.creation_rules ?? []).map((rule) => ({pathRegex: typeof rule?.path_regex === 'string' ? rule.path_regex : undefined}))
  } catch {
    return [{}]
  }
}

export interface FinishPlanOptions {
  /** The tree the migration covered (DIR). */
  dir: string
  /** The Git repository's top directory. */
  root: string
  cwd: string
}

/** Plans every edit of the hand-off; reads files, writes nothing. */
export async function planFinish(plan: MigrationPlan, options: FinishPlanOptions): Promise<FinishPlan> {
  const {root, cwd} = options
  const dir = resolve(cwd, options.dir)
  const rel = (path: string) => slash(relative(root, path))
  const index = new KustomizeIndex(root)
  const book = new EditBook()
  const changes: FinishChange[] = []
  const created = new Map<string, string>()
  const generators: GeneratorHandOff[] = []
  const sources = new Map<string, PlannedMigration[]>()
  for (const migration of plan.migrations) {
    const source = resolve(cwd, migration.planned.source)
    sources.set(source, [...(sources.get(source) ?? []), migration])
  }
  const deleted = new Set(sources.keys())

  for (const [source, migrations] of sources) {
    changes.push({path: rel(source), action: 'delete', why: [`migrated to ${migrations.map((m) => `Secret ${m.planned.spec.namespace}/${m.planned.spec.name}`).join(', ')}`]})
    const references = await index.referencesTo(source)
    for (const reference of references) {
      const {kustomization} = reference
      const why = `drop ${displayText(slash(relative(kustomization.dir, source)))} (migrated)`
      if (reference.via === 'resources') book.add(kustomization.path, {op: 'remove-item', document: 0, path: ['resources'], index: indexOfEntry(kustomization, 'resources', source)}, why)
      else if (reference.via === 'generators') book.add(kustomization.path, {op: 'remove-item', document: 0, path: ['generators'], index: indexOfEntry(kustomization, 'generators', source)}, why)
      else if (reference.generator) book.add(kustomization.path, {op: 'remove-item', document: 0, path: ['secretGenerator'], index: reference.generator.index}, `drop secretGenerator ${reference.generator.name} (migrated)`)
    }
    // The manifests go where kustomize will read them: beside the kustomization that listed the source,
    // else the nearest one above it, else beside the source (Flux then generates a kustomization of the directory).
    let home: Kustomization | undefined = references[0]?.kustomization
    for (let directory = dirname(source); !home && directory.startsWith(dir); directory = dirname(directory)) {
      const file = kustomizationFileIn(directory)
      if (file) home = await readKustomization(file)
      if (dirname(directory) === directory) break
    }
    for (const migration of migrations) {
      const {namespace, name} = migration.planned.spec
      const directory = home?.dir ?? dirname(source)
      let file = join(directory, `${name}.pushsecret.yaml`)
      if ((existsSync(file) && !deleted.has(file)) || created.has(file)) file = join(directory, `${namespace}-${name}.pushsecret.yaml`)
      const text = pushSecretManifestText(migration)
      created.set(file, text)
      changes.push({path: rel(file), action: 'create', why: [`PushSecret ${namespace}/${name}`], before: '', after: text})
      if (home) book.add(home.path, {op: 'append-item', document: 0, path: ['resources'], value: slash(relative(home.dir, file))}, `list ${basename(file)}`)
      const context = migration.planned.kustomize
      if (migration.planned.origin === 'generator' && context?.generator) {
        generators.push({generator: context.generator.name, kustomization: displayText(context.kustomization), secret: `${namespace}/${name}`, hashSuffix: context.generator.hashSuffix, workloads: []})
      }
    }
  }

  // Workloads and Flux Kustomizations anywhere in the repository (a base or the flux-system directory may sit outside DIR).
  const yamlFiles = (await yamlFilesUnder(root)).filter((file) => !deleted.has(file))
  const texts = new Map<string, string>()
  for (const file of yamlFiles) {
    const text = await readFile(file).catch(() => Buffer.alloc(0))
    if (text.length <= MAX_MANIFEST_BYTES) texts.set(file, text.toString('utf8'))
  }
  // Workloads that name a generator's Secret: kustomize rewrote the name to the hashed one; without the generator, it is the migrated Secret's.
  for (const handOff of generators) {
    const [namespace, name] = handOff.secret.split('/')
    for (const [file, text] of texts) {
      const home = kustomizationFileIn(dirname(file))
      const defaultNamespace = home ? (await readKustomization(home))?.namespace : undefined
      for (const reference of secretReferencesIn(text)) {
        if (reference.secret !== name || (reference.namespace ?? defaultNamespace ?? namespace) !== namespace) continue
        const workload = `${reference.kind} ${namespace}/${reference.name} (${reference.how}, ${displayText(rel(file))})`
        if (!handOff.workloads.includes(workload)) handOff.workloads.push(workload)
      }
    }
  }

  // Flux Kustomizations that decrypted migrated files: is any SOPS file left under their path once these are gone?
  // spec.path is relative to the source's root: the repository's, or DIR when the GitOps tree is a subdirectory.
  const decryption: DecryptionRetirement[] = []
  const decryptionKept: FinishPlan['decryptionKept'] = []
  for (const [file, text] of texts) {
    for (const flux of fluxKustomizationsIn(file, text)) {
      if (!flux.decryption) continue
      const base = [root, dir].map((candidate) => resolve(candidate, flux.path)).find((candidate) => existsSync(candidate))
      if (!base || ![...deleted].some((source) => source.startsWith(`${base}${sep}`) || source === base)) continue
      const id = `${flux.namespace}/${flux.name}`
      const remaining = (await discoverSopsFiles([base], {cwd: root})).sopsFiles.map((found) => found.path).filter((path) => !deleted.has(path))
      if (remaining.length > 0) {
        decryptionKept.push({kustomization: id, remaining: remaining.map(rel)})
        continue
      }
      book.add(file, {op: 'remove-key', document: flux.document, path: ['spec', 'decryption']}, `Flux Kustomization ${id} decrypts nothing any more: drop spec.decryption`)
      decryption.push({kustomization: id, file: rel(file), ...(flux.decryption.secretName ? {keySecret: `${flux.namespace}/${flux.decryption.secretName}`} : {})})
    }
  }

  // .sops.yaml files: kept while a SOPS file that stays is under them (nearest one) and matches one of their rules.
  const sopsConfigsKept: FinishPlan['sopsConfigsKept'] = []
  // The ones in DIR and those above it (up to the repository root) that governed the migrated files.
  const above: string[] = []
  for (let directory = dirname(dir); directory.startsWith(root) && directory !== dir; directory = dirname(directory)) {
    for (const name of ['.sops.yaml', '.sops.yml']) if (existsSync(join(directory, name))) above.push(join(directory, name))
    if (directory === root || dirname(directory) === directory) break
  }
  const configs = [...plan.discovery.configFiles.map((path) => resolve(cwd, path)).filter((path) => path.startsWith(dir)), ...above]
  for (const config of configs) {
    const base = dirname(config)
    const rules = creationRules(await readFile(config, 'utf8').catch(() => ''))
    const remaining = (await discoverSopsFiles([base], {cwd: root})).sopsFiles
      .map((found) => found.path)
      .filter((path) => !deleted.has(path))
      .filter((path) => !configs.some((other) => other !== config && other.length > config.length && path.startsWith(dirname(other) + sep)))
    const match = remaining.find((path) => rules.some((rule) => rule.pathRegex === undefined || safeRegExp(rule.pathRegex)?.test(slash(relative(base, path))) !== false))
    if (match) sopsConfigsKept.push({path: rel(config), reason: `a creation rule still matches ${displayText(rel(match))}, which stays encrypted`})
    else changes.push({path: rel(config), action: 'delete', why: ['SOPS configuration no remaining file matches']})
  }

  for (const [file, {edits, why}] of book.edits) {
    const before = await readFile(file, 'utf8')
    let result = applyYamlEdits(before, ordered(edits))
    const emptied = emptiedLists(result.text)
    if (emptied.length > 0) {
      const again = applyYamlEdits(result.text, emptied)
      result = {text: again.text, reformatted: result.reformatted || again.reformatted}
    }
    changes.push({path: rel(file), action: 'modify', why, before, after: result.text, ...(result.reformatted ? {reformatted: true} : {})})
  }
  changes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  return {root, changes, generators, decryption, decryptionKept, sopsConfigsKept}
}

/** A creation rule's path_regex (Go RE2 syntax; the common subset is JavaScript's too); undefined when JavaScript cannot read it (then it counts as matching: keep the file). */
function safeRegExp(pattern: string): RegExp | undefined {
  try {
    return new RegExp(pattern)
  } catch {
    return undefined
  }
}
