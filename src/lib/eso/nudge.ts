// Making ESO act now on objects the toolkit did not necessarily write (the
// manifests `bootstrap --output-dir` writes are applied by Flux or kubectl):
// annotations set with a merge patch, so no field changes owner. The
// PushSecrets the toolkit applies itself are nudged by re-applying them
// (apply.ts), which keeps their fields in one owner's hands.
import type {KubeClient} from '../kube/client.js'
import {EXTERNAL_SECRET_API_VERSION, PUSH_SECRET_API_VERSION} from './api.js'
import {PUSH_REQUESTED_ANNOTATION} from './apply.js'

/** A timestamp that, changed, makes ESO reconcile the ExternalSecret (it reconciles on annotation changes). */
export const REGENERATE_REQUESTED_ANNOTATION = 'secrets-toolkit.io/regenerate-requested-at'

export interface ObjectRef {
  namespace: string
  name: string
}

/** ESO pushes the PushSecret's Secret now instead of at its next refreshInterval. */
export async function requestPush(kube: KubeClient, ref: ObjectRef, at: Date): Promise<void> {
  await kube.annotate(PUSH_SECRET_API_VERSION, 'PushSecret', ref.name, ref.namespace, {[PUSH_REQUESTED_ANNOTATION]: at.toISOString()})
}

/**
 * ESO generates the ExternalSecret's values once more. Under refreshPolicy
 * CreatedOnce ESO refreshes only an ExternalSecret that has never synced, so
 * its sync record (status.refreshTime, status.syncedResourceVersion) is
 * cleared; the annotation then makes ESO look at it (v2.x ignores status-only
 * updates). With creationPolicy Orphan ESO updates the existing Secret in
 * place, so it never disappears in between.
 */
export async function requestRegeneration(kube: KubeClient, ref: ObjectRef, at: Date): Promise<void> {
  await kube.patchStatus(EXTERNAL_SECRET_API_VERSION, 'externalsecrets', ref.name, ref.namespace, {refreshTime: null, syncedResourceVersion: null})
  await kube.annotate(EXTERNAL_SECRET_API_VERSION, 'ExternalSecret', ref.name, ref.namespace, {[REGENERATE_REQUESTED_ANNOTATION]: at.toISOString()})
}
