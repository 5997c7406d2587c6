import {spawn} from 'node:child_process'
import {accessSync, constants, statSync} from 'node:fs'
import {delimiter, extname, join, resolve} from 'node:path'

import {isAlias, isMap, isPair, isScalar, isSeq, parseAllDocuments, type Document, type Node as YamlNode} from 'yaml'

import {SecretValue} from '../secret/secret-value.js'
import {MAX_SOPS_FILE_BYTES, type SopsFormat} from './detect.js'
import {MAX_DEPTH} from './builtin/parse-yaml.js'
import {SopsError} from './errors.js'
import {assignKey, withoutEmptyDefaultSection} from './output.js'
import type {SopsTree} from './types.js'

const SOPS_TIMEOUT_MS = 5 * 60_000
// Decrypted output is smaller than the (at most MAX_SOPS_FILE_BYTES) input; room for YAML re-indentation and
// expanded aliases, but bounded, as several sops processes run at once.
const MAX_OUTPUT = 4 * MAX_SOPS_FILE_BYTES

/** The sops binary: SOPS_BIN when set, else the first `sops` on PATH. */
export function findSopsBinary(env: NodeJS.ProcessEnv): {path?: string; source?: 'SOPS_BIN' | 'PATH'; problem?: string} {
  const configured = env.SOPS_BIN
  if (configured) {
    return isExecutableFile(configured) ? {path: resolve(configured), source: 'SOPS_BIN'} : {problem: `SOPS_BIN is set to ${configured}, which is not an executable file`}
  }
  for (const directory of (env.PATH ?? '').split(delimiter)) {
    if (!directory) continue
    const candidate = join(directory, 'sops')
    if (isExecutableFile(candidate)) return {path: candidate, source: 'PATH'}
  }
  return {}
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return statSync(path).isFile()
  } catch {
    return false
  }
}

/** sops guesses the store from the extension when told nothing; used only for a file whose content is not recognised. */
export function formatFromExtension(path: string): SopsFormat {
  const extension = extname(path).toLowerCase()
  if (extension === '.yaml' || extension === '.yml') return 'yaml'
  if (extension === '.json') return 'json'
  if (extension === '.env') return 'dotenv'
  if (extension === '.ini') return 'ini'
  return 'binary'
}

/**
 * Decrypts with the real sops binary. Plaintext comes back only through a
 * pipe into memory. The input type is named (sops would guess from the
 * extension); YAML output keeps every document and every scalar type, and
 * a binary store comes back as its raw bytes.
 */
export async function decryptWithSops(binary: string, file: string, format: SopsFormat, options: {ageKeys: string[]; env: NodeJS.ProcessEnv; ignoreMac: boolean}): Promise<SopsTree[]> {
  const outputType = format === 'binary' ? 'binary' : 'yaml'
  const args = ['decrypt', '--input-type', format, '--output-type', outputType, ...(options.ignoreMac ? ['--ignore-mac'] : []), resolve(file)]
  const env: NodeJS.ProcessEnv = {...options.env, SOPS_DISABLE_VERSION_CHECK: '1'}
  // Keys go through the environment, never the arguments (which `ps` shows).
  if (options.ageKeys.length > 0) env.SOPS_AGE_KEY = [options.env.SOPS_AGE_KEY, ...options.ageKeys].filter((key) => key !== undefined && key !== '').join('\n')
  const {code, stdout, stderr, failure} = await run(binary, args, env)
  if (failure) throw new SopsError('SOPS_FAILED', file, `could not run sops (${binary}) for ${file}: ${failure}`, {hint: 'Check that SOPS_BIN or PATH names a working sops binary, or use the built-in decryptor (--engine builtin).'})
  if (code !== 0) throw sopsExitError(file, code, stderr)
  if (format === 'binary') return [{data: SecretValue.fromBytes(stdout)}]
  const documents = parseSopsYamlOutput(file, stdout)
  return format === 'ini' ? documents.map(withoutEmptyDefaultSection) : documents
}

function run(binary: string, args: string[], env: NodeJS.ProcessEnv): Promise<{code: number; stdout: Buffer; stderr: string; failure?: string}> {
  return new Promise((resolvePromise) => {
    const child = spawn(binary, args, {env, stdio: ['ignore', 'pipe', 'pipe'], timeout: SOPS_TIMEOUT_MS})
    const out: Buffer[] = []
    const err: Buffer[] = []
    let size = 0
    let failure: string | undefined
    child.stdout.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_OUTPUT) {
        failure = `its output exceeded ${MAX_OUTPUT / 1024 / 1024} MiB`
        child.kill('SIGKILL')
      } else out.push(chunk)
    })
    child.stderr.on('data', (chunk: Buffer) => {
      if (err.reduce((total, part) => total + part.length, 0) < 64 * 1024) err.push(chunk)
    })
    child.on('error', (error) => {
      failure = (error as NodeJS.ErrnoException).code ?? 'spawn failed'
    })
    child.on('close', (code, signal) => {
      if (signal && !failure) failure = signal === 'SIGTERM' ? `it timed out after ${SOPS_TIMEOUT_MS / 1000} s` : `it was killed by ${signal}`
      const stdout = Buffer.concat(out)
      if (failure) stdout.fill(0)
      resolvePromise({code: code ?? -1, stdout, stderr: Buffer.concat(err).toString('utf8'), failure})
    })
  })
}

/** Identifiers sops names in its errors (recipients, fingerprints, key ids): the only parts of its stderr that are repeated. */
const KEY_NAMES = [/\bage1pq1[0-9a-z]{20,}/g, /\bage1[0-9a-z]{58}\b/g, /\b[0-9A-F]{40}\b/g, /\barn:aws[\w-]*:kms:[\w-]+:\d+:(?:key|alias)\/[\w/-]+/g, /\bprojects\/[\w.-]+\/locations\/[\w-]+\/keyRings\/[\w-]+\/cryptoKeys\/[\w-]+/g]

function keyNames(stderr: string): string[] {
  return [...new Set(KEY_NAMES.flatMap((pattern) => stderr.match(pattern) ?? []))].slice(0, 10)
}

/**
 * sops' exit codes as typed errors. Its stderr can quote a value (for
 * example "Input string … does not match sops' data format"), so messages
 * are built here from the code, fixed phrases and key names only.
 */
export function sopsExitError(file: string, code: number, stderr: string): SopsError {
  const say = (phrase: string) => stderr.includes(phrase)
  switch (code) {
    case 51:
    case 52:
      return new SopsError('MAC_MISMATCH', file, say('File has no MAC') ? `sops: ${file} has no MAC, so its content cannot be verified` : say('Cannot decrypt MAC') ? `sops: the MAC of ${file} cannot be authenticated (its lastmodified or mac field was changed)` : `sops: the MAC of ${file} does not match its content`, {
        hint: 'The file was changed after sops encrypted it. Inspect the change in git history; if you trust the content, pass --ignore-mac.',
      })
    case 25:
      return new SopsError('AAD_MISMATCH', file, say('does not match sops\' data format') ? `sops: a value in ${file} is not a sops-encrypted value although the file's rules say it must be` : `sops: a value in ${file} failed authentication: its key path or its ciphertext changed after encryption`, {
        hint: 'A key was renamed or moved, or a value pasted in by hand, after encryption. Use --engine builtin with an age key to see which key path, or restore the file from git history.',
      })
    case 128: {
      const names = keyNames(stderr)
      return new SopsError('NO_KEY', file, `sops: no key could decrypt the data key of ${file}${names.length > 0 ? ` (tried: ${names.join(', ')})` : ''}`, {
        hint: 'Make a key of one of these recipients available: SOPS_AGE_KEY_FILE / SOPS_AGE_KEY for age, the GnuPG keyring (GNUPGHOME) for PGP, cloud credentials for KMS.',
      })
    }
    case 100:
      return new SopsError('FILE_NOT_FOUND', file, `${file} does not exist`, {hint: 'Check the path.'})
    case 2:
      return new SopsError(say('no such file') ? 'FILE_NOT_FOUND' : 'SOPS_FAILED', file, `sops could not read ${file}`, {hint: 'Check the path and its permissions.'})
    case 1:
      if (say('sops metadata not found')) return new SopsError('NOT_SOPS', file, `sops: ${file} has no sops metadata: it is not a SOPS-encrypted file`, {hint: 'Check the path; only files encrypted by sops can be decrypted.'})
      return new SopsError('PARSE', file, `sops could not read ${file}${metadataProblem(stderr)}`, {hint: 'Run `sops decrypt` on it yourself to see sops\' own message (it may quote file content), or try --engine builtin.'})
    default:
      return new SopsError('SOPS_FAILED', file, `sops failed on ${file} with exit code ${code}`, {hint: 'Run `sops decrypt` on it yourself to see sops\' own message (it may quote file content).'})
  }
}

function metadataProblem(stderr: string): string {
  const field = /'([a-z_]+)' expected type '(\w+)', got unconvertible type '([\w.]+)'/.exec(stderr)
  if (field) return `: its sops metadata field ${field[1]} is a ${field[3]}, not a ${field[2]}`
  if (stderr.includes('Version string empty')) return ': its sops metadata has no version'
  if (stderr.includes('Error unmarshalling input') || stderr.includes('Error unmarshaling input') || stderr.includes('Could not unmarshal input')) return ': it does not parse in its format'
  return ''
}

/** sops' YAML output, one tree per document; scalars keep their YAML types. */
export function parseSopsYamlOutput(file: string, output: Buffer): SopsTree[] {
  const tooDeep = () => new SopsError('PARSE', file, `${file} nests values deeper than ${MAX_DEPTH} levels, which this tool does not process`, {hint: 'Flatten the file (a Secret holds flat keys; nested values become JSON text), or migrate it by hand.'})
  const list = (() => {
    try {
      const documents = parseAllDocuments(output.toString('utf8'), {schema: 'core', intAsBigInt: true, uniqueKeys: false, customTags: ['binary']})
      return Array.isArray(documents) ? documents : [documents]
    } catch (error) {
      // The YAML parser recurses per nesting level: a few thousand levels exhaust the call stack.
      if (error instanceof RangeError) throw tooDeep()
      throw error
    }
  })()
  return list.map((document) => {
    if (document.errors.some((error) => /call stack/i.test(error.message))) throw tooDeep()
    if (document.errors.length > 0) throw new SopsError('SOPS_FAILED', file, `sops printed output for ${file} that does not parse as YAML`, {hint: 'Check the sops version (3.9 or later is expected).'})
    const tree = toTree(document.contents as YamlNode | null, document, 0)
    if (tree === TOO_DEEP) throw tooDeep()
    return tree ?? {}
  })
}

/** A value nested beyond MAX_DEPTH: never silently null (the old behaviour migrated an empty value). */
const TOO_DEEP = Symbol('too deep')

function toTree(node: YamlNode | null, document: Document.Parsed, depth: number): SopsTree | typeof TOO_DEEP {
  if (depth > MAX_DEPTH) return TOO_DEEP
  if (node === null) return null
  if (isAlias(node)) return toTree((node.resolve(document) as YamlNode | undefined) ?? null, document, depth + 1)
  if (isMap(node)) {
    const out: {[key: string]: SopsTree} = {}
    for (const pair of node.items) {
      if (!isPair(pair)) continue
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key)
      const value = toTree(pair.value as YamlNode | null, document, depth + 1)
      if (value === TOO_DEEP) return TOO_DEEP
      assignKey(out, key, value)
    }
    return out
  }
  if (isSeq(node)) {
    const items: SopsTree[] = []
    for (const item of node.items) {
      const value = toTree(item as YamlNode | null, document, depth + 1)
      if (value === TOO_DEEP) return TOO_DEEP
      items.push(value)
    }
    return items
  }
  if (isScalar(node)) {
    const value = node.value
    if (value === null || value === undefined) return null
    if (value instanceof Uint8Array) return SecretValue.fromBytes(value)
    // sops writes the string `<<` as `!!merge <<`, which the parser returns as a symbol.
    if (typeof value === 'symbol') return SecretValue.fromJsonScalar(node.source ?? '<<')
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return SecretValue.fromJsonScalar(value)
    return SecretValue.fromJsonScalar(String(value))
  }
  return null
}
