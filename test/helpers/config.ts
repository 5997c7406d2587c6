import {randomBytes} from 'node:crypto'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {stringify} from 'yaml'

import {regionEnvName} from '../../src/lib/config/credentials.js'

export interface ConfigRegion {
  name: string
  address: string
  /** Every node of the region (vault.addresses), when it has more than one. */
  addresses?: string[]
  /** Travels in the environment returned; none for a server not initialized yet. */
  token?: string
}

/**
 * The one configuration writer of the tests: a file naming the regions
 * (clusterSecretStore vault-<name>); the tokens travel in the environment
 * returned, as in production. `requestTimeoutMs: null` leaves the
 * configuration's default.
 */
export function writeConfig(dir: string, regions: ConfigRegion[], options: {file?: string; requestTimeoutMs?: number | null} = {}): {config: string; env: Record<string, string>} {
  const config = join(dir, options.file ?? `secrets-toolkit-${randomBytes(3).toString('hex')}.yaml`)
  const requestTimeoutMs = options.requestTimeoutMs === null ? {} : {requestTimeoutMs: options.requestTimeoutMs ?? 10_000}
  const vault = (r: ConfigRegion) => ({address: r.address, ...(r.addresses ? {addresses: r.addresses} : {}), ...requestTimeoutMs})
  writeFileSync(config, stringify({regions: regions.map((r) => ({name: r.name, clusterSecretStore: `vault-${r.name}`, vault: vault(r)}))}))
  return {config, env: Object.fromEntries(regions.flatMap((r) => (r.token === undefined ? [] : [[regionEnvName(r.name, 'VAULT_TOKEN'), r.token]])))}
}
