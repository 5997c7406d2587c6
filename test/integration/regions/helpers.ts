// Shared by the verify-regions integration tests: drive the built CLI, seed
// and clean up keys through the project's own Vault client, and scan output
// for canary values.
import {randomBytes} from 'node:crypto'

import {loadConfig} from '../../../src/lib/config/load.js'
import {forEachLimited} from '../../../src/lib/compare/slots.js'
import {SecretValue} from '../../../src/lib/secret/secret-value.js'
import {connectRegion, type RegionVault} from '../../../src/lib/vault/connect.js'
import {builtCli, runCli} from '../../helpers/cli.js'
import {writeConfig as writeSharedConfig} from '../../helpers/config.js'
import type {VaultServerHandle} from '../../helpers/vault-server.js'

/** The frozen copy of the built CLI (test/helpers/cli.ts): a concurrent `npm run build` cannot pull it away mid-test. */
export function cliPath(): string {
  return builtCli()
}

export interface CliRun {
  code: number
  stdout: string
  stderr: string
}

/** Runs `secrets verify regions …` from the build (npm run build first), never through a shell. */
export function runVerify(args: string[], options: {config: string; env: Record<string, string>; timeoutMs?: number}): Promise<CliRun> {
  return runCli(['verify', 'regions', '--config', options.config, ...args], {env: options.env, timeoutMs: options.timeoutMs})
}

/** The JSON report of a run with --json (stdout is exactly one JSON document). */
export function report(run: CliRun): any {
  try {
    return JSON.parse(run.stdout)
  } catch {
    throw new Error(`stdout is not JSON (exit ${run.code}):\n${run.stdout.slice(0, 2000)}\nstderr:\n${run.stderr.slice(0, 2000)}`)
  }
}

export function uniquePrefix(name: string): string {
  return `verify-test-${name}-${randomBytes(4).toString('hex')}`
}

export {canary, expectNoCanary} from '../../helpers/canary.js'

export async function connectAll(configPath: string, env: Record<string, string>): Promise<Map<string, RegionVault>> {
  const {config} = loadConfig({path: configPath, env: {...process.env, ...env}})
  const vaults = new Map<string, RegionVault>()
  for (const region of config.regions) vaults.set(region.name, await connectRegion(region, {env: {...process.env, ...env}}))
  return vaults
}

export function data(values: Record<string, string>): Map<string, SecretValue> {
  return new Map(Object.entries(values).map(([property, value]) => [property, SecretValue.fromString(value)]))
}

/** Writes many keys at once through the project's client. */
export async function seed(vault: RegionVault, entries: [string, Record<string, string>][], concurrency = 16): Promise<void> {
  await forEachLimited(entries, concurrency, async ([key, values]) => {
    await vault.store.write(key, data(values))
  })
}

/** KV v2 destroy: the version's data is gone for good (not in the SecretStore interface; used to plant that state). */
export async function destroyCurrent(vault: RegionVault, key: string): Promise<void> {
  const metadata = await vault.store.readMetadata(key)
  await vault.store.destroyVersions(key, [metadata!.currentVersion])
}

/** Removes every key under the prefix (the shared regions are used by other tests). */
export async function cleanUp(vaults: Iterable<RegionVault>, prefix: string): Promise<void> {
  for (const vault of vaults) {
    const keys: string[] = []
    for await (const key of vault.store.list(`${prefix}/`)) keys.push(key)
    await forEachLimited(keys, 16, (key) => vault.store.delete(key))
  }
}

/** A configuration naming servers started by the test (for stopped/sealed scenarios), with tokens passed by environment. */
export function writeConfig(dir: string, servers: {name: string; server: VaultServerHandle}[]): {config: string; env: Record<string, string>} {
  return writeSharedConfig(dir, servers.map(({name, server}) => ({name, address: server.address, token: server.token!})), {requestTimeoutMs: 5000})
}
