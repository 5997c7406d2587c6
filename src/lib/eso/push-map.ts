// Where each Kubernetes Secret's values live in the stores, as the PushSecrets
// say: the map `dr rehydrate` reads the values back by, and `dr reseed`
// checks a rebuilt store against. Read from manifests (a GitOps directory) or
// from the cluster; both ESO versions this toolkit runs against (v0.20, v2.x)
// serve PushSecret as external-secrets.io/v1alpha1 with the same fields.
import {PUSH_SECRET_API_VERSION} from './api.js'
import type {KubeObject} from '../kube/client.js'
import {SECRET_ANNOTATIONS_ANNOTATION, SECRET_LABELS_ANNOTATION, SECRET_TYPE_ANNOTATION, type RecordedSecretMeta} from './push-secret.js'

export type {RecordedSecretMeta}

/**
 * One value the PushSecret pushes, and how to read it back:
 * - `key`: the Secret key → `remoteKey`, property `property` (ESO writes the value as that property);
 * - `key` without property: ESO writes the value, which must be a JSON object, as the whole remote secret;
 * - `whole`: no secretKey — ESO pushes the whole Secret as a JSON object of key → value, as the remote secret
 *   (no property: each Secret key is a property) or as one property holding that JSON.
 */
export type PushMapEntry =
  | {kind: 'key'; secretKey: string; remoteKey: string; property?: string}
  | {kind: 'whole'; remoteKey: string; property?: string}

export interface PushMapping {
  /** The PushSecret's namespace and name. */
  namespace: string
  pushSecret: string
  /** The Secret it pushes (spec.selector.secret.name). */
  secret: string
  /** ClusterSecretStore names (a SecretStore is named `SecretStore/<name>`). */
  stores: string[]
  entries: PushMapEntry[]
  /** The metadata record, when the PushSecret carries one. */
  recorded?: RecordedSecretMeta
  /** Why this PushSecret cannot be read back exactly (a template transforms the values; a generator, not a Secret, is its source…). */
  unsupported?: string
  /** Where it came from: a manifest path, or "cluster". */
  origin: string
}

function storeName(ref: {name?: string; kind?: string}): string {
  // ESO's default kind is SecretStore.
  const kind = ref.kind ?? 'SecretStore'
  return kind === 'ClusterSecretStore' ? (ref.name ?? '') : `${kind}/${ref.name ?? ''}`
}

function parseRecord(annotations: Record<string, string> | undefined): RecordedSecretMeta | undefined {
  const type = annotations?.[SECRET_TYPE_ANNOTATION]
  if (!type) return undefined
  const parseMap = (text: string | undefined): Record<string, string> => {
    if (!text) return {}
    try {
      const parsed = JSON.parse(text) as unknown
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
        return Object.fromEntries(Object.entries(parsed as Record<string, unknown>).filter(([, value]) => typeof value === 'string')) as Record<string, string>
      }
    } catch {
      // A damaged record restores what it can: the type.
    }
    return {}
  }
  return {type, labels: parseMap(annotations?.[SECRET_LABELS_ANNOTATION]), annotations: parseMap(annotations?.[SECRET_ANNOTATIONS_ANNOTATION])}
}

/** Whether an object (parsed from YAML, or listed from the cluster) is an ESO PushSecret this toolkit can read. */
export function isPushSecret(object: unknown): object is KubeObject {
  const candidate = object as KubeObject | undefined
  return candidate?.kind === 'PushSecret' && typeof candidate.apiVersion === 'string' && candidate.apiVersion.startsWith('external-secrets.io/')
}

/**
 * The map of one PushSecret. `defaultNamespace` is the namespace a manifest
 * without one lands in (kustomize's `namespace:`, or the caller's choice).
 */
export function pushMappingOf(object: KubeObject, origin: string, defaultNamespace?: string): PushMapping {
  const spec = (object.spec ?? {}) as {
    selector?: {secret?: {name?: string}; generatorRef?: unknown}
    secretStoreRefs?: {name?: string; kind?: string}[]
    data?: {match?: {secretKey?: string; remoteRef?: {remoteKey?: string; property?: string}}}[]
    template?: unknown
    dataTo?: unknown[]
  }
  const namespace = object.metadata?.namespace ?? defaultNamespace ?? ''
  const name = object.metadata?.name ?? ''
  const problems: string[] = []
  if (object.apiVersion !== PUSH_SECRET_API_VERSION) problems.push(`apiVersion ${object.apiVersion} (this toolkit reads ${PUSH_SECRET_API_VERSION})`)
  if (spec.template) problems.push('spec.template transforms the values before they are pushed, so the stores do not hold the Secret as it was')
  if (spec.selector?.generatorRef) problems.push('its source is a generator, not a Secret')
  if ((spec.dataTo ?? []).length > 0) problems.push('spec.dataTo (bulk push by pattern) is not read back')
  const entries: PushMapEntry[] = []
  for (const item of spec.data ?? []) {
    const remoteKey = item.match?.remoteRef?.remoteKey
    if (!remoteKey) continue
    const property = item.match?.remoteRef?.property || undefined
    const secretKey = item.match?.secretKey
    entries.push(secretKey ? {kind: 'key', secretKey, remoteKey, ...(property ? {property} : {})} : {kind: 'whole', remoteKey, ...(property ? {property} : {})})
  }
  const secret = spec.selector?.secret?.name ?? ''
  if (!secret && !spec.selector?.generatorRef) problems.push('no spec.selector.secret.name')
  const recorded = parseRecord(object.metadata?.annotations)
  return {
    namespace,
    pushSecret: name,
    secret,
    stores: (spec.secretStoreRefs ?? []).map(storeName).filter((store) => store !== ''),
    entries,
    ...(recorded ? {recorded} : {}),
    ...(problems.length > 0 ? {unsupported: problems.join('; ')} : {}),
    origin,
  }
}

/** An ExternalSecret whose data comes from an ESO generator (a Password, …): the Secret it fills is generated, not fetched. */
export interface GeneratedTarget {
  namespace: string
  externalSecret: string
  /** The target Secret's name (spec.target.name, else the ExternalSecret's name). */
  secret: string
  creationPolicy: string
  refreshPolicy?: string
  refreshInterval?: string
  /** Whether ESO has synced it at least once (status.refreshTime and status.syncedResourceVersion set). */
  synced: boolean
}

/** The generated target of an ExternalSecret, or undefined when no dataFrom entry names a generator. */
export function generatedTargetOf(object: KubeObject, defaultNamespace?: string): GeneratedTarget | undefined {
  if (object.kind !== 'ExternalSecret') return undefined
  const spec = (object.spec ?? {}) as {
    dataFrom?: {sourceRef?: {generatorRef?: unknown}}[]
    target?: {name?: string; creationPolicy?: string}
    refreshPolicy?: string
    refreshInterval?: string
  }
  if (!(spec.dataFrom ?? []).some((entry) => entry.sourceRef?.generatorRef)) return undefined
  const status = (object.status ?? {}) as {refreshTime?: string; syncedResourceVersion?: string}
  return {
    namespace: object.metadata?.namespace ?? defaultNamespace ?? '',
    externalSecret: object.metadata?.name ?? '',
    secret: spec.target?.name || object.metadata?.name || '',
    creationPolicy: spec.target?.creationPolicy ?? 'Owner',
    ...(spec.refreshPolicy ? {refreshPolicy: spec.refreshPolicy} : {}),
    ...(spec.refreshInterval === undefined ? {} : {refreshInterval: String(spec.refreshInterval)}),
    synced: Boolean(status.refreshTime && status.syncedResourceVersion),
  }
}
