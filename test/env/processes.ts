// Server processes of the integration environment: each runs in a process
// group of its own, logs to a file, and is listed in a registry file so that
// the global teardown, a signal handler or — if Jest itself dies — a reaper
// process can end every server a run started, including those that tests
// started through test/helpers/vault-server.ts.
import {spawn, type ChildProcess} from 'node:child_process'
import {appendFileSync, closeSync, existsSync, openSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'

/** Names the registry file of the current run; set by the global setup, read by test-started servers. */
export const PROCESS_REGISTRY_VARIABLE = 'SECRETS_TOOLKIT_TEST_PROCESSES'

export interface ManagedProcess {
  readonly name: string
  readonly pid: number
  readonly logFile: string
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<number | string>
  /** True until the process has exited. */
  running(): boolean
  /** SIGTERM to the whole group, SIGKILL after graceMs; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>
}

const live = new Set<ManagedProcess>()

export interface StartOptions {
  name: string
  command: string
  args: string[]
  logFile: string
  env?: NodeJS.ProcessEnv
  cwd?: string
}

/** Starts a server in its own process group, stdout and stderr appended to logFile. */
export function startProcess(options: StartOptions): ManagedProcess {
  const log = openSync(options.logFile, 'a')
  appendFileSync(log, `# ${new Date().toISOString()} ${options.command} ${options.args.join(' ')}\n`)
  let child: ChildProcess
  try {
    child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', log, log],
      // A group of its own: one kill reaches the server and anything it forks,
      // and a Ctrl-C in the terminal does not race the orderly teardown.
      detached: true,
    })
  } finally {
    closeSync(log)
  }
  let exitStatus: number | string | undefined
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      exitStatus = code ?? signal ?? 'unknown'
      resolve(exitStatus)
    })
    child.once('error', (error) => {
      appendFileSync(options.logFile, `# failed to start: ${error.message}\n`)
      exitStatus = 'spawn-error'
      resolve(exitStatus)
    })
  })
  if (child.pid === undefined) {
    throw new Error(`could not start ${options.name} (${options.command}); see ${options.logFile}`)
  }
  const pid = child.pid
  // The servers must not keep the test process alive on their own.
  child.unref()
  const managed: ManagedProcess = {
    name: options.name,
    pid,
    logFile: options.logFile,
    exited,
    running: () => exitStatus === undefined,
    async stop(graceMs = 10_000) {
      if (exitStatus === undefined) {
        signalGroup(pid, 'SIGTERM')
        const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), graceMs)
        await exited
        clearTimeout(timer)
        // Whatever the server forked dies with its group. Only right after our
        // own signal: a group id long dead may name someone else's processes.
        signalGroup(pid, 'SIGKILL')
      }
      live.delete(managed)
      unregister(pid)
    },
  }
  live.add(managed)
  register(pid, options.name)
  installExitHandler()
  return managed
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal)
  } catch {
    // Already gone.
  }
}

function registryFile(): string | undefined {
  return process.env[PROCESS_REGISTRY_VARIABLE]
}

function register(pgid: number, name: string): void {
  const file = registryFile()
  if (file) appendFileSync(file, `${pgid}\t${name}\n`)
}

function unregister(pgid: number): void {
  const file = registryFile()
  if (!file || !existsSync(file)) return
  const kept = readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith(`${pgid}\t`))
  writeFileSync(file, kept.map((line) => `${line}\n`).join(''))
}

/** Process groups listed in a registry file. */
export function registeredGroups(file: string): number[] {
  if (!existsSync(file)) return []
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => Number.parseInt(line.split('\t')[0], 10))
    .filter((pgid) => Number.isInteger(pgid) && pgid > 1)
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

/**
 * Whether a group still has a running member. Exited children stay zombies
 * (and in their group) until Node reaps them, which it cannot do while a
 * synchronous wait blocks the event loop: so on Linux, /proc decides.
 */
function groupAlive(pgid: number): boolean {
  if (!existsSync('/proc/self/stat')) {
    try {
      process.kill(-pgid, 0)
      return true
    } catch {
      return false
    }
  }
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      // pid (comm) state ppid pgrp …; comm may contain spaces and parentheses.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (Number(pgrp) === pgid && state !== 'Z') return true
    } catch {
      // The process ended while we looked.
    }
  }
  return false
}

/**
 * Ends process groups synchronously: usable from 'exit' and signal handlers,
 * where nothing asynchronous runs any more.
 */
export function killGroupsSync(pgids: number[], graceMs = 3000): void {
  for (const pgid of pgids) signalGroup(pgid, 'SIGTERM')
  const deadline = Date.now() + graceMs
  while (pgids.some(groupAlive) && Date.now() < deadline) sleepSync(50)
  for (const pgid of pgids) signalGroup(pgid, 'SIGKILL')
}

/** Every process this module started in this process and that is still running. */
export function liveProcesses(): ManagedProcess[] {
  return [...live]
}

let exitHandlerInstalled = false

/** Last resort for a test process that ends without stopping what it started. */
function installExitHandler(): void {
  if (exitHandlerInstalled) return
  exitHandlerInstalled = true
  process.once('exit', () => killGroupsSync([...live].filter((p) => p.running()).map((p) => p.pid), 2000))
}

/**
 * A detached shell that outlives a Jest killed with SIGKILL (or crashed): it
 * waits for the Jest process to disappear, then ends every group still in the
 * registry. The orderly teardown empties the registry and stops the reaper.
 */
export function startReaper(registry: string, logFile: string): ManagedProcess {
  const script = [
    'parent=$1; registry=$2',
    'while kill -0 "$parent" 2>/dev/null; do sleep 1; done',
    '[ -f "$registry" ] || exit 0',
    'groups=$(cut -f1 "$registry")',
    // dash's kill takes no "--": the signal first, then the negative group id.
    'for g in $groups; do kill -TERM "-$g" 2>/dev/null; done',
    'sleep 3',
    'for g in $groups; do kill -KILL "-$g" 2>/dev/null; done',
    'echo reaped: $groups',
  ].join('\n')
  const reaper = startProcess({name: 'reaper', command: 'sh', args: ['-c', script, 'reaper', String(process.pid), registry], logFile})
  // The reaper watches the registry; it is not in it.
  unregister(reaper.pid)
  return reaper
}

/** A tail of a log file, for error messages that say why a server did not come up. */
export function logTail(file: string, lines = 25): string {
  try {
    const text = readFileSync(file, 'utf8').trimEnd().split('\n')
    return text.slice(-lines).join('\n')
  } catch {
    return '(no log)'
  }
}
