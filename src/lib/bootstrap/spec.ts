import {existsSync} from 'node:fs'
import {resolve} from 'node:path'
import {z} from 'zod'

import {formatIssues} from '../config/load.js'
import {uniqueBy} from '../config/schema.js'
import {parseYamlFile, readYamlFileText} from '../config/yaml-file.js'
import {ToolkitError} from '../errors/errors.js'
import type {PasswordSettings} from '../eso/external-secret.js'
import {namespaceProblem, nameProblem, secretKeyProblem} from '../kube/names.js'
import {displayText} from '../report/display.js'
import {DEFAULT_SPEC_SOURCE, DEFAULT_SPEC_YAML} from './default-spec.js'

/** ESO's Password generator defaults (src/lib/eso/external-secret.ts), so local and cluster generation agree. */
export const ESO_PASSWORD_DEFAULTS = {
  length: 24,
  digitFactor: 0.25,
  symbolFactor: 0.25,
  symbolCharacters: '~!@#$%^&*()_+`-={}|[]\\:"<>?,./',
} as const

export const LOWER_LETTERS = 'abcdefghijklmnopqrstuvwxyz'
export const UPPER_LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'
export const DIGITS = '0123456789'

const refine = (problem: (value: string) => string | undefined) => (value: string, ctx: z.RefinementCtx) => {
  const message = problem(value)
  if (message) ctx.addIssue({code: 'custom', message})
}

const validationSchema = z
  .object({
    required: z.boolean().default(true),
    minLength: z.number().int().min(1).optional(),
    maxLength: z.number().int().min(1).optional(),
    /** A JavaScript regular expression; anchored only if it says so (^…$). */
    regex: z.string().min(1).optional(),
    /** Shown when the regex does not match, e.g. "40 lowercase hex characters". */
    hint: z.string().min(1).optional(),
  })
  .strict()
  .superRefine((rules, ctx) => {
    if (rules.regex !== undefined) {
      try {
        new RegExp(rules.regex)
      } catch (error) {
        // V8 writes "Invalid regular expression: /<pattern>/: <reason>"; the reason alone, as the spec's text is not repeated.
        const reason = (error as Error).message.split(': ').at(-1)
        ctx.addIssue({code: 'custom', path: ['regex'], message: `is not a valid regular expression (${reason})`})
      }
    }
    if (rules.minLength !== undefined && rules.maxLength !== undefined && rules.minLength > rules.maxLength) {
      ctx.addIssue({code: 'custom', path: ['maxLength'], message: `is smaller than minLength (${rules.minLength})`})
    }
  })

const generatorSchema = z
  .object({
    length: z.number().int().min(1).max(4096).default(ESO_PASSWORD_DEFAULTS.length),
    digits: z.number().int().min(0).optional(),
    symbols: z.number().int().min(0).optional(),
    symbolCharacters: z
      .string()
      .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII characters without spaces (ESO picks them byte by byte)')
      .optional(),
    noUpper: z.boolean().default(false),
    allowRepeat: z.boolean().default(false),
  })
  .strict()

const promptKeySchema = z
  .object({
    key: z.string().superRefine(refine(secretKeyProblem)),
    source: z.literal('prompt'),
    /** The question the operator sees. */
    prompt: z.string().min(1),
    validate: validationSchema.default({required: true}),
  })
  .strict()

const generateKeySchema = z
  .object({
    key: z.string().superRefine(refine(secretKeyProblem)),
    source: z.literal('generate'),
    /** What the value is for (shown in the summary); nothing is asked. */
    prompt: z.string().min(1).optional(),
    generate: generatorSchema.default({length: ESO_PASSWORD_DEFAULTS.length, noUpper: false, allowRepeat: false}),
  })
  .strict()

// `source` defaults to "prompt"; the discriminated union needs it present.
const keySchema = z.preprocess(
  (value) => (value && typeof value === 'object' && !Array.isArray(value) && !('source' in value) ? {...value, source: 'prompt'} : value),
  z.discriminatedUnion('source', [promptKeySchema, generateKeySchema]),
)

const secretSchema = z
  .object({
    namespace: z.string().superRefine(refine(namespaceProblem)),
    name: z.string().superRefine(refine(nameProblem)),
    type: z.string().min(1).default('Opaque'),
    description: z.string().min(1).optional(),
    /**
     * Generated and kept by ESO in the cluster (Password generator +
     * ExternalSecret, written with --output-dir) instead of by the wizard.
     */
    generatedInCluster: z.boolean().default(false),
    keys: z.array(keySchema).min(1, 'must list at least one key'),
  })
  .strict()
  .superRefine((secret, ctx) => {
    const seen = new Map<string, number>()
    for (const [index, key] of secret.keys.entries()) {
      const first = seen.get(key.key)
      if (first !== undefined) ctx.addIssue({code: 'custom', path: ['keys', index, 'key'], message: `duplicates keys[${first}].key "${key.key}"`})
      seen.set(key.key, index)
      if (key.source === 'generate') {
        const problem = generatorProblem(resolveGenerator(key.generate))
        if (problem) ctx.addIssue({code: 'custom', path: ['keys', index, 'generate'], message: problem})
      }
      if (secret.generatedInCluster && key.source !== 'generate') {
        ctx.addIssue({code: 'custom', path: ['keys', index, 'source'], message: 'must be "generate": a secret generatedInCluster has no typed values'})
      }
    }
  })

export const bootstrapSpecSchema = z
  .object({
    secrets: z
      .array(secretSchema)
      .min(1, 'must list at least one secret')
      .superRefine(uniqueBy(secretId, (first, id) => `duplicates secrets[${first}] (${id})`)),
  })
  .strict()

export type BootstrapSpec = z.infer<typeof bootstrapSpecSchema>
export type SpecSecret = BootstrapSpec['secrets'][number]
export type SpecKey = SpecSecret['keys'][number]
export type PromptKey = Extract<SpecKey, {source: 'prompt'}>
export type GenerateKey = Extract<SpecKey, {source: 'generate'}>
export type ValueRules = PromptKey['validate']
export type GeneratorSettings = z.infer<typeof generatorSchema>

/** A generator with ESO's defaults filled in: exactly the settings of ESO's Password generator. */
export type ResolvedGenerator = PasswordSettings

export function resolveGenerator(settings: GeneratorSettings): ResolvedGenerator {
  // ESO computes int(float32(length) * 0.25): the floor.
  return {
    length: settings.length,
    digits: settings.digits ?? Math.floor(settings.length * ESO_PASSWORD_DEFAULTS.digitFactor),
    symbols: settings.symbols ?? Math.floor(settings.length * ESO_PASSWORD_DEFAULTS.symbolFactor),
    symbolCharacters: settings.symbolCharacters ?? ESO_PASSWORD_DEFAULTS.symbolCharacters,
    noUpper: settings.noUpper,
    allowRepeat: settings.allowRepeat,
  }
}

/** The same impossibilities go-password (behind ESO's generator) rejects, found before anything is generated. */
export function generatorProblem(generator: ResolvedGenerator): string | undefined {
  const {length, digits, symbols, allowRepeat} = generator
  if (digits + symbols > length) return `digits (${digits}) + symbols (${symbols}) exceed length (${length})`
  if (allowRepeat) return undefined
  const letters = generator.noUpper ? LOWER_LETTERS.length : LOWER_LETTERS.length + UPPER_LETTERS.length
  const symbolSet = new Set(generator.symbolCharacters).size
  if (digits > DIGITS.length) return `${digits} digits without repeats is impossible (10 exist): set allowRepeat: true or fewer digits`
  if (symbols > symbolSet) return `${symbols} symbols without repeats is impossible (${symbolSet} symbol characters): set allowRepeat: true or fewer symbols`
  if (length - digits - symbols > letters) return `${length - digits - symbols} letters without repeats is impossible (${letters} letters): set allowRepeat: true or a shorter length`
  return undefined
}

export function secretId(secret: {namespace: string; name: string}): string {
  return `${secret.namespace}/${secret.name}`
}

export interface LoadedSpec {
  spec: BootstrapSpec
  /** A file path, or "built-in default spec". */
  source: string
  /** The YAML text (names and rules only), for --print-spec. */
  text: string
}

/**
 * The spec in a file's text. Errors name the file, line, column and problem,
 * never the text: a value pasted into the spec by mistake must not be printed.
 */
export function parseSpec(text: string, source: string): BootstrapSpec {
  const data = parseYamlFile(text, {
    code: 'SPEC_INVALID',
    what: `bootstrap spec ${displayText(source)}`,
    hint: 'Fix the YAML syntax; docs/runbooks/bootstrap.md describes every field.',
  })
  const result = bootstrapSpecSchema.safeParse(data ?? {})
  if (!result.success) {
    const problems = formatIssues(result.error.issues)
    throw new ToolkitError('SPEC_INVALID', `bootstrap spec ${displayText(source)} has ${problems.length} problem(s):\n  ${problems.join('\n  ')}`, {
      hint: 'Fix the spec; docs/runbooks/bootstrap.md describes every field (print the default with --print-spec).',
    })
  }
  return result.data
}

export function loadSpec(path: string | undefined, cwd = process.cwd()): LoadedSpec {
  if (!path) return {spec: parseSpec(DEFAULT_SPEC_YAML, DEFAULT_SPEC_SOURCE), source: DEFAULT_SPEC_SOURCE, text: DEFAULT_SPEC_YAML}
  const file = resolve(cwd, path)
  if (!existsSync(file)) {
    throw new ToolkitError('SPEC_NOT_FOUND', `bootstrap spec ${displayText(file)} does not exist`, {
      hint: 'Check --spec, or start from the built-in spec: `secrets bootstrap --print-spec > bootstrap.yaml`.',
    })
  }
  const text = readYamlFileText(file, {code: 'SPEC_INVALID', what: `bootstrap spec ${displayText(file)}`, hint: 'Check --spec and the file\'s permissions.'})
  return {spec: parseSpec(text, file), source: file, text}
}
