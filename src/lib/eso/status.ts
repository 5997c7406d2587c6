import {conditionOf, type Condition, type KubeObject} from '../kube/client.js'

/**
 * ESO's verdict on one of its objects (PushSecret, ClusterSecretStore,
 * ExternalSecret): the `Ready` condition, or undefined while the controller
 * has not looked at it yet. The one place ESO readiness is read.
 */
export function readyCondition(object: KubeObject | undefined): Condition | undefined {
  return conditionOf(object, 'Ready')
}

/** Ready=True: the controller reconciled it successfully (for a PushSecret: the last push reached every store). */
export function isReady(object: KubeObject | undefined): boolean {
  return readyCondition(object)?.status === 'True'
}

/** The condition as one line for a report: reason and message from ESO (names, never values), cut to 300 characters. */
export function describeReady(condition: Condition): string {
  return `${condition.reason ?? ''} ${condition.message ?? ''}`.trim().slice(0, 300)
}
