import type {RegionConfig} from '../config/schema.js'
import {PUSH_SECRET_API_VERSION} from '../kube/client.js'

export const MIGRATED_FROM_LABEL = 'secrets-toolkit.io/migrated-from'
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by'
export const MANAGED_BY_VALUE = 'secrets-toolkit'
/** What ESO's Vault provider writes in custom_metadata of the secrets it pushes, and requires before it overwrites one. */
export const ESO_MANAGED_BY = {key: 'managed-by', value: 'external-secrets'}

export type DeletionPolicy = 'None' | 'Delete'

export interface PushSecretOptions {
  /** `{namespace}`, `{name}` and `{key}` are replaced; the default keeps one Vault secret per Kubernetes Secret. */
  remoteKeyTemplate: string
  deletionPolicy: DeletionPolicy
  refreshInterval: string
  labels: Record<string, string>
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
export function buildPushSecret(target: PushTarget, regions: RegionConfig[], options: PushSecretOptions): Record<string, unknown> {
  return {
    apiVersion: PUSH_SECRET_API_VERSION,
    kind: 'PushSecret',
    metadata: {name: target.name, namespace: target.namespace, labels: {...options.labels}},
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
