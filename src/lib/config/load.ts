import {existsSync} from 'node:fs'
import {resolve} from 'node:path'
import type {z} from 'zod'

import {ToolkitError} from '../errors/errors.js'
import {displayText} from '../report/display.js'
import {configSchema, type RegionConfig, type ToolkitConfig} from './schema.js'
import {parseYamlFile, readYamlFileText} from './yaml-file.js'

export const DEFAULT_CONFIG_FILE = 'secrets-toolkit.yaml'
export const CONFIG_ENV = 'SECRETS_TOOLKIT_CONFIG'

export interface LoadedConfig {
  config: ToolkitConfig
  /** Where it came from: a file path, or "environment (VAULT_ADDR)". */
  source: string
}

/** `regions[1].vault.address` from zod's path array. */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`
    else out += out === '' ? String(part) : `.${String(part)}`
  }
  return out || '(root)'
}

// What a mistyped field name looks like (`adress`, `secretId`, `token-file`); a
// credential has digits, symbols or random case, and is not repeated.
const FIELD_LIKE = /^(?:[a-z]+(?:[A-Z][a-z]+)*|[a-z]+(?:[-_][a-z]+)*)$/

/** An unknown key as it may be shown: a field-like name, or only its length (a token pasted as `{hvs.…}` becomes a key). */
function describeUnknownKey(key: string): string {
  return key.length <= 32 && FIELD_LIKE.test(key) ? `"${key}"` : `(a key of ${key.length} characters, not shown: it may be a credential)`
}

/**
 * One line per problem: where (`regions[0].vault.address`) and what. Only
 * zod's message is used, never the rejected input (a pasted token would be
 * it); unknown keys are named only when they look like field names.
 */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    const message = issue.code === 'unrecognized_keys' ? `Unrecognized key${issue.keys.length === 1 ? '' : 's'}: ${issue.keys.map(describeUnknownKey).join(', ')}` : issue.message
    return displayText(`${formatIssuePath(issue.path)}: ${message}`)
  })
}

/**
 * The configuration in a file's text. A syntax error names the file, line,
 * column and problem, never the text (see yaml-file.ts).
 */
export function parseConfig(text: string, source: string): ToolkitConfig {
  const data = parseYamlFile(text, {
    code: 'CONFIG_INVALID',
    what: displayText(source),
    hint: 'Fix the YAML syntax; `secrets --help` links the configuration reference (docs/configuration.md).',
  })
  const result = configSchema.safeParse(data ?? {})
  if (!result.success) {
    const problems = formatIssues(result.error.issues)
    throw new ToolkitError('CONFIG_INVALID', `${displayText(source)} has ${problems.length} problem(s):\n  ${problems.join('\n  ')}`, {
      hint: 'See docs/configuration.md for every field.',
    })
  }
  return result.data
}

function readConfigText(file: string): string {
  return readYamlFileText(file, {code: 'CONFIG_INVALID', what: `configuration file ${displayText(file)}`, hint: 'Check the path and its permissions (see docs/configuration.md).'})
}

/**
 * Builds a one-region configuration from Vault's own variables, so that
 * single-region commands work without a file.
 */
export function configFromVaultEnv(env: NodeJS.ProcessEnv): ToolkitConfig | undefined {
  const address = env.VAULT_ADDR
  if (!address) return undefined
  const region = {
    name: 'default',
    clusterSecretStore: 'vault-default',
    vault: {
      address,
      mount: env.SECRETS_TOOLKIT_VAULT_MOUNT ?? 'secret',
      namespace: env.VAULT_NAMESPACE ?? '',
      auth: {method: 'token'},
      tls: {caCert: env.VAULT_CACERT, skipVerify: ['1', 'true'].includes((env.VAULT_SKIP_VERIFY ?? '').toLowerCase())},
    },
  }
  return parseConfig(JSON.stringify({regions: [region]}), 'environment (VAULT_ADDR)')
}

/**
 * Finds the configuration: --config, else $SECRETS_TOOLKIT_CONFIG, else
 * ./secrets-toolkit.yaml, else (for single-region work) VAULT_ADDR.
 */
export function loadConfig(options: {path?: string; env?: NodeJS.ProcessEnv; cwd?: string} = {}): LoadedConfig {
  const env = options.env ?? process.env
  const cwd = options.cwd ?? process.cwd()
  const explicit = options.path ?? env[CONFIG_ENV]
  if (explicit) {
    const file = resolve(cwd, explicit)
    if (!existsSync(file)) {
      const origin = options.path ? '--config' : `$${CONFIG_ENV}`
      throw new ToolkitError('CONFIG_NOT_FOUND', `configuration file ${displayText(file)} (from ${origin}) does not exist`, {
        hint: 'Check the path, or create it from docs/configuration.md.',
      })
    }
    return {config: parseConfig(readConfigText(file), file), source: file}
  }
  const local = resolve(cwd, DEFAULT_CONFIG_FILE)
  if (existsSync(local)) return {config: parseConfig(readConfigText(local), local), source: local}
  const fromEnv = configFromVaultEnv(env)
  if (fromEnv) return {config: fromEnv, source: 'environment (VAULT_ADDR)'}
  throw new ToolkitError('CONFIG_NOT_FOUND', `no configuration: no --config, no $${CONFIG_ENV}, no ./${DEFAULT_CONFIG_FILE} and no VAULT_ADDR`, {
    hint: `Create ${DEFAULT_CONFIG_FILE} (see docs/configuration.md) or pass --config PATH.`,
  })
}

export function findRegion(config: ToolkitConfig, name: string): RegionConfig {
  const region = config.regions.find((candidate) => candidate.name === name)
  if (!region) {
    const known = config.regions.map((r) => r.name).join(', ')
    throw new ToolkitError('UNKNOWN_REGION', `region "${displayText(name)}" is not in the configuration (known: ${known})`, {
      hint: 'Use one of the configured region names with --region.',
    })
  }
  return region
}
