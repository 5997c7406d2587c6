import {mkdir, readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {stringify} from 'yaml'

import type {RegionConfig} from '../config/schema.js'
import {ToolkitError} from '../errors/errors.js'
import {buildGeneratedExternalSecret, buildPasswordGenerator, type ExternalSecret, type PasswordGenerator} from '../eso/external-secret.js'
import {buildPushSecret, type PushSecret} from '../eso/push-secret.js'
import {nameProblem} from '../kube/names.js'
import {BOOTSTRAP_LABELS, BOOTSTRAP_PUSH_OPTIONS} from './apply.js'
import {resolveGenerator, secretId, type GenerateKey, type SpecSecret} from './spec.js'

/** `<secret>-<key>`, made a valid object name; the index breaks ties between keys that differ only in case or punctuation. */
export function generatorNames(secret: SpecSecret): Map<string, string> {
  const names = new Map<string, string>()
  const used = new Set<string>()
  for (const key of secret.keys) {
    const base = `${secret.name}-${key.key}`
      .toLowerCase()
      .replaceAll(/[^a-z0-9.-]+/g, '-')
      .replaceAll(/-{2,}/g, '-')
      .slice(0, 240)
      .replace(/[-.]+$/, '')
    let name = base
    for (let index = 2; used.has(name); index++) name = `${base}-${index}`
    if (nameProblem(name)) throw new ToolkitError('SPEC_INVALID', `${secretId(secret)} key ${key.key}: cannot derive a generator name (${name} ${nameProblem(name)})`)
    used.add(name)
    names.set(key.key, name)
  }
  return names
}

/**
 * The objects that make ESO generate a secret in the cluster and push it to
 * every region: one Password generator per key, an ExternalSecret that
 * generates once (refreshPolicy CreatedOnce, creationPolicy Orphan: why in
 * buildGeneratedExternalSecret) into the Secret, and the same PushSecret the
 * wizard creates, recording the Secret's type and labels for `dr rehydrate`.
 * No value is in any of them.
 */
export function clusterGeneratedObjects(secret: SpecSecret, regions: RegionConfig[]): Array<PasswordGenerator | ExternalSecret | PushSecret> {
  const keys = secret.keys.filter((key): key is GenerateKey => key.source === 'generate')
  const names = generatorNames(secret)
  const metadata = (name: string) => ({name, namespace: secret.namespace, labels: {...BOOTSTRAP_LABELS}})
  const generators = keys.map((key) => buildPasswordGenerator(metadata(names.get(key.key)!), resolveGenerator(key.generate)))
  const externalSecret = buildGeneratedExternalSecret(
    metadata(secret.name),
    secret.type,
    keys.map((key) => ({key: key.key, generator: names.get(key.key)!})),
  )
  const pushSecret = buildPushSecret({namespace: secret.namespace, name: secret.name, keys: keys.map((key) => key.key)}, regions, {
    ...BOOTSTRAP_PUSH_OPTIONS,
    // ESO writes the Secret's labels and annotations itself; the type is the one to restore.
    record: {type: secret.type, labels: {}, annotations: {}},
  })
  return [...generators, externalSecret, pushSecret]
}

export function manifestText(secret: SpecSecret, regions: RegionConfig[], specSource: string): string {
  const header = [
    `# ${secretId(secret)}: generated in the cluster by ESO and pushed to ${regions.map((region) => region.name).join(', ')}.`,
    `# Written by \`secrets bootstrap --output-dir\` from ${specSource}. No values: commit it to Git.`,
    // ESO generates once (refreshPolicy CreatedOnce); force-sync does nothing, and a lost cluster gets the old value back.
    `# Generated once (refreshPolicy: CreatedOnce). After a cluster loss: secrets dr rehydrate (docs/runbooks/cluster-rebuild.md).`,
  ]
  return `${header.join('\n')}\n${clusterGeneratedObjects(secret, regions).map((object) => `---\n${stringify(object, {lineWidth: 0})}`).join('')}`
}

export interface WrittenManifest {
  id: string
  path: string
  status: 'written' | 'unchanged'
}

/** One file per secret, `<dir>/<namespace>-<name>.yaml`; rewriting an identical file is reported as unchanged. */
export async function writeClusterManifests(directory: string, secrets: SpecSecret[], regions: RegionConfig[], specSource: string): Promise<WrittenManifest[]> {
  const clusterSecrets = secrets.filter((secret) => secret.generatedInCluster)
  if (clusterSecrets.length === 0) {
    throw new ToolkitError('NOTHING_TO_WRITE', 'the bootstrap spec has no secret with generatedInCluster: true, so --output-dir has nothing to write', {
      hint: 'Mark the secrets ESO should generate with generatedInCluster: true (all their keys source: generate), or run without --output-dir.',
    })
  }
  await mkdir(directory, {recursive: true})
  const written: WrittenManifest[] = []
  for (const secret of clusterSecrets) {
    const path = join(directory, `${secret.namespace}-${secret.name}.yaml`)
    const text = manifestText(secret, regions, specSource)
    const before = await readFile(path, 'utf8').catch(() => undefined)
    if (before === text) {
      written.push({id: secretId(secret), path, status: 'unchanged'})
      continue
    }
    await writeFile(path, text)
    written.push({id: secretId(secret), path, status: 'written'})
  }
  return written
}
