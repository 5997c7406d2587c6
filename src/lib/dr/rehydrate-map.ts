// The map `dr rehydrate` rebuilds Secrets by: every PushSecret (and every
// ExternalSecret filled by a generator) in a GitOps directory's manifests —
// multi-document YAML, kustomize directories — or in the cluster.
import {readdir} from 'node:fs/promises'
import {join, relative} from 'node:path'

import {parseAllDocuments} from 'yaml'

import {ToolkitError} from '../errors/errors.js'
import {EXTERNAL_SECRET_API_VERSION, PUSH_SECRET_API_VERSION} from '../eso/api.js'
import {generatedTargetOf, isPushSecret, pushMappingOf, type GeneratedTarget, type PushMapping} from '../eso/push-map.js'
import {openRegularFile, RegularFileProblem} from '../files/regular-file.js'
import type {KubeClient, KubeObject} from '../kube/client.js'
import {displayText} from '../report/display.js'

/** Manifests larger than this are not GitOps manifests of PushSecrets; they are named and skipped. */
const MAX_MANIFEST_BYTES = 8 * 1024 * 1024
const SKIPPED_DIRECTORIES = new Set(['.git', 'node_modules'])

export interface RehydrateMap {
  mappings: PushMapping[]
  generated: GeneratedTarget[]
  /** Files that were not read (unparsable YAML, too large, not regular): path and why, never content. */
  skipped: {path: string; reason: string}[]
  /** Where the map came from: the directory, or the cluster's API address. */
  origin: string
}

interface ManifestFile {
  path: string
  display: string
  /** The namespace kustomize sets for this file's resources (the nearest kustomization.yaml's `namespace:`). */
  namespace?: string
}

async function readText(path: string): Promise<string> {
  const {handle, info} = await openRegularFile(path)
  try {
    if (info.size > MAX_MANIFEST_BYTES) throw new RegularFileProblem('unreadable', `is larger than ${MAX_MANIFEST_BYTES / 1024 / 1024} MiB`)
    return await handle.readFile('utf8')
  } finally {
    await handle.close()
  }
}

/** The `namespace:` of a kustomization file, if it parses and has one (nothing else of it is used). */
async function kustomizeNamespace(path: string): Promise<string | undefined> {
  try {
    const [document] = parseAllDocuments(await readText(path))
    const value = (document?.toJS() as {namespace?: unknown} | undefined)?.namespace
    return typeof value === 'string' && value !== '' ? value : undefined
  } catch {
    return undefined
  }
}

async function listManifests(root: string, dir: string, inherited: string | undefined, out: ManifestFile[], skipped: RehydrateMap['skipped']): Promise<void> {
  const entries = await readdir(dir, {withFileTypes: true})
  const kustomization = entries.find((entry) => entry.isFile() && ['kustomization.yaml', 'kustomization.yml', 'Kustomization'].includes(entry.name))
  const namespace = (kustomization ? await kustomizeNamespace(join(dir, kustomization.name)) : undefined) ?? inherited
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = join(dir, entry.name)
    const display = displayText(relative(root, path) || entry.name)
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRECTORIES.has(entry.name)) await listManifests(root, path, namespace, out, skipped)
    } else if (/\.ya?ml$/i.test(entry.name) && entry !== kustomization) {
      if (entry.isFile()) out.push({path, display, ...(namespace ? {namespace} : {})})
      else skipped.push({path: display, reason: entry.isSymbolicLink() ? 'a symbolic link (not followed)' : 'not a regular file'})
    }
  }
}

/**
 * Reads every PushSecret and generator-filled ExternalSecret of the YAML
 * files under `dir`. A file that does not parse is skipped and named with its
 * line and column — never quoted: GitOps directories hold encrypted Secrets
 * and templates beside the manifests.
 */
export async function readMapFromDirectory(dir: string): Promise<RehydrateMap> {
  const files: ManifestFile[] = []
  const skipped: RehydrateMap['skipped'] = []
  try {
    await listManifests(dir, dir, undefined, files, skipped)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error'
    throw new ToolkitError('SOURCE_INVALID', `--source ${displayText(dir)} cannot be read as a directory (${code})`, {hint: 'Name the directory of the GitOps repository that holds the PushSecret manifests.'})
  }
  const mappings: PushMapping[] = []
  const generated: GeneratedTarget[] = []
  for (const file of files) {
    let text: string
    try {
      text = await readText(file.path)
    } catch (error) {
      skipped.push({path: file.display, reason: error instanceof RegularFileProblem ? error.reason : 'cannot be read'})
      continue
    }
    // Cheap pre-filter: most manifests are not ESO objects.
    if (!/kind:\s*["']?(PushSecret|ExternalSecret)\b/.test(text)) continue
    // Only the position of an error is used, never its message (which quotes the line).
    const documents = parseAllDocuments(text)
    const parsed = Array.isArray(documents) ? documents : [documents]
    const broken = parsed.find((document) => document.errors.length > 0)
    if (broken) {
      const position = broken.errors[0].linePos?.[0]
      skipped.push({path: file.display, reason: `does not parse as YAML${position ? ` (line ${position.line}, column ${position.col})` : ''}`})
      continue
    }
    for (const document of parsed) {
      const object = document.toJS() as KubeObject | null
      if (!object || typeof object !== 'object') continue
      if (isPushSecret(object)) mappings.push(pushMappingOf(object, file.display, file.namespace))
      const target = generatedTargetOf(object, file.namespace)
      if (target) generated.push(target)
    }
  }
  return {mappings, generated, skipped, origin: displayText(dir)}
}

/** The same map from the cluster: every PushSecret and ExternalSecret it holds (or those of one namespace). */
export async function readMapFromCluster(kube: KubeClient, namespace?: string): Promise<RehydrateMap> {
  const pushSecrets = await kube.list(PUSH_SECRET_API_VERSION, 'PushSecret', {namespace})
  const externalSecrets = await kube.list(EXTERNAL_SECRET_API_VERSION, 'ExternalSecret', {namespace})
  return {
    mappings: pushSecrets.map((object) => pushMappingOf(object, 'cluster')),
    generated: externalSecrets.map((object) => generatedTargetOf(object)).filter((target): target is GeneratedTarget => target !== undefined),
    skipped: [],
    origin: kube.server,
  }
}
