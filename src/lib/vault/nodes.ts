import type {RegionConfig, VaultConfig} from '../config/schema.js'
import {redactUrl} from '../report/display.js'
import {StoreRequestError} from './errors.js'
import {VaultHttp} from './vault-http.js'
import {type VaultHealth, VaultSys} from './vault-sys.js'

/** One node of a region's cluster as sys/health (and, for a standby, sys/leader) saw it. */
export interface NodeProbe {
  /** The node's address as configured, shown without credentials. */
  address: string
  reachable: boolean
  health?: VaultHealth
  /** The active node's address as this node reports it (sys/leader; unauthenticated). */
  leaderAddress?: string
  /** Why it could not be reached: the network error code, a timeout or an HTTP status. */
  error?: string
}

/** Every node address of a region: `vault.address` first, then `vault.addresses`, each once. */
export function nodeAddresses(vault: VaultConfig): string[] {
  const trimmed = (address: string) => address.replace(/\/+$/, '')
  const seen = new Set<string>()
  const out: string[] = []
  for (const address of [vault.address, ...(vault.addresses ?? [])]) {
    if (seen.has(trimmed(address))) continue
    seen.add(trimmed(address))
    out.push(address)
  }
  return out
}

const isActive = (health: VaultHealth | undefined) => health !== undefined && health.initialized && !health.sealed && !health.standby

/** sys/health of one node (and sys/leader when it is a standby), without a token and without retries. */
export async function probeNode(regionName: string, vault: VaultConfig, address: string, timeoutMs = Math.min(vault.requestTimeoutMs, 10_000)): Promise<NodeProbe> {
  const http = new VaultHttp(regionName, {...vault, address, requestTimeoutMs: timeoutMs}, {retry: {attempts: 1, baseDelayMs: 0, maxDelayMs: 0}})
  const shown = redactUrl(address).replace(/\/$/, '')
  try {
    const sys = new VaultSys(http)
    const health = await sys.health()
    const probe: NodeProbe = {address: shown, reachable: true, health}
    if (health.standby && !health.sealed) probe.leaderAddress = (await sys.leader().catch(() => undefined))?.leaderAddress || undefined
    return probe
  } catch (error) {
    const reason = error instanceof StoreRequestError ? (error.failure === 'timeout' ? 'timeout' : error.status !== undefined ? `HTTP ${error.status}` : (error.networkCode ?? 'network error')) : 'failed'
    return {address: shown, reachable: false, error: reason}
  } finally {
    http.close()
  }
}

/** Every node of a region, probed at once. */
export function probeNodes(region: RegionConfig): Promise<NodeProbe[]> {
  return Promise.all(nodeAddresses(region.vault).map((address) => probeNode(region.name, region.vault, address)))
}

/**
 * The address to talk to for a region that lists several nodes: the active
 * node (initialized, unsealed, not a standby) among the configured ones; else
 * the leader a standby names, when it answers as active; else the first node
 * that answered at all, so that the usual "sealed" / "standby" /
 * "not initialized" error names a real state. Undefined when no node answered
 * (the caller's own request then reports the first address as unreachable).
 */
export async function chooseNode(region: RegionConfig): Promise<{address: string; nodes: NodeProbe[]} | undefined> {
  const addresses = nodeAddresses(region.vault)
  const nodes = await probeNodes(region)
  const active = nodes.findIndex((node) => isActive(node.health))
  if (active >= 0) return {address: addresses[active], nodes}
  for (const leader of new Set(nodes.map((node) => node.leaderAddress).filter((address): address is string => Boolean(address)))) {
    // api_addr as the standby knows it: used only when it answers as active itself.
    if (isActive((await probeNode(region.name, region.vault, leader)).health)) return {address: leader, nodes}
  }
  const answered = nodes.findIndex((node) => node.reachable)
  return answered >= 0 ? {address: addresses[answered], nodes} : undefined
}

/** The region with `vault.address` set to its active node, when it lists more than one node; else as it is. */
export async function withActiveNode(region: RegionConfig): Promise<RegionConfig> {
  if (nodeAddresses(region.vault).length < 2) return region
  const chosen = await chooseNode(region)
  return chosen ? {...region, vault: {...region.vault, address: chosen.address}} : region
}
