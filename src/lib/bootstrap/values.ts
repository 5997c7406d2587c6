import {ToolkitError} from '../errors/errors.js'
import {SECRET_MAX_BYTES} from '../kube/names.js'
import {SecretValue} from '../secret/secret-value.js'
import {generatePassword} from './generate.js'
import {needsValues, type BootstrapPlan, type PlannedSecret} from './plan.js'
import {type GenerateKey, type PromptKey, resolveGenerator, type ValueRules} from './spec.js'

/** key → value of one Secret. */
export type SecretValues = Map<string, SecretValue>

/**
 * What is wrong with a typed value, in words that never quote it. Length
 * counts characters (code points), as the operator counts them.
 */
export function valueProblem(rules: ValueRules, text: string): string | undefined {
  const problem = ruleProblem(rules, text)
  if (!problem) return undefined
  // A token pasted with a trailing newline or space fails its rules for a reason the rule's words do not show.
  const edges = [/^\s/u.test(text) ? 'starts' : '', /\s$/u.test(text) ? 'ends' : ''].filter(Boolean)
  if (edges.length > 0 && text.trim().length > 0) {
    const fixed = ruleProblem(rules, text.trim()) === undefined
    return `${problem} — it ${edges.join(' and ')} with whitespace (a space or line break)${fixed ? ', and would be valid without it: was it pasted with one?' : ''}`
  }
  return problem
}

function ruleProblem(rules: ValueRules, text: string): string | undefined {
  if (text.length === 0) return rules.required ? 'a value is required' : undefined
  const length = [...text].length
  if (rules.minLength !== undefined && length < rules.minLength) return `must be at least ${rules.minLength} characters (got ${length})`
  if (rules.maxLength !== undefined && length > rules.maxLength) return `must be at most ${rules.maxLength} characters (got ${length})`
  if (rules.regex !== undefined && !new RegExp(rules.regex).test(text)) {
    return rules.hint ? `does not have the expected form: ${rules.hint}` : `does not match ${rules.regex}`
  }
  return undefined
}

/** Where typed values come from: the interactive prompts or the stdin JSON. */
export interface ValueSource {
  /** Once per secret, before its keys. */
  beginSecret?(planned: PlannedSecret): void
  /** A valid value, or undefined for an optional key left empty. */
  valueFor(planned: PlannedSecret, key: PromptKey): Promise<SecretValue | undefined>
  /** Told after a key was generated (its length only). */
  generated?(planned: PlannedSecret, key: GenerateKey, length: number): void
}

/**
 * Asks (or reads) every value of the secrets the plan writes, and generates
 * the generated ones. Nothing is written anywhere before all are collected,
 * so a bad or cancelled entry leaves the cluster as it was.
 */
export async function collectValues(plan: BootstrapPlan, source: ValueSource, generate = generatePassword): Promise<Map<string, SecretValues>> {
  const collected = new Map<string, SecretValues>()
  for (const planned of plan.secrets.filter(needsValues)) {
    source.beginSecret?.(planned)
    const values: SecretValues = new Map()
    for (const key of planned.secret.keys) {
      if (key.source === 'generate') {
        const generator = resolveGenerator(key.generate)
        values.set(key.key, generate(generator))
        source.generated?.(planned, key, generator.length)
        continue
      }
      const value = await source.valueFor(planned, key)
      if (value !== undefined) values.set(key.key, value)
    }
    if (values.size === 0) {
      throw new ToolkitError('VALUES_EMPTY', `${planned.id}: every key was left empty, so there is nothing to create`, {
        hint: 'Enter at least one value, or mark a key required in the spec.',
      })
    }
    const bytes = [...values.values()].reduce((sum, value) => sum + value.byteLength, 0)
    if (bytes > SECRET_MAX_BYTES) {
      throw new ToolkitError('VALUES_TOO_LARGE', `${planned.id}: the values total ${bytes} bytes, more than a Kubernetes Secret holds (1 MiB)`)
    }
    collected.set(planned.id, values)
  }
  return collected
}

export interface StdinValues {
  source: ValueSource
  /** Secrets given on stdin that the plan leaves alone (they exist and are not rotated). */
  ignored: string[]
}

const STDIN_FORMAT = 'Expected JSON like {"flux-system/gitea-token": {"username": "…", "password": "…"}}: one object per NAMESPACE/NAME, string values per key.'

/**
 * Reads the automation input: a JSON object keyed by NAMESPACE/NAME, each an
 * object of key → string. Every problem is reported at once (automation fixes
 * them in one go), by secret and key name; the parser's own message is
 * dropped because V8 quotes the input in it. A required value is missing only
 * for a secret the plan asks values for.
 */
export function parseStdinValues(text: string, plan: BootstrapPlan): StdinValues {
  let parsed: unknown
  try {
    // Nothing on stdin is no values (a re-run that only re-pushes needs none).
    parsed = text.trim() === '' ? {} : JSON.parse(text)
  } catch (error) {
    const position = /position (\d+)/.exec((error as Error).message)?.[1]
    throw new ToolkitError('STDIN_INVALID', `stdin is not valid JSON${position ? ` (at byte ${position})` : ''}`, {hint: STDIN_FORMAT})
  }
  if (!isPlainObject(parsed)) throw new ToolkitError('STDIN_INVALID', 'stdin JSON is not an object', {hint: STDIN_FORMAT})
  const byId = new Map(plan.secrets.map((planned) => [planned.id, planned]))
  const values = new Map<string, Map<string, SecretValue>>()
  const ignored: string[] = []
  const problems: string[] = []
  for (const [id, keys] of Object.entries(parsed)) {
    const planned = byId.get(id)
    if (!planned) {
      problems.push(`stdin names ${id}, which is not in the bootstrap spec (known: ${[...byId.keys()].join(', ')})`)
      continue
    }
    if (!isPlainObject(keys)) {
      problems.push(`stdin ${id}: expected an object of key → string`)
      continue
    }
    const secretValues = new Map<string, SecretValue>()
    for (const [key, value] of Object.entries(keys)) {
      const specKey = planned.secret.keys.find((candidate) => candidate.key === key)
      if (!specKey) {
        problems.push(`stdin ${id}: key "${key}" is not in the spec (keys: ${planned.secret.keys.map((k) => k.key).join(', ')})`)
        continue
      }
      if (specKey.source === 'generate') {
        problems.push(`stdin ${id}: key "${key}" is generated, so it cannot be given (remove it, or make it source: prompt in the spec)`)
        continue
      }
      if (typeof value !== 'string') {
        problems.push(`stdin ${id}: key "${key}" must be a string`)
        continue
      }
      const problem = valueProblem(specKey.validate, value)
      if (problem) {
        problems.push(`stdin ${id}: key "${key}" ${problem}`)
        continue
      }
      if (value.length > 0) secretValues.set(key, SecretValue.fromString(value))
    }
    values.set(id, secretValues)
    if (!needsValues(planned)) ignored.push(id)
  }
  for (const planned of plan.secrets.filter(needsValues)) {
    for (const key of planned.secret.keys) {
      if (key.source !== 'prompt' || !key.validate.required) continue
      const given = isPlainObject(parsed[planned.id]) ? (parsed[planned.id] as Record<string, unknown>)[key.key] : undefined
      if (given === undefined) problems.push(`stdin has no value for ${planned.id} key "${key.key}" (required)`)
    }
  }
  if (problems.length === 1) throw new ToolkitError('STDIN_INVALID', problems[0], {hint: `${STDIN_FORMAT} Nothing was changed.`})
  if (problems.length > 1) {
    throw new ToolkitError('STDIN_INVALID', `stdin has ${problems.length} problems:\n  ${problems.join('\n  ')}`, {hint: `Fix them all in the input; nothing was changed. ${STDIN_FORMAT}`})
  }
  return {
    ignored,
    source: {
      async valueFor(planned, key) {
        const value = values.get(planned.id)?.get(key.key)
        if (value === undefined && key.validate.required) {
          throw new ToolkitError('STDIN_MISSING_VALUE', `stdin has no value for ${planned.id} key "${key.key}" (required)`, {
            hint: `${STDIN_FORMAT} Nothing was changed.`,
          })
        }
        return value
      },
    },
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
