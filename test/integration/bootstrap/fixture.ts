import {execFileSync, spawn} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {join, resolve} from 'node:path'

import {loadConfig} from '../../../src/lib/config/load.js'
import {KubeClient, PUSH_SECRET_API_VERSION} from '../../../src/lib/kube/client.js'
import {connectRegion, type RegionVault} from '../../../src/lib/vault/connect.js'
import {sleep} from '../../env/net.js'
import {PROJECT_ROOT} from '../../helpers/binaries.js'
import type {CliResult} from '../../helpers/cli.js'
import {testEnv} from '../../helpers/env.js'

/**
 * The built CLI, copied once per run: other developers rebuild dist/ in the
 * same checkout at any time (`npm run build` starts with rm -rf dist), and a
 * test must not run half a build. Fails with the command to run when the
 * build has no bootstrap command.
 */
let snapshot: string | undefined
export function builtCli(): string {
  if (snapshot) return snapshot
  const root = join(testEnv().workDir, 'bootstrap-cli')
  for (let attempt = 1; ; attempt++) {
    const command = resolve(PROJECT_ROOT, 'dist/commands/bootstrap/index.js')
    const manifest = resolve(PROJECT_ROOT, 'oclif.manifest.json')
    if (existsSync(command) && existsSync(manifest) && readFileSync(manifest, 'utf8').includes('"bootstrap"')) {
      rmSync(root, {recursive: true, force: true})
      mkdirSync(join(root, 'bin'), {recursive: true})
      cpSync(resolve(PROJECT_ROOT, 'dist'), join(root, 'dist'), {recursive: true})
      for (const file of ['package.json', 'oclif.manifest.json', 'bin/run.js']) cpSync(resolve(PROJECT_ROOT, file), join(root, file))
      symlinkSync(resolve(PROJECT_ROOT, 'node_modules'), join(root, 'node_modules'))
      if (existsSync(join(root, 'dist/commands/bootstrap/index.js'))) {
        snapshot = join(root, 'bin/run.js')
        return snapshot
      }
    }
    if (attempt >= 30) throw new Error(`the built CLI has no bootstrap command (${command}).\nRun: npm run build`)
    // Someone may be rebuilding right now.
    execFileSync('sleep', ['2'])
  }
}

/** Runs the built CLI as a runbook does: stdin a pipe (or closed), output captured. */
export function runBuiltCli(args: string[], options: {env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number} = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [builtCli(), ...args], {
      cwd: PROJECT_ROOT,
      env: {...process.env, NO_COLOR: '1', ...options.env},
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout!.on('data', (chunk: Buffer) => out.push(chunk))
    child.stderr!.on('data', (chunk: Buffer) => err.push(chunk))
    if (options.input !== undefined) child.stdin!.end(options.input)
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 240_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolvePromise({code: code ?? -1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8')})
    })
  })
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`
}

/** A value that must reach Kubernetes and the Vaults, and nothing else. */
export function canary(label: string): string {
  return `canary-${label}-${randomBytes(8).toString('hex')}`
}

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
