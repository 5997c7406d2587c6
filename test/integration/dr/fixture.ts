// Shared set-up for the `dr` integration tests: servers of their own (restores
// are destructive), a configuration naming them, canary secrets, damaged
// copies of a real snapshot, and an HTTP listener that counts requests.
import {randomBytes} from 'node:crypto'
import {existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import http from 'node:http'
import {dirname, join, resolve} from 'node:path'
import {gunzipSync, gzipSync} from 'node:zlib'

import tar from 'tar-stream'

import {regionSchema} from '../../../src/lib/config/schema.js'
import {SecretValue} from '../../../src/lib/secret/secret-value.js'
import {withStoreRetry} from '../../../src/lib/vault/retrying-store.js'
import type {SecretData, SecretStore} from '../../../src/lib/vault/secret-store.js'
import {VaultHttp} from '../../../src/lib/vault/vault-http.js'
import {VaultKvStore} from '../../../src/lib/vault/vault-kv-store.js'
import {VaultSys} from '../../../src/lib/vault/vault-sys.js'
import {PROJECT_ROOT} from '../../helpers/binaries.js'
import {canary, leaked} from '../../helpers/canary.js'
import {writeConfig as writeSharedConfig, type ConfigRegion} from '../../helpers/config.js'
import {builtCli, runCli, type CliResult} from '../../helpers/cli.js'
import {TEST_ENV_VARIABLE, testEnv} from '../../helpers/env.js'

/** Freezes the built CLI now (waiting out a concurrent rebuild, see test/helpers/cli.ts) and checks it has the dr commands. */
export function requireBuiltCli(): void {
  const command = resolve(dirname(builtCli()), '../dist/commands/dr/restore.js')
  if (!existsSync(command)) throw new Error(`the built CLI has no dr restore command (${command}).\nRun: npm run build`)
}

export function workDir(name: string): string {
  const root = process.env[TEST_ENV_VARIABLE] ? testEnv().workDir : resolve(PROJECT_ROOT, 'test-output')
  const dir = join(root, 'dr', `${name}-${randomBytes(3).toString('hex')}`)
  mkdirSync(dir, {recursive: true})
  return dir
}

export {canary, leaked} from '../../helpers/canary.js'
export type {ConfigRegion as RegionDef} from '../../helpers/config.js'

/** The configuration file of a dr test: secrets-toolkit.yaml in its directory. */
export function writeConfig(dir: string, regions: ConfigRegion[]): {config: string; env: Record<string, string>} {
  return writeSharedConfig(dir, regions, {file: 'secrets-toolkit.yaml'})
}

/** A region's KV mount for seeding and checking, straight to the server: retried as connectRegion's store is. */
export function store(name: string, address: string, token: string): SecretStore {
  const vaultHttp = new VaultHttp(name, regionSchema.shape.vault.parse({address, requestTimeoutMs: 10_000}), {retry: {attempts: 3, baseDelayMs: 100, maxDelayMs: 500}})
  vaultHttp.setToken(SecretValue.fromString(token))
  return withStoreRetry(new VaultKvStore(vaultHttp, 'secret'), vaultHttp.retryPolicy)
}

export function sys(name: string, address: string): VaultSys {
  return new VaultSys(new VaultHttp(name, regionSchema.shape.vault.parse({address, requestTimeoutMs: 10_000}), {retry: {attempts: 1, baseDelayMs: 0, maxDelayMs: 0}}))
}

export type Plain = Record<string, Record<string, string>>

export const data = (values: Record<string, string>): SecretData => new Map(Object.entries(values).map(([k, v]) => [k, SecretValue.fromString(v)]))

export async function writeAll(kv: SecretStore, secrets: Plain): Promise<void> {
  for (const [key, values] of Object.entries(secrets)) await kv.write(key, data(values))
}

/** Every key and value of the mount, in plain text, for comparing whole states in a test. */
export async function readAll(kv: SecretStore): Promise<Plain> {
  const out: Plain = {}
  for await (const key of kv.list('')) {
    const record = await kv.read(key)
    if (!record) continue
    out[key] = Object.fromEntries([...record.data].map(([k, v]) => [k, v.revealString()]))
  }
  return out
}

export async function cli(args: string[], env: Record<string, string>, config: string): Promise<CliResult & {json?: any}> {
  const result = await runCli([...args, '--config', config], {env})
  let json: any
  try {
    json = JSON.parse(result.stdout)
  } catch {
    json = undefined
  }
  return {...result, json}
}

/**
 * The canaries of one test file and its CLI runner: `secret(label)` makes a
 * canary value and remembers it; `run` runs the built CLI, fails unless it
 * exits with `expectedCode`, and checks its output holds no canary (nor any
 * of `alsoNever`, e.g. a password planted in an address).
 */
export function canaryCli(alsoNever: string[] = []) {
  const canaries: string[] = []
  const secret = (label: string) => {
    const value = canary(label)
    canaries.push(value)
    return value
  }
  const run = async (args: string[], env: Record<string, string>, config: string, expectedCode: number) => {
    const result = await cli(args, env, config)
    const output = `${result.stdout}\n${result.stderr}`
    expect(leaked(output, [...canaries, ...alsoNever])).toEqual([])
    if (result.code !== expectedCode) throw new Error(`secrets ${args.join(' ')} exited ${result.code}, expected ${expectedCode}:\n${output}`)
    return result
  }
  return {canaries, secret, run}
}

/** Scans every file under `dir` (archives also decompressed) for canaries. */
export function leakedInFiles(dir: string, canaries: string[]): string[] {
  const found: string[] = []
  for (const name of readdirSync(dir, {recursive: true}) as string[]) {
    const path = join(dir, name)
    if (!statSync(path).isFile()) continue
    const bytes = readFileSync(path)
    let inflated: Buffer | undefined
    try {
      inflated = gunzipSync(bytes)
    } catch {
      inflated = undefined
    }
    for (const label of [...leaked(bytes, canaries), ...(inflated ? leaked(inflated, canaries) : [])]) found.push(`${label} in ${name}`)
  }
  return found
}

export async function untar(archive: Buffer): Promise<{name: string; content: Buffer}[]> {
  const extract = tar.extract()
  const members: {name: string; content: Buffer}[] = []
  const reading = (async () => {
    for await (const entry of extract) {
      const chunks: Buffer[] = []
      for await (const chunk of entry as AsyncIterable<Buffer>) chunks.push(chunk)
      members.push({name: entry.header.name, content: Buffer.concat(chunks)})
    }
  })()
  extract.end(gunzipSync(archive))
  await reading
  return members
}

export async function retar(members: {name: string; content: Buffer}[]): Promise<Buffer> {
  const pack = tar.pack()
  for (const member of members) pack.entry({name: member.name, size: member.content.length, mode: 0o600}, member.content)
  pack.finalize()
  const chunks: Buffer[] = []
  for await (const chunk of pack as AsyncIterable<Buffer>) chunks.push(chunk)
  return gzipSync(Buffer.concat(chunks))
}

/** Damaged copies of a real snapshot, named so that no manifest is found for them. */
export async function damagedCopies(good: string, dir: string): Promise<Record<string, string>> {
  const bytes = readFileSync(good)
  const members = await untar(bytes)
  const state = members.find((m) => m.name === 'state.bin')!
  const flipped = Buffer.from(state.content)
  flipped[Math.floor(flipped.length / 2)] ^= 0x01
  const files: Record<string, Buffer> = {
    truncated: bytes.subarray(0, Math.floor(bytes.length / 2)),
    'flipped-state-bin': await retar(members.map((m) => (m.name === 'state.bin' ? {name: m.name, content: flipped} : m))),
    empty: Buffer.alloc(0),
    'not-a-snapshot': Buffer.from('regions:\n  - name: region1\n# a YAML file given by mistake\n'),
  }
  const paths: Record<string, string> = {}
  for (const [name, content] of Object.entries(files)) {
    paths[name] = join(dir, `${name}.snap`)
    writeFileSync(paths[name], content)
  }
  return paths
}

/** An HTTP listener that answers 503 to everything and counts what it was asked. */
export async function countingServer(): Promise<{address: string; requests: () => number; close: () => Promise<void>}> {
  let count = 0
  const server = http.createServer((request, response) => {
    count++
    request.resume()
    response.writeHead(503, {'Content-Type': 'application/json'}).end('{"errors":["counting server"]}')
  })
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  const {port} = server.address() as {port: number}
  return {
    address: `http://127.0.0.1:${port}`,
    requests: () => count,
    close: () => new Promise((done) => server.close(() => done())),
  }
}

export type SnapshotFault = 'none' | 'empty' | 'truncated' | 'reset' | 'garbage'

/**
 * A pass-through proxy in front of a real server that damages only the Raft
 * snapshot download, the way a failing disk, a crashed node or a cut
 * connection would. Everything else reaches the real server unchanged.
 */
export async function faultyProxy(target: string): Promise<{address: string; fault: (mode: SnapshotFault) => void; close: () => Promise<void>}> {
  let mode: SnapshotFault = 'empty'
  const upstream = new URL(target)
  const server = http.createServer((request, response) => {
    const forward = http.request({host: upstream.hostname, port: upstream.port, method: request.method, path: request.url, headers: request.headers}, (answer) => {
      if (mode === 'none' || !request.url?.startsWith('/v1/sys/storage/raft/snapshot') || request.method !== 'GET') {
        response.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(response)
        return
      }
      const chunks: Buffer[] = []
      answer.on('data', (chunk: Buffer) => chunks.push(chunk))
      answer.on('end', () => {
        const body = Buffer.concat(chunks)
        const headers = {'Content-Type': 'application/octet-stream'}
        if (mode === 'empty') response.writeHead(200, headers).end()
        else if (mode === 'truncated') response.writeHead(200, headers).end(body.subarray(0, Math.floor(body.length / 2)))
        else if (mode === 'garbage') response.writeHead(200, headers).end(randomBytes(body.length))
        else {
          response.writeHead(200, headers)
          response.write(body.subarray(0, Math.floor(body.length / 2)), () => response.socket?.destroy())
        }
      })
    })
    forward.on('error', () => response.destroy())
    request.pipe(forward)
  })
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  const {port} = server.address() as {port: number}
  return {
    address: `http://127.0.0.1:${port}`,
    fault: (next) => {
      mode = next
    },
    close: () =>
      new Promise((done) => {
        server.closeAllConnections()
        server.close(() => done())
      }),
  }
}
