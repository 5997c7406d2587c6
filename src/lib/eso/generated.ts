// Generated values (an ExternalSecret filled by an ESO generator) and a lost
// cluster: the Secret is restored from the stores, and ESO must find it
// already created instead of generating a new value over it. Why this works
// in ESO v0.20 and v2.x: buildGeneratedExternalSecret (external-secret.ts).
import type {KubeClient} from '../kube/client.js'
import {EXTERNAL_SECRET_API_VERSION} from './api.js'
import type {GeneratedTarget} from './push-map.js'

/** The sync record `dr rehydrate` writes: any non-empty value means "synced" to refreshPolicy CreatedOnce. */
export const RESTORED_SYNC_VERSION = 'restored-by-secrets-toolkit'

/**
 * Writes the ExternalSecret's sync record (status subresource) as ESO would
 * after its one sync, so that ESO — under refreshPolicy CreatedOnce (or
 * refreshInterval "0") and creationPolicy Orphan — keeps the restored Secret.
 * Only for an ExternalSecret that never synced: one that did is left alone.
 */
export async function markRestored(kube: KubeClient, target: GeneratedTarget, at: Date, fromRegion: string): Promise<void> {
  await kube.patchStatus(EXTERNAL_SECRET_API_VERSION, 'externalsecrets', target.externalSecret, target.namespace, {
    refreshTime: at.toISOString(),
    syncedResourceVersion: RESTORED_SYNC_VERSION,
    conditions: [
      {
        type: 'Ready',
        status: 'True',
        reason: 'SecretSynced',
        message: `Secret restored from region ${fromRegion} by secrets dr rehydrate; not generated again`,
        lastTransitionTime: at.toISOString(),
      },
    ],
  })
}

/**
 * Whether ESO will keep a Secret restored under this ExternalSecret: it
 * generates once (CreatedOnce, or the default policy with refreshInterval 0)
 * and treats the target as valid whatever its data (Orphan).
 */
export function keepsRestoredValue(target: GeneratedTarget): boolean {
  const once = target.refreshPolicy === 'CreatedOnce' || ((target.refreshPolicy ?? 'Periodic') === 'Periodic' && /^0+[smh]?$/.test(target.refreshInterval ?? ''))
  return once && target.creationPolicy === 'Orphan'
}
