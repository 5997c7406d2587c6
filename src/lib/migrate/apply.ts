import {mkdir, rename, writeFile} from 'node:fs/promises'
import {dirname, join} from 'node:path'

import pLimit from 'p-limit'
import {stringify} from 'yaml'

import {isToolkitError, ToolkitError} from '../errors/errors.js'
import {CLUSTER_SECRET_STORE_API_VERSION, PUSH_SECRET_API_VERSION, PUSH_SECRET_CRD} from '../eso/api.js'
import {applySecretAndPushSecret} from '../eso/apply.js'
import {ESO_MANAGED_BY, MANAGED_BY_LABEL} from '../eso/push-secret.js'
import {readyCondition} from '../eso/status.js'
import type {KubeClient, KubeObject, ObservedSecret, SecretSpec} from '../kube/client.js'
import {describeOwner, fluxInventoriesOf, ownersOf, protectionAnnotations, type FluxInventory, type SecretOwner} from '../gitops/ownership.js'
import type {RegionVault} from '../vault/connect.js'
import type {MigrationPlan, PlannedMigration} from './plan.js'

export type ObjectAction = 'create' | 'update' | 'unchanged'

export interface PreparedMigration extends PlannedMigration {
  secretAction: ObjectAction
  pushSecretAction: ObjectAction
  /** The GitOps tools that apply the existing Secret (Flux, Argo CD, Helm): its spec carries their prune protection. */
  owners: SecretOwner[]
}

/** The API version of Flux's Kustomization whose status.inventory lists what it applied. */
export const FLUX_KUSTOMIZATION_API_VERSION = 'kustomize.toolkit.fluxcd.io/v1'

/**
 * Every Flux Kustomization's inventory; none when Flux is not installed (its
 * kind is unknown to the API server), or when this identity may not list them:
 * the labels Flux puts on what it applies still name the owner then.
 */
export async function readFluxInventories(kube: KubeClient): Promise<FluxInventory[]> {
  try {
    if (!(await kube.crdInstalled('kustomizations.kustomize.toolkit.fluxcd.io'))) return []
    return fluxInventoriesOf(await kube.list(FLUX_KUSTOMIZATION_API_VERSION, 'Kustomization'))
  } catch (error) {
    if (isToolkitError(error) && error.code === 'KUBE_FORBIDDEN') return []
    throw error
  }
}

export interface Preflight {
  prepared: PreparedMigration[]
  missingNamespaces: string[]
}

function sameSecret(observed: ObservedSecret, wanted: SecretSpec): boolean {
  if (observed.type !== wanted.type || observed.data.size !== wanted.data.size) return false
  for (const [key, value] of wanted.data) {
    const current = observed.data.get(key)
    if (!current || !current.equals(value)) return false
  }
  return true
}

/** Whether `observed` holds everything `wanted` says: the API server adds defaults, which are not differences. */
export function includesDeep(observed: unknown, wanted: unknown): boolean {
  if (Array.isArray(wanted)) {
    return Array.isArray(observed) && observed.length === wanted.length && wanted.every((item, index) => includesDeep(observed[index], item))
  }
  if (wanted !== null && typeof wanted === 'object') {
    if (observed === null || typeof observed !== 'object' || Array.isArray(observed)) return false
    return Object.entries(wanted).every(([key, value]) => includesDeep((observed as Record<string, unknown>)[key], value))
  }
  return observed === wanted
}

function labelsIncluded(observed: Record<string, string>, wanted: Record<string, string>): boolean {
  return Object.entries(wanted).every(([key, value]) => observed[key] === value)
}

/**
 * Everything that must hold before the first write, checked against the real
 * systems and reported all at once: the PushSecret CRD and every region's
 * ClusterSecretStore exist, namespaces exist (or may be created), existing
 * Secrets match or may be overwritten, and in every Vault each target path is
 * absent or already ESO's (ESO refuses to overwrite other secrets).
 */
export async function preflightMigration(
  plan: MigrationPlan,
  systems: {kube: KubeClient; vaults: RegionVault[]},
  options: {overwrite: boolean; createNamespaces: boolean; concurrency: number},
): Promise<Preflight> {
  const {kube, vaults} = systems
  const problems: string[] = []
  if (!(await kube.crdInstalled(PUSH_SECRET_CRD))) {
    throw new ToolkitError('CRD_MISSING', `the PushSecret CRD (${PUSH_SECRET_CRD}) is not installed in ${kube.server}`, {hint: 'Install External Secrets Operator, then re-run.'})
  }
  for (const vault of vaults) {
    const store = await kube.read(CLUSTER_SECRET_STORE_API_VERSION, 'ClusterSecretStore', vault.region.clusterSecretStore)
    if (!store) problems.push(`ClusterSecretStore ${vault.region.clusterSecretStore} (region ${vault.region.name}) does not exist`)
    else if (readyCondition(store)?.status === 'False') problems.push(`ClusterSecretStore ${vault.region.clusterSecretStore} (region ${vault.region.name}) is not Ready: ${readyCondition(store)?.message ?? 'no reason given'}`)
    await vault.store.ready()
  }
  const namespaces = [...new Set(plan.migrations.map((m) => m.planned.spec.namespace))].sort()
  const missingNamespaces: string[] = []
  for (const namespace of namespaces) if (!(await kube.namespaceExists(namespace))) missingNamespaces.push(namespace)
  if (missingNamespaces.length > 0 && !options.createNamespaces) {
    problems.push(`namespace(s) ${missingNamespaces.join(', ')} do not exist (re-run with --create-namespaces, or create them through GitOps first)`)
  }

  // One LIST per namespace (not one GET per object): a thousand Secrets cost two requests.
  const observedSecrets = new Map<string, ObservedSecret>()
  const observedPushSecrets = new Map<string, KubeObject>()
  for (const namespace of namespaces.filter((candidate) => !missingNamespaces.includes(candidate))) {
    for (const secret of await kube.listSecrets(namespace)) observedSecrets.set(`${namespace}/${secret.name}`, secret)
    for (const object of await kube.list(PUSH_SECRET_API_VERSION, 'PushSecret', {namespace})) observedPushSecrets.set(`${namespace}/${object.metadata?.name}`, object)
  }
  const foreignPaths = await findForeignVaultPaths(plan, vaults, options.concurrency)
  problems.push(...foreignPaths)
  const fluxInventories = observedSecrets.size > 0 ? await readFluxInventories(kube) : []

  const prepared = plan.migrations.map((migration): PreparedMigration => {
    const {spec} = migration.planned
    const id = `${spec.namespace}/${spec.name}`
    let secretAction: ObjectAction = 'create'
    let pushSecretAction: ObjectAction = 'create'
    const observed = observedSecrets.get(id)
    // A Secret a GitOps tool applies is deleted by it once its source leaves Git, unless it carries that tool's
    // prune protection: the migration writes it (and who applied it before) with the Secret.
    const owners = observed ? ownersOf(observed, {fluxInventories}) : []
    const protection = observed ? protectionAnnotations(owners, observed.annotations) : {}
    const planned = owners.length > 0 ? {...migration.planned, spec: {...spec, annotations: {...spec.annotations, ...protection}}} : migration.planned
    if (observed) {
      if (sameSecret(observed, spec)) secretAction = labelsIncluded(observed.labels, spec.labels) && labelsIncluded(observed.annotations, protection) ? 'unchanged' : 'update'
      else if (options.overwrite) secretAction = 'update'
      else problems.push(`Secret ${id} already exists with different content (from ${migration.planned.source}${owners.length > 0 ? `; owned by ${owners.map(describeOwner).join(', ')}` : ''}); re-run with --overwrite to replace it`)
    }
    const pushSecret = observedPushSecrets.get(id)
    if (pushSecret) {
      const wanted = migration.pushSecret
      pushSecretAction = includesDeep(pushSecret.spec, wanted.spec) && labelsIncluded(pushSecret.metadata?.labels ?? {}, wanted.metadata.labels) ? 'unchanged' : 'update'
    }
    return {...migration, planned, secretAction, pushSecretAction, owners}
  })
  if (problems.length > 0) {
    throw new ToolkitError('PREFLIGHT_FAILED', `pre-flight found ${problems.length} problem(s); nothing was written:\n  ${problems.join('\n  ')}`, {
      hint: 'Fix them and re-run; `--dry-run` shows the plan without contacting any system.',
    })
  }
  return {prepared, missingNamespaces}
}

/**
 * Vault paths the migration would push to that already hold a secret ESO does
 * not manage (ESO refuses to overwrite those). Lists each parent folder once
 * and reads metadata only for the paths that exist.
 */
async function findForeignVaultPaths(plan: MigrationPlan, vaults: RegionVault[], concurrency: number): Promise<string[]> {
  const problems: string[] = []
  const limit = pLimit(concurrency)
  for (const vault of vaults) {
    const wanted = [...new Set(plan.migrations.flatMap((m) => m.remotes.filter((r) => r.region === vault.region.name).map((r) => r.remoteKey)))]
    const folders = [...new Set(wanted.map((key) => key.slice(0, key.lastIndexOf('/') + 1)))]
    const existing = new Set<string>()
    for (const folder of folders) for await (const key of vault.store.list(folder)) existing.add(key)
    const present = wanted.filter((key) => existing.has(key)).sort()
    const owners = await Promise.all(present.map((key) => limit(async () => (await vault.store.readMetadata(key))?.customMetadata[ESO_MANAGED_BY.key])))
    present.forEach((key, index) => {
      if (owners[index] !== ESO_MANAGED_BY.value) {
        problems.push(`region ${vault.region.name}: ${vault.region.vault.mount}/${key} exists and is not managed by External Secrets (ESO will refuse to overwrite it); move it away or choose another --remote-key-template`)
      }
    })
  }
  return problems
}

/** One PushSecret manifest as committed to Git (never a Secret value): what --output-dir and `migrate finish` write. */
export function pushSecretManifestText(migration: PlannedMigration): string {
  // A line break in a file name must not end the comment and start YAML.
  const source = migration.planned.source.replaceAll(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/gu, (control) => `\\u${control.codePointAt(0)!.toString(16).padStart(4, '0')}`)
  return `# Generated by secrets-toolkit from ${source}. Holds no secret value.\n${stringify(migration.pushSecret)}`
}

/** Writes the PushSecret manifests (never Secret values) for the GitOps repository, atomically per file. */
export async function writePushSecretManifests(plan: MigrationPlan, outputDir: string): Promise<string[]> {
  const written: string[] = []
  for (const migration of plan.migrations) {
    const {namespace, name} = migration.planned.spec
    const file = join(outputDir, namespace, `${name}.pushsecret.yaml`)
    await mkdir(dirname(file), {recursive: true})
    await writeFile(`${file}.tmp`, pushSecretManifestText(migration))
    await rename(`${file}.tmp`, file)
    written.push(file)
  }
  return written
}

export interface ApplyResult {
  secrets: Record<ObjectAction, number>
  pushSecrets: Record<ObjectAction, number>
  namespacesCreated: string[]
}

/**
 * What a run has written so far, kept as it goes: when it stops half way the
 * operator is told what exists (and what would keep a Secret from reaching
 * Vault), not "nothing was written". Names and counts only.
 */
export interface WrittenSoFar {
  namespacesCreated: string[]
  /** ConfigMaps (namespace/name) recording the run. */
  runRecords: string[]
  manifests: string[]
  secrets: {create: number; update: number}
  pushSecrets: {create: number; update: number}
  /** Secrets that exist now but whose PushSecret does not: nothing pushes them to Vault yet. */
  secretsWithoutPushSecret: string[]
  /** Objects whose write failed: the server may have applied it and lost the answer. */
  uncertain: string[]
  /** Secrets and PushSecrets the run had not written (nor attempted, see `uncertain`) when it stopped. */
  notWritten: {secrets: number; pushSecrets: number}
}

export function emptyWritten(): WrittenSoFar {
  return {
    namespacesCreated: [],
    runRecords: [],
    manifests: [],
    secrets: {create: 0, update: 0},
    pushSecrets: {create: 0, update: 0},
    secretsWithoutPushSecret: [],
    uncertain: [],
    notWritten: {secrets: 0, pushSecrets: 0},
  }
}

export function writeCount(written: WrittenSoFar): number {
  return (
    written.namespacesCreated.length +
    written.runRecords.length +
    written.manifests.length +
    written.secrets.create +
    written.secrets.update +
    written.pushSecrets.create +
    written.pushSecrets.update
  )
}

/** Creates the namespaces pre-flight found missing (before the run record, which lives in them). */
export async function createMissingNamespaces(preflight: Preflight, kube: KubeClient, written: WrittenSoFar): Promise<void> {
  for (const namespace of preflight.missingNamespaces) {
    await kube.apply({apiVersion: 'v1', kind: 'Namespace', metadata: {name: namespace, labels: {[MANAGED_BY_LABEL]: 'secrets-toolkit'}}})
    written.namespacesCreated.push(namespace)
  }
}

/** Server-side applies the run record ConfigMaps (names and counts only). */
export async function writeRunRecords(objects: KubeObject[], kube: KubeClient, written?: WrittenSoFar): Promise<string[]> {
  const names: string[] = []
  for (const object of objects) {
    await kube.apply(object, {force: true})
    const name = `${object.metadata?.namespace}/${object.metadata?.name}`
    names.push(name)
    if (written && !written.runRecords.includes(name)) written.runRecords.push(name)
  }
  return names
}

/**
 * Server-side applies what pre-flight found missing or different; unchanged
 * objects are not touched. On the first failure no new Secret is started,
 * the writes in flight are let finish, and the error says what was written
 * (in `written`, which the caller turns into the report).
 */
export async function applyMigration(
  preflight: Preflight,
  kube: KubeClient,
  options: {overwrite: boolean; concurrency: number; onProgress?: (done: number, total: number) => void; written?: WrittenSoFar},
): Promise<ApplyResult> {
  const written = options.written ?? emptyWritten()
  const result: ApplyResult = {secrets: {create: 0, update: 0, unchanged: 0}, pushSecrets: {create: 0, update: 0, unchanged: 0}, namespacesCreated: [...written.namespacesCreated]}
  const limit = pLimit(options.concurrency)
  let done = 0
  let firstError: unknown
  // What each Secret still lacks; what is left when the run stops is the report.
  const pendingSecret = new Set<string>()
  const pendingPushSecret = new Set<string>()
  const pushSecretMissing = new Set<string>()
  for (const item of preflight.prepared) {
    const id = `${item.planned.spec.namespace}/${item.planned.spec.name}`
    if (item.secretAction !== 'unchanged') pendingSecret.add(id)
    // A written Secret is followed by a PushSecret write (the push request), changed or not.
    if (item.pushSecretAction !== 'unchanged' || item.secretAction !== 'unchanged') pendingPushSecret.add(id)
    if (item.pushSecretAction === 'create') pushSecretMissing.add(id)
  }
  const settled = await Promise.allSettled(
    preflight.prepared.map((item) =>
      limit(async () => {
        if (firstError !== undefined) return
        const id = `${item.planned.spec.namespace}/${item.planned.spec.name}`
        try {
          // The ordering (Secret, then PushSecret with the push request) and why: eso/apply.ts.
          await applySecretAndPushSecret(
            kube,
            {
              // A GitOps-owned Secret with the same values: take over its fields (server-side apply, forced), so the
              // toolkit co-owns everything it holds once the tool stops applying it.
              secret: item.secretAction === 'unchanged' ? undefined : {spec: item.planned.spec, force: options.overwrite || item.owners.length > 0},
              pushSecret: item.pushSecret,
              pushSecretChanged: item.pushSecretAction !== 'unchanged',
            },
            {
              // The toolkit owns the PushSecrets it plans: pre-flight compared them already.
              forcePushSecret: true,
              onFailed: (kind) => written.uncertain.push(`${kind} ${id}`),
              onWritten: (kind) => {
                if (kind === 'Secret') {
                  if (item.secretAction !== 'unchanged') written.secrets[item.secretAction] += 1
                  pendingSecret.delete(id)
                  return
                }
                if (item.pushSecretAction !== 'unchanged') written.pushSecrets[item.pushSecretAction] += 1
                pendingPushSecret.delete(id)
                pushSecretMissing.delete(id)
              },
            },
          )
        } catch (error) {
          firstError ??= error
          throw error
        }
        result.secrets[item.secretAction] += 1
        result.pushSecrets[item.pushSecretAction] += 1
        done += 1
        options.onProgress?.(done, preflight.prepared.length)
      }),
    ),
  )
  if (firstError === undefined) {
    const unexpected = settled.find((outcome) => outcome.status === 'rejected')
    if (unexpected) throw (unexpected as PromiseRejectedResult).reason
    return result
  }
  // A Secret in place (written now, or already there) whose PushSecret is not: ESO pushes nothing for it.
  written.secretsWithoutPushSecret = [...pushSecretMissing].filter((id) => !pendingSecret.has(id)).sort()
  // A failed write is uncertain (the server may have applied it), not "not written".
  const uncertainOf = (kind: string) => written.uncertain.filter((entry) => entry.startsWith(`${kind} `)).length
  written.notWritten = {secrets: pendingSecret.size - uncertainOf('Secret'), pushSecrets: pendingPushSecret.size - uncertainOf('PushSecret')}
  written.uncertain.sort()
  throw firstError
}
