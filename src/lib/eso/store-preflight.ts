// "Can ESO push to every region?" asked before anything is asked or written:
// each region's ClusterSecretStore exists and ESO has found it Ready. One
// answer per store, all at once, so an operator fixes every problem in one go.
import type {KubeClient} from '../kube/client.js'
import {CLUSTER_SECRET_STORE_API_VERSION} from './api.js'
import {describeReady, readyCondition} from './status.js'

export interface StoreTarget {
  /** The region's name, for messages. */
  region: string
  clusterSecretStore: string
}

export type StoreState = 'ready' | 'missing' | 'not-ready' | 'unknown'

export interface StorePreflight {
  region: string
  clusterSecretStore: string
  state: StoreState
  /** ESO's reason (names, never values) for not-ready; what is unknown otherwise. */
  detail?: string
}

/** Reads each region's ClusterSecretStore; `unknown`: ESO has not set a Ready condition yet (is its controller running?). */
export async function checkClusterSecretStores(kube: KubeClient, targets: StoreTarget[]): Promise<StorePreflight[]> {
  const results: StorePreflight[] = []
  for (const target of targets) {
    const base = {region: target.region, clusterSecretStore: target.clusterSecretStore}
    const store = await kube.read(CLUSTER_SECRET_STORE_API_VERSION, 'ClusterSecretStore', target.clusterSecretStore)
    if (!store) {
      results.push({...base, state: 'missing'})
      continue
    }
    const ready = readyCondition(store)
    if (!ready) results.push({...base, state: 'unknown', detail: 'no Ready condition yet (is the ESO controller running?)'})
    else if (ready.status === 'True') results.push({...base, state: 'ready'})
    else results.push({...base, state: 'not-ready', detail: describeReady(ready) || `Ready=${ready.status}`})
  }
  return results
}

/** One line per store that is not Ready, e.g. "ClusterSecretStore vault-region3 (region region3) does not exist". */
export function storeProblems(results: StorePreflight[]): string[] {
  return results
    .filter((result) => result.state !== 'ready')
    .map((result) => {
      const what = `ClusterSecretStore ${result.clusterSecretStore} (region ${result.region})`
      if (result.state === 'missing') return `${what} does not exist`
      return `${what} is not Ready: ${result.detail}`
    })
}
