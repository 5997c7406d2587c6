import {randomBytes} from 'node:crypto'
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {loadConfig} from '../../../src/lib/config/load.js'
import {PUSH_SECRET_API_VERSION} from '../../../src/lib/eso/api.js'
import {KubeClient} from '../../../src/lib/kube/client.js'
import {connectRegion, type RegionVault} from '../../../src/lib/vault/connect.js'
import {sleep} from '../../env/net.js'
import {testEnv} from '../../helpers/env.js'

/** The shared frozen copy of the built CLI, and its runner (test/helpers/cli.ts). */
export {builtCli, runCli as runBuiltCli} from '../../helpers/cli.js'

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`
}

export {canary} from '../../helpers/canary.js'

export function testDir(name: string): string {
  const dir = join(testEnv().workDir, 'bootstrap', uniqueName(name))
  mkdirSync(dir, {recursive: true})
  return dir
}

export function writeSpec(dir: string, yaml: string): string {
  const path = join(dir, 'bootstrap.yaml')
  writeFileSync(path, yaml)
  return path
}

/** The CLI's environment: the region tokens and KUBECONFIG, as an operator's shell has them. */
export function cliEnv(): NodeJS.ProcessEnv {
  return {...process.env, ...testEnv().tokenEnv}
}

export function kube(): KubeClient {
  return KubeClient.connect({kubeconfig: testEnv().kubeconfig})
}

export async function vaults(): Promise<RegionVault[]> {
  const {config} = loadConfig({path: testEnv().configPath})
  return Promise.all(config.regions.map((region) => connectRegion(region, {env: cliEnv()})))
}

/** The Secret's values as strings (test-side only). */
export async function secretStrings(namespace: string, name: string): Promise<Record<string, string> | undefined> {
  const secret = await kube().getSecret(namespace, name)
  if (!secret) return undefined
  return Object.fromEntries([...secret.data].map(([key, value]) => [key, value.revealString()]))
}

export async function pushSecretExists(namespace: string, name: string): Promise<boolean> {
  return (await kube().read(PUSH_SECRET_API_VERSION, 'PushSecret', name, namespace)) !== undefined
}

/** Reads `{namespace}/{name}` in every region until it holds `expected`, or fails naming the region. */
export async function expectVaultsHold(namespace: string, name: string, expected: Record<string, string>, timeoutMs = 60_000): Promise<void> {
  const regions = await vaults()
  try {
    for (const vault of regions) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const record = await vault.store.read(`${namespace}/${name}`)
        const actual = record ? Object.fromEntries([...record.data].map(([key, value]) => [key, value.revealString()])) : undefined
        if (actual && Object.entries(expected).every(([key, value]) => actual[key] === value)) break
        if (Date.now() > deadline) throw new Error(`${vault.region.name} does not hold ${namespace}/${name} as expected (keys there: ${actual ? Object.keys(actual).join(', ') : 'none'})`)
        await sleep(500)
      }
    }
  } finally {
    await Promise.all(regions.map((vault) => vault.close()))
  }
}
