import {ToolkitError} from '../errors/errors.js'

/**
 * The one terminal rule of the wizard: values are typed only into a
 * terminal (never read from flags or the environment), and a piped stdin
 * is automation, which must say so with --values-from-stdin. The prompts
 * themselves are the CLI's (src/lib/cli/bootstrap-prompts.ts): the wizard
 * receives them as a value source.
 */
export function requireInteractiveTerminal(stdinIsTTY: boolean): void {
  if (!stdinIsTTY) {
    throw new ToolkitError('NOT_A_TERMINAL', 'the bootstrap wizard needs a terminal: stdin is not a TTY', {
      hint: 'Run it in a terminal, or for automation pipe the values as JSON with --values-from-stdin (never as flags or environment variables).',
    })
  }
}
