import {RefusedError} from '../errors/errors.js'
import type {PlannedSecret} from '../bootstrap/plan.js'
import {valueProblem, type ValueSource} from '../bootstrap/values.js'
import {SecretValue} from '../secret/secret-value.js'

/** Inquirer's Ctrl-C / closed-input error, turned into the toolkit's "cancelled" refusal. */
export function cancelledOr(error: unknown, what: string): unknown {
  const name = (error as Error)?.name
  if (name === 'ExitPromptError' || name === 'AbortPromptError') return new RefusedError(`cancelled ${what}: nothing was created`)
  return error
}

/**
 * The bootstrap wizard's hidden prompts: each value typed twice (each
 * character echoed as "*"), wrapped in a SecretValue as soon as inquirer
 * hands it over. The wizard receives this as its value source, so the
 * domain never talks to the terminal itself.
 */
export function interactiveValueSource(say: (line: string) => void): ValueSource {
  return {
    beginSecret(planned: PlannedSecret) {
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
          // Validated here, not by the prompt: inquirer puts a rejected entry back into the input line,
          // so the next keystrokes would append to it. Each attempt starts from an empty line.
          const first = await password({message: `${key.key}: ${key.prompt}${optional}`, mask: '*'})
          const problem = valueProblem(key.validate, first)
          if (problem) {
            say(`  ✖ ${key.key} ${problem}. The entry was cleared: type the whole value again.`)
            continue
          }
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
