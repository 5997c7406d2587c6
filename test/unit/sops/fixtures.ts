import {mkdirSync, mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'

import {SecretValue} from '../../../src/lib/secret/secret-value.js'
import type {SopsTree} from '../../../src/lib/sops/decrypt.js'
import {PROJECT_ROOT} from '../../helpers/binaries.js'

/** Real SOPS files with published keys (shared/, never copied into the repository). */
export const FIXTURES = resolve(PROJECT_ROOT, '..', 'shared', 'fixtures', 'sops-real')

export interface ExpectedDecryption {
  format: string
  /** A key file under FIXTURES, or 'pgp'. */
  key: string
  plaintext?: unknown
  result: string
  sops_cli_expected_exit?: number
}

export const EXPECTED = JSON.parse(readFileSync(join(FIXTURES, 'expected-decryption.json'), 'utf8')) as Record<string, ExpectedDecryption>

/** Fixtures whose data key is sealed to a published age identity. */
export const AGE_FIXTURES = Object.entries(EXPECTED).filter(([, expected]) => expected.key !== 'pgp' && ['MAC_OK', 'MAC_MISMATCH', 'MAC_MISSING', 'VALUE_DECRYPT_FAILED'].includes(expected.result))
export const PGP_FIXTURES = Object.entries(EXPECTED).filter(([, expected]) => expected.key === 'pgp')

export const fixture = (relative: string): string => join(FIXTURES, relative)

/** A private scratch directory; remove it with rmSync(dir, {recursive: true, force: true}). */
export function scratchDir(): string {
  return mkdtempSync(join(tmpdir(), 'sops-test-'))
}

/** An environment with nothing but what the test gives: an empty HOME, no SOPS_* or XDG_* from the machine. */
export function isolatedEnv(scratch: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const home = mkdtempSync(join(scratch, 'home-'))
  mkdirSync(join(home, '.config'), {recursive: true})
  return {PATH: process.env.PATH, HOME: home, ...extra}
}

/** A decrypted tree as the plain JSON values the fixtures list (non-UTF-8 bytes as {__bytes_base64__}). */
export function plain(tree: SopsTree): unknown {
  if (tree === null) return null
  if (tree instanceof SecretValue) {
    if (tree.jsonType === 'string' && !tree.isUtf8()) return {__bytes_base64__: tree.revealBase64()}
    return tree.revealJson()
  }
  if (Array.isArray(tree)) return tree.map(plain)
  return Object.fromEntries(Object.entries(tree).map(([key, value]) => [key, plain(value)]))
}

/** Every string and number leaf of an expected plaintext: the values that must never show up in messages. */
export function plaintextValues(value: unknown): string[] {
  if (value === null || value === undefined) return []
  if (typeof value === 'string') return value.length >= 3 ? [value] : []
  if (typeof value === 'number') return String(value).length >= 3 ? [String(value)] : []
  if (Array.isArray(value)) return value.flatMap(plaintextValues)
  if (typeof value === 'object') return Object.values(value as Record<string, unknown>).flatMap(plaintextValues)
  return []
}
