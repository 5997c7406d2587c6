import type {RegionConfig} from '../config/schema.js'
import type {KubeObject} from '../kube/client.js'
import {PUSH_SECRET_API_VERSION} from './api.js'

export const MIGRATED_FROM_LABEL = 'secrets-toolkit.io/migrated-from'
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by'
export const MANAGED_BY_VALUE = 'secrets-toolkit'
/** What ESO's Vault provider writes in custom_metadata of the secrets it pushes, and requires before it overwrites one. */
export const ESO_MANAGED_BY = {key: 'managed-by', value: 'external-secrets'}

export type DeletionPolicy = 'None' | 'Delete'

/**
 * What a Secret has besides its data, recorded on its PushSecret by migrate
 * and bootstrap so that `dr rehydrate` can rebuild the Secret as it was when
 * the cluster is lost (the stores hold only the values). Names, never values.
 */
export const SECRET_TYPE_ANNOTATION = 'secrets-toolkit.io/secret-type'
/** The Secret's labels, as a JSON object. */
export const SECRET_LABELS_ANNOTATION = 'secrets-toolkit.io/secret-labels'
/** The Secret's annotations, as a JSON object. */
export const SECRET_ANNOTATIONS_ANNOTATION = 'secrets-toolkit.io/secret-annotations'

const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration'

export interface RecordedSecretMeta {
  type: string
  labels: Record<string, string>
  annotations: Record<string, string>
}

/** The annotations that record a Secret's type, labels and annotations (sorted, so a re-run writes the same text). */
export function secretRecordAnnotations(meta: RecordedSecretMeta): Record<string, string> {
  const sorted = (map: Record<string, string>) => JSON.stringify(Object.fromEntries(Object.entries(map).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))))
  return {
    [SECRET_TYPE_ANNOTATION]: meta.type,
    [SECRET_LABELS_ANNOTATION]: sorted(meta.labels),
    // kubectl's last-applied-configuration of a Secret holds its data: never recorded.
    [SECRET_ANNOTATIONS_ANNOTATION]: sorted(Object.fromEntries(Object.entries(meta.annotations).filter(([key]) => key !== LAST_APPLIED_ANNOTATION))),
  }
}

export interface PushSecretOptions {
  /** `{namespace}`, `{name}` and `{key}` are replaced; the default keeps one Vault secret per Kubernetes Secret. */
  remoteKeyTemplate: string
  deletionPolicy: DeletionPolicy
  refreshInterval: string
  labels: Record<string, string>
  /** The Secret's type, labels and annotations, recorded on the PushSecret (see SECRET_TYPE_ANNOTATION). */
  record?: RecordedSecretMeta
}

/** One key of the Secret and where ESO puts it: `remoteKey` in the store, `property` inside it. */
export interface PushSecretMatch {
  secretKey: string
  remoteRef: {remoteKey: string; property?: string}
}

export interface SecretStoreRef {
  name: string
  kind: 'ClusterSecretStore' | 'SecretStore'
}

/** The fields of ESO's PushSecret (external-secrets.io/v1alpha1) this toolkit writes. */
export interface PushSecret {
  apiVersion: typeof PUSH_SECRET_API_VERSION
  kind: 'PushSecret'
  metadata: {name: string; namespace: string; labels: Record<string, string>; annotations?: Record<string, string>}
  spec: {
    updatePolicy: 'Replace' | 'IfNotExists'
    deletionPolicy: DeletionPolicy
    refreshInterval: string
    secretStoreRefs: SecretStoreRef[]
    selector: {secret: {name: string}}
    data: {match: PushSecretMatch}[]
  }
}

export const DEFAULT_REMOTE_KEY_TEMPLATE = '{namespace}/{name}'

export interface PushTarget {
  namespace: string
  name: string
  keys: string[]
}

export function remoteKeyFor(template: string, target: {namespace: string; name: string}, key?: string): string {
  return template
    .replaceAll('{namespace}', target.namespace)
    .replaceAll('{name}', target.name)
    .replaceAll('{key}', key ?? '')
    .replace(/^\/+|\/+$/g, '')
}

/** Whether the template puts each key in a Vault secret of its own (then the property is the key too). */
export function templateIsPerKey(template: string): boolean {
  return template.includes('{key}')
}

/**
 * The PushSecret that pushes every key of one Secret to every region's
 * ClusterSecretStore. Same name and namespace as the Secret, so re-runs and
 * `migrate verify` find one from the other.
 */
export function buildPushSecret(target: PushTarget, regions: RegionConfig[], options: PushSecretOptions): PushSecret {
  return {
    apiVersion: PUSH_SECRET_API_VERSION,
    kind: 'PushSecret',
    metadata: {
      name: target.name,
      namespace: target.namespace,
      labels: {...options.labels},
      ...(options.record ? {annotations: secretRecordAnnotations(options.record)} : {}),
    },
    spec: {
      updatePolicy: 'Replace',
      deletionPolicy: options.deletionPolicy,
      refreshInterval: options.refreshInterval,
      secretStoreRefs: regions.map((region) => ({name: region.clusterSecretStore, kind: 'ClusterSecretStore'})),
      selector: {secret: {name: target.name}},
      data: [...target.keys].sort().map((key) => ({
        match: {
          secretKey: key,
          remoteRef: {remoteKey: remoteKeyFor(options.remoteKeyTemplate, target, key), property: key},
        },
      })),
    },
  }
}

/** What a PushSecret read back from the cluster pushes: one entry per Secret key it names. */
export interface PushEntry {
  secretKey: string
  remoteKey: string
  property?: string
}

/**
 * Parses the entries of a PushSecret as the API server returns it (any
 * object, whoever wrote it): entries without a key or remote key are not
 * pushes and are left out.
 */
export function pushEntries(pushSecret: KubeObject | undefined): PushEntry[] {
  const data = (pushSecret?.spec?.data as {match?: {secretKey?: string; remoteRef?: {remoteKey?: string; property?: string}}}[] | undefined) ?? []
  return data
    .filter((entry) => entry.match?.secretKey && entry.match.remoteRef?.remoteKey)
    .map((entry) => ({secretKey: entry.match!.secretKey!, remoteKey: entry.match!.remoteRef!.remoteKey!, property: entry.match!.remoteRef!.property}))
}

/** The ClusterSecretStores a PushSecret read back from the cluster pushes to (ESO's default kind is SecretStore). */
export function pushStores(pushSecret: KubeObject): Set<string> {
  const refs = (pushSecret.spec?.secretStoreRefs as {name?: string; kind?: string}[] | undefined) ?? []
  return new Set(refs.filter((ref) => (ref.kind ?? 'SecretStore') === 'ClusterSecretStore').map((ref) => ref.name ?? ''))
}
