import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {isSecretValue, type SecretValue} from '../secret/secret-value.js'
import {decryptSops} from '../sops/decrypt.js'
import {detectSops, isSopsConfigFile} from '../sops/detect.js'
import {runGit} from './exec.js'
import type {SopsDetector} from './scan.js'
import type {KnownValue} from './value-patterns.js'

/** The same detection as `migrate sops`. */
export function sopsDetector(): SopsDetector {
  return {detect: (content) => detectSops(content), isConfigPath: (path) => isSopsConfigFile(path)}
}

const EXTENSION: Record<string, string> = {yaml: '.yaml', json: '.json', dotenv: '.env', ini: '.ini', binary: '.bin'}

/** Collects every SecretValue in a decrypted document tree, named by its key path. */
export function collectSecretValues(tree: unknown, prefix = ''): {key: string; value: SecretValue}[] {
  if (isSecretValue(tree)) return [{key: prefix || '(value)', value: tree}]
  if (tree instanceof Map) return [...tree].flatMap(([key, child]) => collectSecretValues(child, prefix ? `${prefix}.${String(key)}` : String(key)))
  if (Array.isArray(tree)) return tree.flatMap((child, index) => collectSecretValues(child, `${prefix}[${index}]`))
  if (tree && typeof tree === 'object') {
    // Leaves that carry their value as a `value`/`secret` property (redacting wrappers) are found by the walk.
    return Object.entries(tree as Record<string, unknown>).flatMap(([key, child]) => collectSecretValues(child, prefix ? `${prefix}.${key}` : key))
  }
  return []
}

/**
 * `--values-from sops`: decrypts every SOPS blob found in history, with the
 * usual keys (SOPS_AGE_KEY_FILE, SOPS_AGE_KEY, GnuPG). Each blob is ciphertext,
 * written to a private 0600 file only so the decryptor can read it by path;
 * the plaintext stays in memory as SecretValues.
 */
export async function valuesFromSopsBlobs(repo: string, blobs: {blob: string; format: string; paths: string[]}[], options: {ignoreMac?: boolean} = {}): Promise<{values: KnownValue[]; failures: string[]}> {
  if (blobs.length === 0) return {values: [], failures: []}
  const dir = await mkdtemp(join(tmpdir(), 'secrets-scan-'))
  const values: KnownValue[] = []
  const failures: string[] = []
  try {
    for (const {blob, format, paths} of blobs) {
      const file = join(dir, `${blob}${EXTENSION[format] ?? ''}`)
      const content = (await runGit(repo, ['cat-file', 'blob', blob], {stderrInErrors: false})).stdout
      await writeFile(file, content, {mode: 0o600})
      const secret = paths[0] ?? blob
      try {
        const {documents} = await decryptSops(file, {ignoreMac: options.ignoreMac})
        for (const {key, value} of collectSecretValues(documents.length === 1 ? documents[0] : documents)) values.push({source: `sops:${blob.slice(0, 12)}`, secret, key, value})
      } catch (error) {
        // Decryption errors name keys and files, not values.
        failures.push(`${secret} (blob ${blob.slice(0, 12)}): ${(error as Error).message.split('\n')[0].slice(0, 200)}`)
      } finally {
        await rm(file, {force: true})
      }
    }
  } finally {
    await rm(dir, {recursive: true, force: true})
  }
  return {values, failures}
}
