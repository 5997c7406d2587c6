/**
 * Who applies a Secret that already exists, read from the marks each GitOps
 * tool leaves on what it applies, and what keeps that tool from deleting the
 * Secret once its source is gone from Git.
 *
 * - Flux's kustomize-controller labels what it applies
 *   `kustomize.toolkit.fluxcd.io/name` / `…/namespace` (the Kustomization), and
 *   lists it in the Kustomization's `status.inventory` (ids
 *   `<namespace>_<name>_<group>_<kind>`). With `prune: true` it deletes what
 *   leaves the inventory, unless the object in the cluster carries
 *   `kustomize.toolkit.fluxcd.io/prune: disabled`.
 * - Argo CD tracks by the `argocd.argoproj.io/tracking-id` annotation
 *   (`<app>:<group>/<kind>:<namespace>/<name>`; the default since Argo CD 3)
 *   or by the `app.kubernetes.io/instance` label (label tracking). A resource
 *   with `argocd.argoproj.io/sync-options: Prune=false` is never pruned.
 * - Helm annotates `meta.helm.sh/release-name` / `…-namespace`; an upgrade
 *   that drops the object deletes it unless `helm.sh/resource-policy: keep`.
 *
 * Pure functions on metadata: the caller reads the objects.
 */

export type OwnerTool = 'flux' | 'argocd' | 'helm'

export interface SecretOwner {
  tool: OwnerTool
  /** Flux Kustomization, Argo CD Application, Helm release. */
  kind: string
  namespace?: string
  name: string
  /** Which mark says so (label, annotation or inventory). */
  evidence: string
}

export interface SecretMetadata {
  namespace: string
  name: string
  labels: Record<string, string>
  annotations: Record<string, string>
}

export const FLUX_NAME_LABEL = 'kustomize.toolkit.fluxcd.io/name'
export const FLUX_NAMESPACE_LABEL = 'kustomize.toolkit.fluxcd.io/namespace'
export const FLUX_PRUNE_ANNOTATION = 'kustomize.toolkit.fluxcd.io/prune'
export const FLUX_PRUNE_DISABLED = 'disabled'
export const ARGO_TRACKING_ANNOTATION = 'argocd.argoproj.io/tracking-id'
export const ARGO_INSTANCE_LABEL = 'app.kubernetes.io/instance'
export const ARGO_SYNC_OPTIONS_ANNOTATION = 'argocd.argoproj.io/sync-options'
export const HELM_RELEASE_NAME_ANNOTATION = 'meta.helm.sh/release-name'
export const HELM_RELEASE_NAMESPACE_ANNOTATION = 'meta.helm.sh/release-namespace'
export const HELM_MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by'
export const HELM_RESOURCE_POLICY_ANNOTATION = 'helm.sh/resource-policy'
/** Who applied the Secret before the migration took it over (names only), e.g. `flux-kustomization:flux-system/apps`. */
export const PREVIOUS_OWNER_ANNOTATION = 'secrets-toolkit.io/previous-owner'

/** Argo CD's resource tracking method (`application.resourceTrackingMethod` in argocd-cm). */
export type ArgoTrackingMethod = 'annotation' | 'label' | 'annotation+label' | 'auto'

/** A Flux Kustomization's inventory, as read from the cluster (`status.inventory.entries[].id`). */
export interface FluxInventory {
  namespace: string
  name: string
  ids: string[]
}

/** Flux's inventory id of a core Secret. */
export function fluxInventoryId(secret: {namespace: string; name: string}): string {
  return `${secret.namespace}_${secret.name}__Secret`
}

/** The inventories of Flux Kustomization objects (as the API returns them). */
export function fluxInventoriesOf(objects: {metadata?: {name?: string; namespace?: string}; status?: Record<string, unknown>}[]): FluxInventory[] {
  return objects.map((object) => {
    const inventory = object.status?.inventory as {entries?: {id?: unknown}[]} | undefined
    const ids = (inventory?.entries ?? []).map((entry) => entry.id).filter((id): id is string => typeof id === 'string')
    return {namespace: object.metadata?.namespace ?? '', name: object.metadata?.name ?? '', ids}
  })
}

/** `<app>:<group>/<kind>:<namespace>/<name>`; the app may be `<namespace>_<app>` (apps in any namespace). */
function parseTrackingId(value: string): {app: string; appNamespace?: string; group: string; kind: string; namespace: string; name: string} | undefined {
  const match = /^([^:]+):([^/:]*)\/([^:/]+):([^/]*)\/(.+)$/.exec(value)
  if (!match) return undefined
  const [, app, group, kind, namespace, name] = match
  const underscore = app.indexOf('_')
  return underscore > 0 ? {app: app.slice(underscore + 1), appNamespace: app.slice(0, underscore), group, kind, namespace, name} : {app, group, kind, namespace, name}
}

function isHelmManaged(secret: SecretMetadata): boolean {
  return secret.annotations[HELM_RELEASE_NAME_ANNOTATION] !== undefined || secret.labels[HELM_MANAGED_BY_LABEL] === 'Helm'
}

/**
 * Every tool that applies this Secret, by its marks. Argo's instance label is
 * also what Helm charts set, so under `auto` it counts for Argo only on a
 * Secret Helm does not manage; an Argo tracking id that names another object
 * (a copied manifest) does not count, as Argo ignores it too.
 */
export function ownersOf(secret: SecretMetadata, options: {fluxInventories?: FluxInventory[]; argoTracking?: ArgoTrackingMethod} = {}): SecretOwner[] {
  const owners: SecretOwner[] = []
  const fluxName = secret.labels[FLUX_NAME_LABEL]
  if (fluxName) {
    owners.push({tool: 'flux', kind: 'Kustomization', namespace: secret.labels[FLUX_NAMESPACE_LABEL], name: fluxName, evidence: `label ${FLUX_NAME_LABEL}`})
  }
  const id = fluxInventoryId(secret)
  for (const inventory of options.fluxInventories ?? []) {
    if (!inventory.ids.includes(id)) continue
    if (owners.some((owner) => owner.tool === 'flux' && owner.name === inventory.name && owner.namespace === inventory.namespace)) continue
    owners.push({tool: 'flux', kind: 'Kustomization', namespace: inventory.namespace, name: inventory.name, evidence: 'status.inventory'})
  }
  const method = options.argoTracking ?? 'auto'
  const tracking = secret.annotations[ARGO_TRACKING_ANNOTATION]
  if (tracking && method !== 'label') {
    const parsed = parseTrackingId(tracking)
    if (parsed && parsed.kind === 'Secret' && parsed.group === '' && parsed.name === secret.name && (parsed.namespace === '' || parsed.namespace === secret.namespace)) {
      owners.push({tool: 'argocd', kind: 'Application', namespace: parsed.appNamespace, name: parsed.app, evidence: `annotation ${ARGO_TRACKING_ANNOTATION}`})
    }
  }
  const instance = secret.labels[ARGO_INSTANCE_LABEL]
  const labelCounts = method === 'label' || (method === 'auto' && !tracking && !isHelmManaged(secret))
  if (instance && labelCounts && !owners.some((owner) => owner.tool === 'argocd')) {
    owners.push({tool: 'argocd', kind: 'Application', name: instance, evidence: `label ${ARGO_INSTANCE_LABEL}${method === 'auto' ? ' (label tracking)' : ''}`})
  }
  const release = secret.annotations[HELM_RELEASE_NAME_ANNOTATION]
  if (release) {
    owners.push({tool: 'helm', kind: 'release', namespace: secret.annotations[HELM_RELEASE_NAMESPACE_ANNOTATION], name: release, evidence: `annotation ${HELM_RELEASE_NAME_ANNOTATION}`})
  }
  return owners
}

const TOOL_NAMES: Record<OwnerTool, string> = {flux: 'Flux', argocd: 'Argo CD', helm: 'Helm'}

/** `Flux Kustomization flux-system/apps`, `Argo CD Application payments`, `Helm release monitoring/grafana`. */
export function describeOwner(owner: SecretOwner): string {
  return `${TOOL_NAMES[owner.tool]} ${owner.kind} ${owner.namespace ? `${owner.namespace}/` : ''}${owner.name}`
}

/** The annotation value naming the previous owners: `flux-kustomization:flux-system/apps, helm-release:monitoring/grafana`. */
export function previousOwnerValue(owners: SecretOwner[]): string {
  return owners.map((owner) => `${owner.tool === 'flux' ? 'flux-kustomization' : owner.tool === 'argocd' ? 'argocd-application' : 'helm-release'}:${owner.namespace ? `${owner.namespace}/` : ''}${owner.name}`).join(', ')
}

function withPruneFalse(current: string | undefined): string {
  const options = (current ?? '').split(',').map((option) => option.trim()).filter((option) => option && !/^Prune=/i.test(option))
  return [...options, 'Prune=false'].join(',')
}

/**
 * The annotations that keep every owner from deleting the Secret once its
 * source leaves Git, plus the record of who owned it. `current` is the
 * Secret's annotations in the cluster (Argo's sync-options keep their other
 * options). Empty for a Secret no tool owns.
 */
export function protectionAnnotations(owners: SecretOwner[], current: Record<string, string> = {}): Record<string, string> {
  if (owners.length === 0) return {}
  const annotations: Record<string, string> = {[PREVIOUS_OWNER_ANNOTATION]: previousOwnerValue(owners)}
  if (owners.some((owner) => owner.tool === 'flux')) annotations[FLUX_PRUNE_ANNOTATION] = FLUX_PRUNE_DISABLED
  if (owners.some((owner) => owner.tool === 'argocd')) annotations[ARGO_SYNC_OPTIONS_ANNOTATION] = withPruneFalse(current[ARGO_SYNC_OPTIONS_ANNOTATION])
  if (owners.some((owner) => owner.tool === 'helm')) annotations[HELM_RESOURCE_POLICY_ANNOTATION] = 'keep'
  return annotations
}

/**
 * Why a Secret a migration owns now could still be deleted by a tool that
 * applied it: one line per owner whose protection is missing. Empty when it
 * is safe.
 */
export function pruneExposure(secret: SecretMetadata, owners: SecretOwner[]): string[] {
  const problems: string[] = []
  const {annotations} = secret
  for (const owner of owners) {
    if (owner.tool === 'flux' && annotations[FLUX_PRUNE_ANNOTATION] !== FLUX_PRUNE_DISABLED) {
      problems.push(`${describeOwner(owner)} would prune it (no ${FLUX_PRUNE_ANNOTATION}: ${FLUX_PRUNE_DISABLED})`)
    }
    if (owner.tool === 'argocd' && !/(^|,)\s*Prune=false\s*(,|$)/.test(annotations[ARGO_SYNC_OPTIONS_ANNOTATION] ?? '')) {
      problems.push(`${describeOwner(owner)} would prune it (no ${ARGO_SYNC_OPTIONS_ANNOTATION}: Prune=false)`)
    }
    if (owner.tool === 'helm' && annotations[HELM_RESOURCE_POLICY_ANNOTATION] !== 'keep') {
      problems.push(`${describeOwner(owner)} would delete it when the chart drops it (no ${HELM_RESOURCE_POLICY_ANNOTATION}: keep)`)
    }
  }
  return [...new Set(problems)]
}
