import {randomBytes} from 'node:crypto'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {stringify} from 'yaml'

import {regionEnvName} from '../../src/lib/config/credentials.js'

export interface ConfigRegion {
  name: string
  address: string
  token: string
}

/**
 * A configuration file naming the regions (clusterSecretStore vault-<name>);
 * the tokens travel in the environment returned, as in production.
 */
export function writeConfig(dir: string, regions: ConfigRegion[], options: {file?: string; requestTimeoutMs?: number} = {}): {config: string; env: Record<string, string>} {
  const config = join(dir, options.file ?? `secrets-toolkit-${randomBytes(3).toString('hex')}.yaml`)
  writeFileSync(
    config,
    stringify({regions: regions.map((r) => ({name: r.name, clusterSecretStore: `vault-${r.name}`, vault: {address: r.address, requestTimeoutMs: options.requestTimeoutMs ?? 10_000}}))}),
  )
  return {config, env: Object.fromEntries(regions.map((r) => [regionEnvName(r.name, 'VAULT_TOKEN'), r.token]))}
}
