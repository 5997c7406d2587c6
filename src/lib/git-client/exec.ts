import {spawn, type ChildProcess} from 'node:child_process'

import {ToolkitError} from '../errors/errors.js'

export interface GitRunOptions {
  /** Bytes written to stdin; stdin is closed (not inherited) when absent. */
  input?: Buffer
  /** Exit codes that are not errors (e.g. 1 for `git diff --quiet`). */
  okCodes?: number[]
  /**
   * Include git's stderr in the error message. Off for commands whose stderr
   * may echo object content (fast-import, cat-file), so that a value can never
   * reach an error message.
   */
  stderrInErrors?: boolean
  env?: NodeJS.ProcessEnv
}

export interface GitResult {
  code: number
  stdout: Buffer
  stderr: string
}

/** git with a stable, non-interactive environment: no pager, no prompts, no locale-dependent output. */
export function gitEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {...process.env, GIT_TERMINAL_PROMPT: '0', GIT_PAGER: 'cat', LC_ALL: 'C', ...extra}
}

/** Runs one git command to completion, collecting stdout as bytes. Arguments never carry secret values. */
export async function runGit(repo: string, args: string[], options: GitRunOptions = {}): Promise<GitResult> {
  const child = spawn('git', ['-C', repo, ...args], {
    env: gitEnv(options.env),
    stdio: [options.input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  })
  const out: Buffer[] = []
  const err: Buffer[] = []
  child.stdout!.on('data', (chunk: Buffer) => out.push(chunk))
  child.stderr!.on('data', (chunk: Buffer) => err.push(chunk))
  if (options.input) child.stdin!.end(options.input)
  const code = await waitForExit(child, `git ${args[0]}`)
  const stderr = Buffer.concat(err).toString('utf8')
  const result = {code, stdout: Buffer.concat(out), stderr}
  if (code !== 0 && !(options.okCodes ?? []).includes(code)) {
    throw gitFailure(args, code, options.stderrInErrors === false ? undefined : stderr)
  }
  return result
}

/** Convenience: stdout as trimmed UTF-8 text. */
export async function gitText(repo: string, args: string[], options: GitRunOptions = {}): Promise<string> {
  return (await runGit(repo, args, options)).stdout.toString('utf8').trim()
}

export function gitFailure(args: string[], code: number, stderr?: string): ToolkitError {
  const detail = stderr ? `: ${stderr.trim().split('\n').slice(-3).join(' | ').slice(0, 400)}` : ''
  return new ToolkitError('GIT_FAILED', `git ${args[0]} exited with ${code}${detail}`, {
    // The repository itself is checked before any stage runs; what fails here is this command.
    hint: `Run git ${args[0]} in the repository yourself, and git fsck, to see why it failed.`,
  })
}

export function waitForExit(child: ChildProcess, what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        new ToolkitError('GIT_FAILED', `${what} could not be started: ${error.code ?? error.message}`, {
          hint: error.code === 'ENOENT' ? 'Install git (and git-filter-repo for the filter-repo engine).' : undefined,
        }),
      )
    })
    child.once('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)))
  })
}
