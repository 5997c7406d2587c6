// Starts the whole integration environment — etcd, kube-apiserver, the ESO
// CRDs and controller, two Vault regions with their ClusterSecretStores — in a
// per-run directory under test-output/, and stops all of it again.
import {mkdirSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {join, resolve} from 'node:path'

import {stringify} from 'yaml'

import {regionEnvName} from '../../src/lib/config/credentials.js'
import {parseConfig} from '../../src/lib/config/load.js'
import {PROJECT_ROOT, requireBinary, type TestBinary} from '../helpers/binaries.js'
import {TEST_ENV_VARIABLE, type TestEnv, type TestRegion} from '../helpers/env.js'
import {startVaultServer, type VaultServerHandle} from '../helpers/vault-server.js'
import {applyClusterSecretStore, ESO_NAMESPACE, startEso, waitForStoreReady} from './eso.js'
import {applyCrds, esoCrdDocuments, kubeClient, startEtcd, startKubeApiServer} from './kube.js'
import {killGroupsSync, liveProcesses, type ManagedProcess, PROCESS_REGISTRY_VARIABLE, registeredGroups, startReaper} from './processes.js'

export const REGION_NAMES = ['region1', 'region2'] as const
export const KV_MOUNT = 'secret'
const BINARY_VARIABLES: Record<TestBinary, string> = {
  sops: 'SOPS_BIN',
  bao: 'BAO_BIN',
  etcd: 'ETCD_BIN',
  'kube-apiserver': 'KUBE_APISERVER_BIN',
  kubectl: 'KUBECTL_BIN',
  eso: 'ESO_BIN',
}
const FALLBACK_CRDS = resolve(PROJECT_ROOT, '../shared/fixtures/eso-crds')
const RUN_PREFIX = 'env-'
const STALE_RUN_MS = 24 * 3600 * 1000

export interface RunningEnvironment {
  env: TestEnv
  envFile: string
  /** Milliseconds per start-up phase, and in total. */
  timings: Record<string, number>
  stop(): Promise<void>
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Removes run directories older than a day whose Jest process is gone (other developers' runs may be live). */
function pruneOldRuns(root: string): void {
  let entries: string[] = []
  try {
    entries = readdirSync(root).filter((name) => name.startsWith(RUN_PREFIX))
  } catch {
    return
  }
  for (const name of entries) {
    const dir = join(root, name)
    const pid = Number.parseInt(name.split('-').at(-1) ?? '', 10)
    try {
      if (Date.now() - statSync(dir).mtimeMs > STALE_RUN_MS && !(Number.isInteger(pid) && pidAlive(pid))) rmSync(dir, {recursive: true, force: true})
    } catch {
      // Another run is pruning it too.
    }
  }
}

/** Ends every registered server synchronously, for signal handlers. */
function killRegisteredSync(registry: string): void {
  const groups = new Set([...registeredGroups(registry), ...liveProcesses().filter((p) => p.running()).map((p) => p.pid)])
  killGroupsSync([...groups])
}

export async function startEnvironment(): Promise<RunningEnvironment> {
  const started = Date.now()
  const timings: Record<string, number> = {}
  const timed = async <T>(phase: string, work: () => Promise<T>): Promise<T> => {
    const begin = Date.now()
    const result = await work()
    timings[phase] = Date.now() - begin
    return result
  }

  const outputRoot = resolve(PROJECT_ROOT, 'test-output')
  pruneOldRuns(outputRoot)
  const workDir = join(outputRoot, `${RUN_PREFIX}${new Date().toISOString().replaceAll(/[:.]/g, '-')}-${process.pid}`)
  const logsDir = join(workDir, 'logs')
  mkdirSync(logsDir, {recursive: true})
  const registry = join(workDir, 'processes.tsv')
  writeFileSync(registry, '')
  process.env[PROCESS_REGISTRY_VARIABLE] = registry

  // Ctrl-C reaches Jest but not the servers (each has a process group of its
  // own), so Jest's signal must end them before it exits.
  const onSignal = (signal: NodeJS.Signals) => {
    killRegisteredSync(registry)
    process.exit(signal === 'SIGINT' ? 130 : signal === 'SIGHUP' ? 129 : 143)
  }
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']
  for (const signal of signals) process.on(signal, onSignal)
  const reaper = startReaper(registry, join(logsDir, 'reaper.log'))

  // In start order: etcd, kube-apiserver, ESO.
  const kubeProcesses: ManagedProcess[] = []
  const vaults: VaultServerHandle[] = []
  const stopAll = async () => {
    const begin = Date.now()
    // Clients before servers: ESO before the API server, the API server before
    // etcd — a kube-apiserver that has lost etcd spends its grace period retrying.
    const stopKube = async () => {
      for (const server of [...kubeProcesses].reverse()) await server.stop()
    }
    await Promise.all([stopKube(), ...vaults.map((vault) => vault.stop())])
    killRegisteredSync(registry)
    await reaper.stop(1000)
    for (const signal of signals) process.off(signal, onSignal)
    timings.teardown = Date.now() - begin
    writeFileSync(join(logsDir, 'timings.json'), JSON.stringify(timings, null, 2))
  }

  try {
    const binaries = {} as Record<TestBinary, string>
    await timed('binaries', async () => {
      for (const name of Object.keys(BINARY_VARIABLES) as TestBinary[]) {
        binaries[name] = requireBinary(name)
        // Anything the tests start later (CLI runs, sops, extra Vault servers) uses the same binaries.
        process.env[BINARY_VARIABLES[name]] = binaries[name]
      }
    })
    process.env.SOPS_DISABLE_VERSION_CHECK = '1'
    const crds = esoCrdDocuments(binaries.eso, FALLBACK_CRDS)

    const kubePath = async () => {
      const etcd = await timed('etcd', () => startEtcd(binaries.etcd, workDir))
      kubeProcesses.push(etcd.process)
      const apiServer = await timed('kube-apiserver', () => startKubeApiServer(binaries['kube-apiserver'], workDir, etcd.url))
      kubeProcesses.push(apiServer.process)
      const kube = kubeClient(apiServer.kubeconfig)
      await timed('crds', async () => {
        await applyCrds(kube, crds.crds)
        await kube.ensureNamespace(ESO_NAMESPACE)
      })
      const eso = await timed('eso', () => startEso(binaries.eso, workDir, apiServer.kubeconfig))
      kubeProcesses.push(eso)
      return {kube, kubeconfig: apiServer.kubeconfig, eso}
    }
    const vaultPath = (name: string) =>
      timed(name, async () => {
        const vault = await startVaultServer({initialize: true, name, kvMount: KV_MOUNT, workDir, binary: binaries.bao})
        vaults.push(vault)
        return vault
      })

    // Settle every path before failing, so that the clean-up finds each server it started.
    const settled = await Promise.allSettled([kubePath(), ...REGION_NAMES.map(vaultPath)])
    const failure = settled.find((result) => result.status === 'rejected')
    if (failure) throw failure.reason
    const [{kube, kubeconfig, eso}, ...regionServers] = settled.map((result) => (result as PromiseFulfilledResult<unknown>).value) as [
      Awaited<ReturnType<typeof kubePath>>,
      ...VaultServerHandle[],
    ]

    const regions: TestRegion[] = regionServers.map((vault) => ({
      name: vault.name,
      address: vault.address,
      token: vault.token as string,
      unsealKey: vault.unsealKey as string,
      mount: KV_MOUNT,
      clusterSecretStore: `vault-${vault.name}`,
      dataDir: vault.dataDir,
    }))
    await timed('stores', () =>
      Promise.all(
        regions.map(async (region) => {
          await applyClusterSecretStore(kube, {storeName: region.clusterSecretStore, address: region.address, mount: region.mount, token: region.token})
          await waitForStoreReady(kube, region.clusterSecretStore, eso)
        }),
      ),
    )

    const configPath = join(workDir, 'secrets-toolkit.yaml')
    const configText = stringify({
      kubernetes: {kubeconfig},
      regions: regions.map((region) => ({
        name: region.name,
        clusterSecretStore: region.clusterSecretStore,
        vault: {address: region.address, mount: region.mount, auth: {method: 'token'}},
      })),
    })
    parseConfig(configText, configPath)
    writeFileSync(configPath, `# Integration test configuration; tokens come from ${regions.map((r) => regionEnvName(r.name, 'VAULT_TOKEN')).join(' and ')}.\n${configText}`)

    const tokenEnv: Record<string, string> = {KUBECONFIG: kubeconfig}
    for (const region of regions) tokenEnv[regionEnvName(region.name, 'VAULT_TOKEN')] = region.token
    const env: TestEnv = {configPath, kubeconfig, tokenEnv, regions, esoNamespace: ESO_NAMESPACE, binaries, workDir, logsDir}
    const envFile = join(workDir, 'test-env.json')
    writeFileSync(envFile, JSON.stringify(env, null, 2), {mode: 0o600})
    process.env[TEST_ENV_VARIABLE] = envFile
    Object.assign(process.env, tokenEnv)

    timings.total = Date.now() - started
    writeFileSync(join(logsDir, 'timings.json'), JSON.stringify(timings, null, 2))
    return {env, envFile, timings, stop: stopAll}
  } catch (error) {
    await stopAll()
    const message = (error as Error).message
    throw new Error(`the integration environment did not start: ${message}\nServer logs: ${logsDir}`)
  }
}
