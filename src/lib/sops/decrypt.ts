import {SecretValue} from '../secret/secret-value.js'
import {decryptBuiltin} from './builtin/decrypt-builtin.js'
import {detectSops, formatSuggestedByLines, MAX_SOPS_FILE_BYTES, type SopsFormat} from './detect.js'
import {decryptWithSops, findSopsBinary, formatFromExtension} from './engine-sops.js'
import {SopsError} from './errors.js'
import {FileReadProblem, readRegularFile} from './read-file.js'
import type {DecryptedSops, DecryptOptions, SopsEngine, SopsTree} from './types.js'

export {SopsError, isSopsError, type SopsErrorCode} from './errors.js'
export type {DecryptedSops, DecryptOptions, SopsEngine, SopsTree} from './types.js'
export type {SopsFormat} from './detect.js'

/** Which engine `auto` would use, and why (for the CLI to tell the operator). */
export function resolveEngine(options: DecryptOptions = {}): {engine: 'sops' | 'builtin'; sopsBinary?: string; reason: string} {
  const requested = options.engine ?? 'auto'
  if (requested === 'builtin') return {engine: 'builtin', reason: 'the built-in decryptor was requested (age keys only)'}
  const found = findSopsBinary(options.env ?? process.env)
  if (found.problem) {
    throw new SopsError('SOPS_FAILED', '', found.problem, {hint: 'Point SOPS_BIN at the sops binary, or unset it to use the sops on PATH or the built-in decryptor.'})
  }
  if (found.path) return {engine: 'sops', sopsBinary: found.path, reason: `sops found at ${found.path}${found.source === 'SOPS_BIN' ? ' (SOPS_BIN)' : ' (PATH)'}`}
  if (requested === 'sops') {
    throw new SopsError('SOPS_FAILED', '', 'the sops engine was requested but no sops binary was found (SOPS_BIN is unset and there is no sops on PATH)', {
      hint: 'Install sops or set SOPS_BIN to its path; or use the built-in decryptor, which handles age keys.',
    })
  }
  return {engine: 'builtin', reason: 'no sops binary found (SOPS_BIN unset, none on PATH): the built-in decryptor handles age keys only'}
}

/**
 * Decrypts a SOPS file found by its content. Every scalar leaf comes back
 * as a SecretValue tagged with its JSON type; a binary store is one document
 * `{data}`; a multi-document YAML file is one entry per document.
 */
export async function decryptSops(path: string, options: DecryptOptions = {}): Promise<DecryptedSops> {
  const env = options.env ?? process.env
  const {engine, sopsBinary} = resolveEngine(options)
  const ageKeys = options.ageKeys ?? []
  const ignoreMac = options.ignoreMac ?? false
  const content = options.content ?? (await readSopsFile(path))
  if (content.length > MAX_SOPS_FILE_BYTES) throw fileProblem(path, new FileReadProblem('too-large', `is ${content.length} bytes, over the ${MAX_SOPS_FILE_BYTES / 1024 / 1024} MiB limit for a SOPS file`))
  try {
    return await decryptContent(path, content, {engine, sopsBinary, ageKeys, env, ignoreMac, format: options.format})
  } catch (error) {
    // Every parser of a nested format recurses; a hostile nesting depth must fail this file only, by name.
    if (error instanceof RangeError) {
      throw new SopsError('PARSE', path, `${path} is nested too deeply to process (${error.message})`, {hint: 'Flatten the file: a Secret holds flat keys, and nested values become JSON text.'})
    }
    throw error
  }
}

async function readSopsFile(path: string): Promise<Buffer> {
  try {
    return await readRegularFile(path)
  } catch (error) {
    if (error instanceof FileReadProblem) throw fileProblem(path, error)
    throw error
  }
}

function fileProblem(path: string, problem: FileReadProblem): SopsError {
  switch (problem.kind) {
    case 'missing':
      return new SopsError('FILE_NOT_FOUND', path, `${path} ${problem.message}`, {hint: 'Check the path.'})
    case 'not-regular':
      return new SopsError('NOT_A_FILE', path, `${path} ${problem.message}`, {hint: 'Name the SOPS file itself; pipes, devices and sockets are never read.'})
    case 'too-large':
      return new SopsError('FILE_TOO_LARGE', path, `${path} ${problem.message}`, {hint: 'A SOPS file for Kubernetes Secrets (1 MiB each) is far smaller: check that this is the right file, or split it.'})
    default:
      return new SopsError('FILE_NOT_FOUND', path, `${path} ${problem.message}`, {hint: 'Check the path and its permissions.'})
  }
}

async function decryptContent(path: string, content: Buffer, options: {engine: 'sops' | 'builtin'; sopsBinary?: string; ageKeys: string[]; env: NodeJS.ProcessEnv; ignoreMac: boolean; format?: SopsFormat}): Promise<DecryptedSops> {
  const {engine, sopsBinary, ageKeys, env, ignoreMac} = options
  // A file that does not parse but has sops' lines is named as damaged by the parser (with the line), not as "not SOPS".
  const detected = options.format ?? detectSops(content)?.format ?? formatSuggestedByLines(content)
  if (engine === 'sops') {
    // An unrecognised file still goes to sops, which says what is wrong with it.
    const format = detected ?? formatFromExtension(path)
    return {path, format, engine, documents: await decryptWithSops(sopsBinary!, path, format, {ageKeys, env, ignoreMac})}
  }
  if (!detected) {
    throw new SopsError('NOT_SOPS', path, `${path} is not a SOPS-encrypted file (no sops metadata with a MAC or lastmodified, and no ENC[AES256_GCM,…] values)`, {hint: 'Check the path; only files encrypted by sops can be decrypted.'})
  }
  return {path, format: detected, engine, documents: await decryptBuiltin(path, content, detected, {ageKeys, env, ignoreMac})}
}

/**
 * Public API: the same decryption, revealed to plain values (strings,
 * numbers, booleans, null, arrays, objects); a binary store is
 * `[{data: Buffer}]`. The caller now holds plaintext: keep it in memory.
 */
export async function decryptSopsFile(path: string, options: {ageKeys?: string[]; ignoreMac?: boolean; engine?: SopsEngine} = {}): Promise<{format: SopsFormat; documents: unknown[]}> {
  const decrypted = await decryptSops(path, options)
  return {format: decrypted.format, documents: decrypted.documents.map((document) => reveal(document, decrypted.format === 'binary'))}
}

function reveal(tree: SopsTree, bytes: boolean): unknown {
  if (tree === null) return null
  if (tree instanceof SecretValue) return bytes || (tree.jsonType === 'string' && !tree.isUtf8()) ? tree.revealBytes() : tree.revealJson()
  if (Array.isArray(tree)) return tree.map((item) => reveal(item, false))
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(tree)) Object.defineProperty(out, key, {value: reveal(value, bytes), enumerable: true, writable: true, configurable: true})
  return out
}
