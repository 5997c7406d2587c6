// The External Secrets Operator controller, run out of cluster against the
// test kube-apiserver, and the ClusterSecretStores that point it at the
// regional Vault servers.
import {join} from 'node:path'

import {CLUSTER_SECRET_STORE_API_VERSION} from '../../src/lib/eso/api.js'
import {readyCondition} from '../../src/lib/eso/status.js'
import type {KubeClient} from '../../src/lib/kube/client.js'
import {SecretValue} from '../../src/lib/secret/secret-value.js'
import {freePorts, httpGet, waitFor} from './net.js'
import {logTail, type ManagedProcess, startProcess} from './processes.js'

export {CLUSTER_SECRET_STORE_API_VERSION}
export const ESO_NAMESPACE = 'external-secrets'
export const TOKEN_SECRET_KEY = 'token'

/**
 * Starts only the root controller command (no webhook, no cert controller):
 * ESO reads KUBECONFIG from its environment, it has no --kubeconfig flag.
 */
export async function startEso(binary: string, workDir: string, kubeconfig: string): Promise<ManagedProcess> {
  const logFile = join(workDir, 'logs', 'eso.log')
  const [livePort] = await freePorts(1)
  const process_ = startProcess({
    name: 'eso',
    command: binary,
    args: [
      // The manager would otherwise bind :8080 and :8082, shared with every other test run on the machine.
      '--metrics-addr=0',
      `--live-addr=127.0.0.1:${livePort}`,
      '--enable-leader-election=false',
      '--concurrent=4',
      // Stores are re-validated every 10 s instead of every 5 min, so a stopped or
      // sealed region shows as not Ready (and PushSecrets to it fail) within seconds.
      '--store-requeue-interval=10s',
      '--zap-time-encoding=iso8601',
      '--loglevel=info',
    ],
    env: {...process.env, KUBECONFIG: kubeconfig},
    logFile,
  })
  try {
    await waitFor('the ESO controller to answer /healthz', async () => ((await httpGet(`http://127.0.0.1:${livePort}/healthz`)).status === 200 ? true : undefined), {
      timeoutMs: 60_000,
      abort: () => (process_.running() ? undefined : `the ESO controller exited; ${logFile} ends with:\n${logTail(logFile)}`),
    })
  } catch (error) {
    await process_.stop()
    throw error
  }
  return process_
}

export interface StoreTarget {
  storeName: string
  address: string
  mount: string
  token: string
}

/** The token Secret and the ClusterSecretStore (Vault provider, KV v2, token auth) for one region. */
export async function applyClusterSecretStore(kube: KubeClient, target: StoreTarget): Promise<void> {
  const tokenSecret = `${target.storeName}-token`
  await kube.applySecret({
    namespace: ESO_NAMESPACE,
    name: tokenSecret,
    type: 'Opaque',
    labels: {'app.kubernetes.io/part-of': 'secrets-toolkit-test'},
    annotations: {},
    data: new Map([[TOKEN_SECRET_KEY, SecretValue.fromString(target.token)]]),
  })
  await kube.apply(
    {
      apiVersion: CLUSTER_SECRET_STORE_API_VERSION,
      kind: 'ClusterSecretStore',
      metadata: {name: target.storeName},
      spec: {
        provider: {
          vault: {
            server: target.address,
            path: target.mount,
            version: 'v2',
            auth: {tokenSecretRef: {name: tokenSecret, namespace: ESO_NAMESPACE, key: TOKEN_SECRET_KEY}},
          },
        },
      },
    },
    {force: true},
  )
}

export async function waitForStoreReady(kube: KubeClient, storeName: string, eso: ManagedProcess, timeoutMs = 60_000): Promise<void> {
  await waitFor(`ClusterSecretStore ${storeName} to be Ready`, async () => {
    const store = await kube.read(CLUSTER_SECRET_STORE_API_VERSION, 'ClusterSecretStore', storeName)
    const ready = readyCondition(store)
    if (ready?.status === 'True') return true
    throw new Error(ready ? `Ready=${ready.status} ${ready.reason ?? ''}: ${ready.message ?? ''}` : 'no Ready condition yet')
  }, {
    timeoutMs,
    intervalMs: 250,
    abort: () => (eso.running() ? undefined : `the ESO controller exited; ${eso.logFile} ends with:\n${logTail(eso.logFile)}`),
  })
}
