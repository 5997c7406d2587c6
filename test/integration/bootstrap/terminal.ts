// A real pseudo-terminal for the wizard: a private tmux server per session
// (its own socket in a short private directory), driven with send-keys and read
// with capture-pane. Typed text goes through a tmux paste buffer fed on
// stdin, so a typed value never appears in any process's arguments.
import {execFileSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {sleep} from '../../env/net.js'

const TMUX = '/usr/bin/tmux'

export function requireTmux(): void {
  if (!existsSync(TMUX)) throw new Error('tmux is required to drive the wizard in a pseudo-terminal.\nRun: apt-get install tmux')
}

function quote(arg: string): string {
  return `'${arg.replaceAll("'", "'\\''")}'`
}

export class TerminalSession {
  private constructor(
    private readonly socketDir: string,
    /** Every byte the program wrote to the terminal (tmux pipe-pane), escape sequences included. */
    readonly rawLogFile: string,
    private readonly statusFile: string,
  ) {}

  /**
   * Starts `command` in a 200×50 terminal. The environment reaches the
   * program through the tmux server's environment (inherited from this
   * call), not through arguments.
   */
  static start(command: string[], options: {dir: string; name: string; env: NodeJS.ProcessEnv; cwd: string}): TerminalSession {
    requireTmux()
    // A Unix socket path is limited to 107 bytes, and the test directory can
    // be deep (CI checks out under a longer path than a developer does), so
    // the socket lives in a short directory of its own; everything else that
    // is worth reading after a failure stays in the test directory.
    const socketDir = mkdtempSync(join(tmpdir(), 'st-tmux-'))
    const socket = join(socketDir, 'socket')
    const config = join(options.dir, `${options.name}.tmux.conf`)
    const rawLogFile = join(options.dir, `${options.name}.pane.log`)
    const statusFile = join(options.dir, `${options.name}.exit-status`)
    writeFileSync(config, 'set -g remain-on-exit on\nset -g history-limit 100000\nset -g status off\n')
    // tmux 3.3 loses a pane's exit status when the terminal closes before the
    // process is reaped, so the wrapping shell records it.
    const shellCommand = `cd ${quote(options.cwd)} && ${command.map(quote).join(' ')}; echo $? > ${quote(statusFile)}`
    execFileSync(
      TMUX,
      ['-S', socket, '-f', config, 'new-session', '-d', '-s', 'main', '-x', '200', '-y', '50', shellCommand, ';', 'pipe-pane', '-o', '-t', 'main', `cat >> ${quote(rawLogFile)}`],
      {env: options.env, stdio: ['ignore', 'ignore', 'pipe']},
    )
    return new TerminalSession(socketDir, rawLogFile, statusFile)
  }

  private tmux(args: string[], input?: string): string {
    return execFileSync(TMUX, ['-S', join(this.socketDir, 'socket'), ...args], {encoding: 'utf8', input, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe']})
  }

  /** The whole screen history as text (colours stripped, wrapped lines joined). */
  screen(): string {
    return this.tmux(['capture-pane', '-p', '-J', '-S', '-', '-E', '-', '-t', 'main'])
  }

  rawLog(): string {
    return existsSync(this.rawLogFile) ? readFileSync(this.rawLogFile, 'utf8') : ''
  }

  /** Types text without putting it on any command line: stdin → paste buffer → pane. */
  type(text: string): void {
    this.tmux(['load-buffer', '-b', 'typed', '-'], text)
    this.tmux(['paste-buffer', '-d', '-b', 'typed', '-t', 'main'])
  }

  /** Named keys (Enter, C-c, C-u, …); never values. */
  keys(...keys: string[]): void {
    this.tmux(['send-keys', '-t', 'main', ...keys])
  }

  /** Types a line and presses Enter, after a short pause so the prompt handles the paste before the key. */
  async line(text: string): Promise<void> {
    if (text.length > 0) this.type(text)
    await sleep(150)
    this.keys('Enter')
  }

  /**
   * Waits until the screen history shows `text` at least `count` times (a
   * prompt asked again stays once per answer); answers the whole screen.
   */
  async waitFor(text: string, options: {timeoutMs?: number; count?: number} = {}): Promise<string> {
    const deadline = Date.now() + (options.timeoutMs ?? 60_000)
    const pattern = text
    for (;;) {
      const screen = this.screen()
      if (screen.split(text).length - 1 >= (options.count ?? 1)) return screen
      const status = this.exitStatus()
      if (status !== undefined) throw new Error(`the program exited (${status}) before the screen showed ${pattern}; screen:\n${screen}`)
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern} on the screen:\n${screen}`)
      await sleep(100)
    }
  }

  /** The exit code once the program has exited, else undefined. */
  exitStatus(): number | undefined {
    const text = existsSync(this.statusFile) ? readFileSync(this.statusFile, 'utf8').trim() : ''
    return text === '' ? undefined : Number(text)
  }

  async waitExit(timeoutMs = 240_000): Promise<number> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const status = this.exitStatus()
      if (status !== undefined) return status
      if (Date.now() > deadline) throw new Error(`the program did not exit within ${timeoutMs} ms; screen:\n${this.screen()}`)
      await sleep(200)
    }
  }

  /** Ends the private tmux server (and the program, if still running). */
  close(): void {
    try {
      this.tmux(['kill-server'])
    } catch {
      // already gone
    }
    rmSync(this.socketDir, {recursive: true, force: true})
  }
}
