// A real Vault-API server (the `bao` test binary: HashiCorp Vault built from
// source, or any Vault-API binary named by BAO_BIN) with Raft integrated
// storage on loopback ports. The global setup starts region1 and region2 with
// it; tests start servers of their own for destructive scenarios (restore into
// another cluster, `bootstrap --init-vault` on an uninitialized server, a
// region that is stopped or sealed). Every server dies with the test process.
import {existsSync, mkdirSync, writeFileSync} from 'node:fs'
import {join, resolve} from 'node:path'

import {regionSchema} from '../../src/lib/config/schema.js'
import {SecretValue} from '../../src/lib/secret/secret-value.js'
import {type VaultHealth, VaultSys} from '../../src/lib/vault/vault-sys.js'
import {VaultHttp} from '../../src/lib/vault/vault-http.js'
import {freePorts, sleep, waitFor} from '../env/net.js'
import {logTail, type ManagedProcess, startProcess} from '../env/processes.js'
import {PROJECT_ROOT, requireBinary} from './binaries.js'
import {TEST_ENV_VARIABLE, testEnv} from './env.js'

export interface VaultServerOptions {
  /** Initialize (1 key share, threshold 1), unseal and mount KV v2; false leaves a fresh, uninitialized server. */
  initialize: boolean
  /** Used for the directory, the log file and Raft's node_id; defaults to "vault". */
  name?: string
  /** KV v2 mount created after initialization (default "secret"); false for none. */
  kvMount?: string | false
  /** Where the data and log go; defaults to the run's workDir, else a fresh test-output/ directory. */
  workDir?: string
  /** A Vault-API server binary; defaults to requireBinary('bao'). */
  binary?: string
}

export interface VaultServerHandle {
  readonly name: string
  /** http://127.0.0.1:PORT — stays the same across restart(). */
  readonly address: string
  /** Root token, once initialized. */
  readonly token?: string
  /** The single unseal key, once initialized. */
  readonly unsealKey?: string
  readonly dataDir: string
  readonly logFile: string
  /** The server process's id (its process group), while it runs. */
  readonly pid?: number
  /** sys/health as the project's client reads it. */
  health(): Promise<VaultHealth>
  /** Initializes an uninitialized server (1 share, threshold 1), unseals it and mounts KV v2. */
  initialize(): Promise<void>
  /** Stops the process (SIGTERM, then SIGKILL); the data stays. */
  stop(): Promise<void>
  /** Starts it again on the same address; unseals it when the unseal key is known, unless told not to. */
  restart(options?: {unseal?: boolean}): Promise<void>
  /** Seals the running server (sys/seal with the root token). */
  seal(): Promise<void>
  /** Unseals with the known key and waits until the server is active. */
  unseal(): Promise<void>
}

const STARTUP_TIMEOUT_MS = 60_000

function defaultWorkDir(): string {
  if (process.env[TEST_ENV_VARIABLE]) return testEnv().workDir
  const dir = resolve(PROJECT_ROOT, 'test-output', `vault-${new Date().toISOString().replaceAll(/[:.]/g, '-')}-${process.pid}`)
  mkdirSync(dir, {recursive: true})
  return dir
}

/** A directory name not used yet in this run: region1, or dr-target, dr-target-2, … */
function uniqueName(root: string, name: string): string {
  let candidate = name
  for (let n = 2; existsSync(join(root, candidate)); n++) candidate = `${name}-${n}`
  return candidate
}

/** A Raft node's configuration; `retryJoin` (the leader's API address) makes it join that cluster instead of starting one. */
export function raftConfig(nodeId: string, dataDir: string, port: number, clusterPort: number, options: {retryJoin?: string} = {}): string {
  const joinBlock = options.retryJoin ? `\n  retry_join {\n    leader_api_addr = "${options.retryJoin}"\n  }` : ''
  return `# Written by test/helpers/vault-server.ts
storage "raft" {
  path    = "${dataDir}"
  node_id = "${nodeId}"
  # Leader election in about a second instead of the production default's five.
  performance_multiplier = 1${joinBlock}
}
listener "tcp" {
  address         = "127.0.0.1:${port}"
  cluster_address = "127.0.0.1:${clusterPort}"
  tls_disable     = 1
}
api_addr      = "http://127.0.0.1:${port}"
cluster_addr  = "https://127.0.0.1:${clusterPort}"
cluster_name  = "${nodeId}"
disable_mlock = true
ui            = false
log_level     = "info"
`
}

class VaultServer implements VaultServerHandle {
  token?: string
  unsealKey?: string
  #process?: ManagedProcess
  readonly #sys: VaultSys
  readonly #http: VaultHttp
  readonly #setupSys: VaultSys
  readonly #setupHttp: VaultHttp

  constructor(
    readonly name: string,
    readonly address: string,
    readonly dataDir: string,
    readonly logFile: string,
    private readonly configFile: string,
    private readonly binary: string,
  ) {
    const vault = regionSchema.shape.vault.parse({address, requestTimeoutMs: 5000})
    // Waits poll on their own; a request here should fail fast, not back off.
    this.#http = new VaultHttp(name, vault, {retry: {attempts: 1, baseDelayMs: 0, maxDelayMs: 0}})
    this.#sys = new VaultSys(this.#http)
    // Init, unseal and a mount are one-shot Raft writes that cannot simply be
    // sent again (a second init is refused): they get the start-up budget. On a
    // disk busy with other writes, two fresh nodes took 9 s to start on
    // sys/init, and the 5 s above failed the whole integration run.
    this.#setupHttp = new VaultHttp(name, {...vault, requestTimeoutMs: STARTUP_TIMEOUT_MS}, {retry: {attempts: 1, baseDelayMs: 0, maxDelayMs: 0}})
    this.#setupSys = new VaultSys(this.#setupHttp)
  }

  get pid(): number | undefined {
    return this.#process?.running() ? this.#process.pid : undefined
  }

  health(): Promise<VaultHealth> {
    return this.#sys.health()
  }

  /** Starts the process and waits until it answers sys/health (in any state). */
  async start(): Promise<void> {
    const process_ = startProcess({name: `vault ${this.name}`, command: this.binary, args: ['server', `-config=${this.configFile}`], logFile: this.logFile})
    this.#process = process_
    await waitFor(`Vault server ${this.name} at ${this.address} to listen`, () => this.#sys.health(), {
      timeoutMs: STARTUP_TIMEOUT_MS,
      intervalMs: 100,
      abort: () => (process_.running() ? undefined : `the server exited; its log ${this.logFile} ends with:\n${logTail(this.logFile)}`),
    })
  }

  async initialize(): Promise<void> {
    const {keys, rootToken} = await this.#setupSys.init(1, 1)
    this.unsealKey = keys[0].revealString()
    this.token = rootToken.revealString()
    this.#http.setToken(rootToken)
    this.#setupHttp.setToken(rootToken)
    await this.unseal()
  }

  async mountKv(path: string): Promise<void> {
    await this.#setupHttp.request('POST', `sys/mounts/${path}`, {body: {type: 'kv', options: {version: '2'}}, retry: false})
    // A new KV v2 mount answers 400 ("upgrading") for a moment before it takes writes.
    await waitFor(`KV v2 mount ${path}/ on ${this.name}`, async () => (await this.#http.request('GET', `${path}/config`, {retry: false})).status, {timeoutMs: 30_000, intervalMs: 100})
  }

  async unseal(): Promise<void> {
    if (!this.unsealKey) throw new Error(`Vault server ${this.name} has no known unseal key (it was not initialized by this helper)`)
    await this.#setupSys.unseal(SecretValue.fromString(this.unsealKey))
    await waitFor(`Vault server ${this.name} to become active after unseal`, async () => {
      const health = await this.#sys.health()
      return health.initialized && !health.sealed && !health.standby ? health : undefined
    }, {timeoutMs: STARTUP_TIMEOUT_MS, intervalMs: 100})
  }

  async seal(): Promise<void> {
    if (!this.token) throw new Error(`Vault server ${this.name} has no known root token (it was not initialized by this helper)`)
    await this.#http.request('PUT', 'sys/seal', {retry: false})
  }

  async stop(): Promise<void> {
    await this.#process?.stop()
    this.#http.agent.destroy()
    this.#setupHttp.agent.destroy()
  }

  async restart(options: {unseal?: boolean} = {}): Promise<void> {
    await this.stop()
    await this.start()
    if (this.unsealKey && options.unseal !== false) await this.unseal()
  }
}

/** Starts a real Vault-API server with Raft storage on free loopback ports. */
export async function startVaultServer(options: VaultServerOptions): Promise<VaultServerHandle> {
  const binary = options.binary ?? requireBinary('bao')
  const workDir = options.workDir ?? defaultWorkDir()
  const vaultRoot = join(workDir, 'vault')
  mkdirSync(join(workDir, 'logs'), {recursive: true})
  mkdirSync(vaultRoot, {recursive: true})
  const name = uniqueName(vaultRoot, options.name ?? 'vault')
  const home = join(vaultRoot, name)
  const dataDir = join(home, 'raft')
  mkdirSync(dataDir, {recursive: true})
  const logFile = join(workDir, 'logs', `vault-${name}.log`)
  const configFile = join(home, 'config.hcl')

  let server: VaultServer | undefined
  // A port handed out by the kernel can be taken by another process before
  // Vault binds it (other test runs share the machine): try fresh ports then.
  for (let attempt = 1; ; attempt++) {
    const [port, clusterPort] = await freePorts(2)
    writeFileSync(configFile, raftConfig(name, dataDir, port, clusterPort))
    server = new VaultServer(name, `http://127.0.0.1:${port}`, dataDir, logFile, configFile, binary)
    try {
      await server.start()
      break
    } catch (error) {
      await server.stop()
      if (attempt >= 3 || !/address already in use/.test(logTail(logFile, 40))) throw error
      await sleep(100)
    }
  }
  try {
    if (options.initialize) {
      await server.initialize()
      if (options.kvMount !== false) await server.mountKv(options.kvMount ?? 'secret')
    }
  } catch (error) {
    await server.stop()
    throw new Error(`Vault server ${name} did not come up: ${(error as Error).message}\nIts log: ${logFile}\n${logTail(logFile)}`)
  }
  return server
}
