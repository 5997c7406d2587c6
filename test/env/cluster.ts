// A Kubernetes cluster of a test's own — etcd, kube-apiserver, the ESO CRDs
// and controller, ClusterSecretStores for the given Vault servers — on a new,
// empty etcd: what "the cluster was lost and rebuilt" looks like. The shared
// environment's cluster is never touched. Its servers are registered like
// every other (test/env/processes.ts), so the global teardown stops them if
// the test does not.
import {mkdirSync} from 'node:fs'
import {join, resolve} from 'node:path'

import {PROJECT_ROOT} from '../helpers/binaries.js'
import type {KubeClient} from '../../src/lib/kube/client.js'
import {applyClusterSecretStore, ESO_NAMESPACE, startEso, waitForStoreReady, type StoreTarget} from './eso.js'
import {applyCrds, esoCrdDocuments, kubeClient, startEtcd, startKubeApiServer} from './kube.js'
import type {ManagedProcess} from './processes.js'

const FALLBACK_CRDS = resolve(PROJECT_ROOT, '../shared/fixtures/eso-crds')

export interface FreshCluster {
  kube: KubeClient
  kubeconfig: string
  /** This cluster's directory: etcd data, certificates, kubeconfig, logs/. */
  dir: string
  esoBinary: string
  /** The ESO controller, while it runs. */
  eso?: ManagedProcess
  /** Starts the ESO controller (stopped clusters start without it with `eso: false`). */
  startEso(): Promise<ManagedProcess>
  stopEso(): Promise<void>
  /** The ClusterSecretStores, once ESO runs: waits until each is Ready. */
  waitForStores(): Promise<void>
  /** ESO, then the API server, then etcd. */
  stop(): Promise<void>
}

export interface FreshClusterOptions {
  /** A directory name under `parentDir` (and in log names). */
  name: string
  parentDir: string
  binaries: {etcd: string; kubeApiServer: string; eso: string}
  /** ClusterSecretStores to create (vault-region1 → region1's server, …). */
  stores: StoreTarget[]
  /** Start the ESO controller now (default true). */
  eso?: boolean
}

/** Starts a new, empty cluster: etcd → kube-apiserver → ESO CRDs, namespace, stores → ESO (unless `eso: false`). */
export async function startFreshCluster(options: FreshClusterOptions): Promise<FreshCluster> {
  const dir = join(options.parentDir, options.name)
  mkdirSync(join(dir, 'logs'), {recursive: true})
  const processes: ManagedProcess[] = []
  const stopAll = async () => {
    for (const server of [...processes].reverse()) await server.stop()
  }
  try {
    const etcd = await startEtcd(options.binaries.etcd, dir)
    processes.push(etcd.process)
    const apiServer = await startKubeApiServer(options.binaries.kubeApiServer, dir, etcd.url)
    processes.push(apiServer.process)
    const kube = kubeClient(apiServer.kubeconfig)
    await applyCrds(kube, esoCrdDocuments(options.binaries.eso, FALLBACK_CRDS).crds)
    await kube.ensureNamespace(ESO_NAMESPACE)
    for (const store of options.stores) await applyClusterSecretStore(kube, store)
    const cluster: FreshCluster = {
      kube,
      kubeconfig: apiServer.kubeconfig,
      dir,
      esoBinary: options.binaries.eso,
      async startEso() {
        if (cluster.eso?.running()) return cluster.eso
        cluster.eso = await startEso(options.binaries.eso, dir, apiServer.kubeconfig)
        processes.push(cluster.eso)
        return cluster.eso
      },
      async stopEso() {
        await cluster.eso?.stop()
        cluster.eso = undefined
      },
      async waitForStores() {
        const eso = cluster.eso ?? (await cluster.startEso())
        await Promise.all(options.stores.map((store) => waitForStoreReady(kube, store.storeName, eso, 90_000)))
      },
      stop: stopAll,
    }
    if (options.eso !== false) await cluster.waitForStores()
    return cluster
  } catch (error) {
    await stopAll()
    throw error
  }
}
