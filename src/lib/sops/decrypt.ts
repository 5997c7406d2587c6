import {readFile} from 'node:fs/promises'

import {SecretValue} from '../secret/secret-value.js'
import {decryptBuiltin} from './builtin/decrypt-builtin.js'
import {detectSops, type SopsFormat} from './detect.js'
import {decryptWithSops, findSopsBinary, formatFromExtension} from './engine-sops.js'
import {SopsError} from './errors.js'
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
  let content = options.content
  if (content === undefined) {
    try {
      content = await readFile(path)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      // sops reports unreadable files itself (and its exit code is mapped); the builtin engine says it here.
      if (engine === 'builtin') {
        if (code === 'ENOENT' || code === 'ENOTDIR') throw new SopsError('FILE_NOT_FOUND', path, `${path} does not exist`, {hint: 'Check the path.'})
        throw new SopsError('FILE_NOT_FOUND', path, `${path} cannot be read (${code ?? 'error'})`, {hint: 'Check the path and its permissions.'})
      }
    }
  }
  const detected = content === undefined ? undefined : detectSops(content)?.format
  if (engine === 'sops') {
    // An unrecognised file still goes to sops, which says what is wrong with it.
    const format = detected ?? formatFromExtension(path)
    return {path, format, engine, documents: await decryptWithSops(sopsBinary!, path, format, {ageKeys, env, ignoreMac})}
  }
  if (!detected || content === undefined) {
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
