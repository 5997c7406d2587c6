import type {RegionConfig} from '../config/schema.js'
import {CLUSTER_SECRET_STORE_API_VERSION, PUSH_SECRET_API_VERSION} from '../eso/api.js'
import {describeReady, readyCondition} from '../eso/status.js'
import type {KubeClient, KubeObject} from '../kube/client.js'
import {displayText, redactUrl} from '../report/display.js'
import {connectRegion, type RegionVault} from '../vault/connect.js'
import {probeNodes, nodeAddresses, type NodeProbe} from '../vault/nodes.js'
import type {EsoStatus, RegionStatus, StatusProblem, StatusReport} from './output-schema.js'

/** The newest snapshot of a region, as the snapshot catalog (dr) sees it; status does not read archives itself. */
export interface SnapshotFact {
  file: string
  createdAt?: Date
  bytes: number
  verification: 'ok' | 'hash-only' | 'failed'
  problem?: string
}

export interface StatusOptions {
  regions: RegionConfig[]
  env?: NodeJS.ProcessEnv
  /** A token with less left than this is degraded (a token that never expires is not). */
  minTokenTtlMs: number
  /** A newest snapshot older than this is degraded (only with `snapshots`). */
  maxSnapshotAgeMs?: number
  /** A region whose Raft applied index is further behind the highest than this is degraded. */
  maxIndexLag?: number
  /** The snapshot directory and how to find a region's newest verified snapshot in it. */
  snapshots?: {directory: string; newest(region: string): Promise<SnapshotFact | undefined>}
  /** ESO is checked through this client; without one, `skipEsoReason` says why it was not. */
  kube?: KubeClient
  skipEsoReason?: string
  /** Limit the PushSecrets checked to these namespaces (default: every namespace). */
  namespaces?: string[]
  now?: () => Date
}

const seconds = (ms: number) => Math.round(ms / 1000)

/** 3661 → "1h1m", 42 → "42s": how status speaks of TTLs and ages. */
export function formatSeconds(total: number): string {
  const s = Math.max(0, Math.round(total))
  if (s < 60) return `${s}s`
  const parts: string[] = []
  const d = Math.floor(s / 86_400)
  const h = Math.floor((s % 86_400) / 3600)
  const m = Math.floor((s % 3600) / 60)
  if (d) parts.push(`${d}d`)
  if (h) parts.push(`${h}h`)
  if (m && !d) parts.push(`${m}m`)
  return parts.join('') || '0s'
}

const isActive = (node: NodeProbe) => Boolean(node.health && node.health.initialized && !node.health.sealed && !node.health.standby)

async function checkRegion(region: RegionConfig, options: StatusOptions, now: Date): Promise<RegionStatus> {
  const name = displayText(region.name)
  const nodes = await probeNodes(region)
  const status: RegionStatus = {
    region: region.name,
    address: redactUrl(region.vault.address).replace(/\/$/, ''),
    reachable: nodes.some((node) => node.reachable),
    haState: 'unreachable',
    nodes: nodes.map((node) => ({
      address: node.address,
      reachable: node.reachable,
      initialized: node.health?.initialized,
      sealed: node.health?.sealed,
      standby: node.health?.standby,
      version: node.health?.version,
      error: node.error,
    })),
    problems: [],
  }
  const degraded = (message: string) => status.problems.push({severity: 'degraded', message})
  const unknown = (message: string) => status.problems.push({severity: 'unknown', message})
  const nodeList = (filter: (node: NodeProbe) => boolean) =>
    nodes
      .filter(filter)
      .map((node) => `${node.address}${node.error ? `: ${node.error}` : ''}`)
      .join(', ')

  await checkSnapshot(region, status, options, now)
  if (!status.reachable) {
    unknown(`region ${name} is unreachable (${nodeList(() => true)}): its state could not be checked`)
    return status
  }
  const answered = nodes.filter((node) => node.health)
  const active = nodes.findIndex(isActive)
  status.initialized = answered.some((node) => node.health!.initialized)
  status.sealed = !answered.some((node) => node.health!.initialized && !node.health!.sealed)
  status.version = (nodes[active] ?? answered[0]).health!.version
  if (!status.initialized) {
    status.haState = 'uninitialized'
    degraded(`region ${name} is not initialized`)
    return status
  }
  if (status.sealed) {
    status.haState = 'sealed'
    degraded(`region ${name} is sealed (${nodeList((node) => node.reachable)})`)
    return status
  }
  const unreachableNodes = nodes.filter((node) => !node.reachable)
  if (unreachableNodes.length > 0) degraded(`region ${name}: node(s) unreachable: ${nodeList((node) => !node.reachable)}`)
  const sealedNodes = nodes.filter((node) => node.health?.sealed)
  if (sealedNodes.length > 0) degraded(`region ${name}: node(s) sealed: ${nodeList((node) => Boolean(node.health?.sealed))}`)
  if (active < 0) {
    status.haState = 'standby-only'
    const leader = nodes.find((node) => node.leaderAddress)?.leaderAddress
    degraded(`region ${name}: no active node answered, only standbys (${nodeList((node) => Boolean(node.health?.standby))})${leader ? `; they name ${redactUrl(leader).replace(/\/$/, '')} as the leader` : ''}`)
    return status
  }
  status.haState = 'active'
  const activeRegion: RegionConfig = {...region, vault: {...region.vault, address: nodeAddresses(region.vault)[active], addresses: undefined}}
  let vault: RegionVault | undefined
  try {
    vault = await connectRegion(activeRegion, {env: options.env})
  } catch (error) {
    unknown(`region ${name}: cannot log in: ${(error as Error).message}`)
    return status
  }
  try {
    const [leader, token, autopilot] = await Promise.allSettled([vault.admin.leaderInfo(), vault.admin.tokenInfo(), vault.admin.autopilotState()])
    if (leader.status === 'fulfilled') {
      status.haEnabled = leader.value.haEnabled
      status.activeNode = leader.value.leaderAddress ? redactUrl(leader.value.leaderAddress).replace(/\/$/, '') : nodes[active].address
      status.raftAppliedIndex = leader.value.raftAppliedIndex
      status.raftCommittedIndex = leader.value.raftCommittedIndex
    } else {
      unknown(`region ${name}: cannot read sys/leader: ${(leader.reason as Error).message}`)
    }
    if (token.status === 'fulfilled') {
      status.token = token.value
      const minimum = seconds(options.minTokenTtlMs)
      if (token.value.expires && token.value.ttlSeconds < minimum) {
        degraded(`region ${name}: the Vault token expires in ${formatSeconds(token.value.ttlSeconds)} (under --min-token-ttl ${formatSeconds(minimum)})${token.value.renewable ? '' : ' and is not renewable'}`)
      }
    } else {
      unknown(`region ${name}: cannot look up the Vault token: ${(token.reason as Error).message}`)
    }
    if (autopilot.status === 'fulfilled') {
      status.autopilot = autopilot.value
      if (autopilot.value && !autopilot.value.healthy) degraded(`region ${name}: Raft autopilot reports the cluster unhealthy (failure tolerance ${autopilot.value.failureTolerance ?? 'unknown'})`)
    }
  } finally {
    await vault.close()
  }
  return status
}

async function checkSnapshot(region: RegionConfig, status: RegionStatus, options: StatusOptions, now: Date): Promise<void> {
  if (!options.snapshots) return
  const name = displayText(region.name)
  const directory = displayText(options.snapshots.directory)
  let fact: SnapshotFact | undefined
  try {
    fact = await options.snapshots.newest(region.name)
  } catch (error) {
    status.problems.push({severity: 'unknown', message: `region ${name}: cannot read the snapshots in ${directory}: ${(error as Error).message}`})
    return
  }
  if (!fact) {
    status.snapshot = {verification: 'missing'}
    status.problems.push({severity: 'degraded', message: `region ${name}: no snapshot in ${directory}`})
    return
  }
  const ageSeconds = fact.createdAt ? seconds(now.getTime() - fact.createdAt.getTime()) : undefined
  status.snapshot = {file: fact.file, createdAt: fact.createdAt?.toISOString(), ageSeconds, bytes: fact.bytes, verification: fact.verification, problem: fact.problem}
  if (fact.verification === 'failed') {
    status.problems.push({severity: 'degraded', message: `region ${name}: the newest snapshot ${displayText(fact.file)} fails verification${fact.problem ? `: ${fact.problem}` : ''}`})
  }
  if (options.maxSnapshotAgeMs !== undefined && ageSeconds !== undefined && ageSeconds * 1000 > options.maxSnapshotAgeMs) {
    status.problems.push({severity: 'degraded', message: `region ${name}: the newest snapshot is ${formatSeconds(ageSeconds)} old (over --max-snapshot-age ${formatSeconds(seconds(options.maxSnapshotAgeMs))})`})
  }
}

function storesOf(pushSecret: KubeObject): string[] {
  const refs = (pushSecret.spec?.secretStoreRefs as {name?: string; kind?: string}[] | undefined) ?? []
  return refs.map((ref) => `${ref.kind === 'ClusterSecretStore' ? '' : 'SecretStore/'}${ref.name ?? '(unnamed)'}`)
}

/**
 * ESO's view: each configured ClusterSecretStore's Ready condition, and every
 * PushSecret that is not Ready (names, stores and ESO's message — names,
 * never values), counted per store.
 */
async function checkEso(kube: KubeClient, options: StatusOptions): Promise<EsoStatus> {
  const eso: EsoStatus = {checked: true, stores: [], pushSecrets: {total: 0, notReady: [], notReadyByStore: {}}, problems: []}
  const storeNames = [...new Set(options.regions.map((region) => region.clusterSecretStore))]
  try {
    const lists = options.namespaces?.length
      ? await Promise.all(options.namespaces.map((namespace) => kube.list(PUSH_SECRET_API_VERSION, 'PushSecret', {namespace})))
      : [await kube.list(PUSH_SECRET_API_VERSION, 'PushSecret')]
    const pushSecrets = lists.flat()
    eso.pushSecrets.total = pushSecrets.length
    for (const pushSecret of pushSecrets) {
      const condition = readyCondition(pushSecret)
      if (condition?.status === 'True') continue
      const stores = storesOf(pushSecret)
      eso.pushSecrets.notReady.push({
        namespace: pushSecret.metadata?.namespace ?? '',
        name: pushSecret.metadata?.name ?? '',
        stores,
        message: condition ? describeReady(condition) : 'no Ready condition yet (ESO has not reconciled it)',
      })
      for (const store of stores) eso.pushSecrets.notReadyByStore[store] = (eso.pushSecrets.notReadyByStore[store] ?? 0) + 1
    }
    eso.pushSecrets.notReady.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name))
    for (const item of eso.pushSecrets.notReady) {
      eso.problems.push({severity: 'degraded', message: `PushSecret ${displayText(item.namespace)}/${displayText(item.name)} is not Ready (stores ${item.stores.map(displayText).join(', ')}): ${displayText(item.message)}`})
    }
  } catch (error) {
    eso.problems.push({severity: 'unknown', message: `cannot list PushSecrets: ${(error as Error).message}`})
  }
  for (const store of storeNames) {
    try {
      const object = await kube.read(CLUSTER_SECRET_STORE_API_VERSION, 'ClusterSecretStore', store)
      const condition = readyCondition(object)
      const ready = condition?.status === 'True'
      eso.stores.push({
        name: store,
        found: object !== undefined,
        ready,
        message: object === undefined ? 'not found' : condition ? describeReady(condition) || undefined : 'no Ready condition yet',
        pushSecretsNotReady: eso.pushSecrets.notReadyByStore[store] ?? 0,
      })
      if (!object) eso.problems.push({severity: 'degraded', message: `ClusterSecretStore ${displayText(store)} (named by the configuration) does not exist`})
      else if (!ready) eso.problems.push({severity: 'degraded', message: `ClusterSecretStore ${displayText(store)} is not Ready: ${displayText(condition ? describeReady(condition) : 'no Ready condition yet')}`})
    } catch (error) {
      eso.stores.push({name: store, found: false, ready: false, message: 'could not be read', pushSecretsNotReady: eso.pushSecrets.notReadyByStore[store] ?? 0})
      eso.problems.push({severity: 'unknown', message: `cannot read ClusterSecretStore ${displayText(store)}: ${(error as Error).message}`})
    }
  }
  return eso
}

/**
 * One health view of the whole system: every region's Vault nodes, token,
 * Raft and newest snapshot, and ESO's stores and PushSecrets. Never throws
 * for what it finds: a region that cannot be reached or read is a problem of
 * severity `unknown` (exit 2), a state that needs attention is `degraded`
 * (exit 1), and every other region is still checked.
 */
export async function checkStatus(options: StatusOptions): Promise<StatusReport> {
  const now = options.now?.() ?? new Date()
  const [regions, eso] = await Promise.all([
    Promise.all(options.regions.map((region) => checkRegion(region, options, now))),
    options.kube
      ? checkEso(options.kube, options)
      : Promise.resolve<EsoStatus>({checked: false, reason: options.skipEsoReason ?? 'no kubeconfig', stores: [], pushSecrets: {total: 0, notReady: [], notReadyByStore: {}}, problems: []}),
  ])
  const indexes = regions.map((region) => region.raftAppliedIndex).filter((index): index is number => index !== undefined)
  const highest = indexes.length > 0 ? Math.max(...indexes) : undefined
  for (const region of regions) {
    if (highest === undefined || region.raftAppliedIndex === undefined) continue
    region.indexLag = highest - region.raftAppliedIndex
    if (options.maxIndexLag !== undefined && region.indexLag > options.maxIndexLag) {
      region.problems.push({severity: 'degraded', message: `region ${displayText(region.region)}: Raft applied index ${region.raftAppliedIndex} is ${region.indexLag} behind the highest (over --max-index-lag ${options.maxIndexLag})`})
    }
  }
  const problems: StatusProblem[] = [...regions.flatMap((region) => region.problems), ...eso.problems]
  return {
    health: problems.some((problem) => problem.severity === 'unknown') ? 'unknown' : problems.length > 0 ? 'degraded' : 'healthy',
    checkedAt: now.toISOString(),
    thresholds: {
      minTokenTtlSeconds: seconds(options.minTokenTtlMs),
      maxSnapshotAgeSeconds: options.maxSnapshotAgeMs === undefined ? undefined : seconds(options.maxSnapshotAgeMs),
      maxIndexLag: options.maxIndexLag,
    },
    regions,
    eso,
    problems,
  }
}
