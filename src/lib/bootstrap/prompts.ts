import {RefusedError, ToolkitError} from '../errors/errors.js'
import {SecretValue} from '../secret/secret-value.js'
import type {PlannedSecret} from './plan.js'
import {valueProblem, type ValueSource} from './values.js'

/**
 * The one terminal rule of the wizard: values are typed only into a
 * terminal (never read from flags or the environment), and a piped stdin
 * is automation, which must say so with --values-from-stdin.
 */
export function requireInteractiveTerminal(stdinIsTTY: boolean): void {
  if (!stdinIsTTY) {
    throw new ToolkitError('NOT_A_TERMINAL', 'the bootstrap wizard needs a terminal: stdin is not a TTY', {
      hint: 'Run it in a terminal, or for automation pipe the values as JSON with --values-from-stdin (never as flags or environment variables).',
    })
  }
}

/** Inquirer's Ctrl-C / closed-input error, turned into the toolkit's "cancelled" refusal. */
export function cancelledOr(error: unknown, what: string): unknown {
  const name = (error as Error)?.name
  if (name === 'ExitPromptError' || name === 'AbortPromptError') return new RefusedError(`cancelled ${what}: nothing was created`)
  return error
}

/**
 * Hidden input (each character echoed as "*"), asked twice; the value is
 * wrapped in a SecretValue as soon as inquirer hands it over.
 */
export function interactiveValueSource(say: (line: string) => void): ValueSource {
  return {
    beginSecret(planned) {
      say('')
      say(`${planned.id}${planned.secret.description ? ` — ${planned.secret.description}` : ''}${planned.action === 'rotate' ? ' (rotating: the new values replace the current ones)' : ''}`)
    },
    generated(_planned, key, length) {
      say(`  ${key.key}: generated (${length} characters)`)
    },
    async valueFor(planned, key) {
      const {password} = await import('@inquirer/prompts')
      const optional = key.validate.required ? '' : ' (optional: Enter to leave empty)'
      try {
        for (;;) {
          const first = await password({
            message: `${key.key}: ${key.prompt}${optional}`,
            mask: '*',
            validate: (text) => valueProblem(key.validate, text) ?? true,
          })
          if (first.length === 0) return undefined
          const value = SecretValue.fromString(first)
          const again = SecretValue.fromString(await password({message: `${key.key}: again, to confirm`, mask: '*'}))
          if (value.equals(again)) return value
          say(`  The two entries for ${planned.id} ${key.key} differ; type it again.`)
        }
      } catch (error) {
        throw cancelledOr(error, `while entering ${planned.id} ${key.key}`)
      }
    },
  }
}
