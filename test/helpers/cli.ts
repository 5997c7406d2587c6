import {execFileSync, spawn} from 'node:child_process'
import {cpSync, existsSync, mkdirSync, readdirSync, rmSync, symlinkSync} from 'node:fs'
import {join, resolve} from 'node:path'

import {PROJECT_ROOT} from './binaries.js'

export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

let frozen: string | undefined

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Jest kills its workers without an exit event: earlier copies go when their process is gone. */
function removeStaleCopies(parent: string): void {
  for (const name of existsSync(parent) ? readdirSync(parent) : []) {
    const pid = Number(/^cli-(\d+)$/.exec(name)?.[1])
    if (pid && !processAlive(pid)) rmSync(join(parent, name), {recursive: true, force: true})
  }
}

/**
 * The built CLI, copied once per test process: `npm run build` starts with
 * `rm -rf dist`, and a rebuild in the same checkout must not pull the CLI away
 * from a test half way. The copy lives in test-output/cli-<pid> (ignored by git
 * and jest). Fails with the command to run when there is no build.
 */
export function builtCli(): string {
  if (frozen) return frozen
  const manifest = resolve(PROJECT_ROOT, 'oclif.manifest.json')
  for (let attempt = 1; !existsSync(manifest) || !existsSync(resolve(PROJECT_ROOT, 'dist/index.js')); attempt++) {
    if (attempt >= 300) throw new Error('the CLI is not built (no dist/ or oclif.manifest.json).\nRun: npm run build')
    // Someone may be rebuilding right now: on a loaded machine a build takes minutes, so wait up to 10.
    execFileSync('sleep', ['2'])
  }
  const parent = resolve(PROJECT_ROOT, 'test-output')
  removeStaleCopies(parent)
  const root = join(parent, `cli-${process.pid}`)
  rmSync(root, {recursive: true, force: true})
  mkdirSync(join(root, 'bin'), {recursive: true})
  cpSync(resolve(PROJECT_ROOT, 'dist'), join(root, 'dist'), {recursive: true})
  for (const file of ['package.json', 'oclif.manifest.json', 'bin/run.js']) cpSync(resolve(PROJECT_ROOT, file), join(root, file))
  symlinkSync(resolve(PROJECT_ROOT, 'node_modules'), join(root, 'node_modules'))
  frozen = join(root, 'bin/run.js')
  return frozen
}

/**
 * Runs the built CLI (`npm run build` first) as an operator's runbook would:
 * stdin is not a TTY (closed, or the given input), output captured.
 */
export function runCli(args: string[], options: {env?: NodeJS.ProcessEnv; cwd?: string; input?: string; timeoutMs?: number} = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [builtCli(), ...args], {
      cwd: options.cwd ?? PROJECT_ROOT,
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
