import type {SecretValue} from '../secret/secret-value.js'
import {AhoCorasick} from './aho-corasick.js'

/** One known secret value and the names that identify it in reports (never the value). */
export interface KnownValue {
  /** Where it came from, e.g. "sops:apps/db/secret.enc.yaml@<blob>" or "vault:region1". */
  source: string
  /** Secret name (file path or Vault key). */
  secret: string
  /** Key inside the secret (dotted path or property). */
  key: string
  value: SecretValue
}

export type ValueForm = 'raw' | 'base64' | 'base64url' | 'url-encoded' | 'json-escaped'

export interface ValuePattern {
  /** Index into the KnownValue list. */
  value: number
  form: ValueForm
  bytes: Buffer
}

/**
 * Shorter values would match all over any repository (and a scrub would
 * rewrite them everywhere); they are reported as skipped instead.
 * `--min-value-length` changes it.
 */
export const MIN_VALUE_BYTES = 8

export interface PatternSet {
  values: KnownValue[]
  patterns: ValuePattern[]
  matcher: AhoCorasick | undefined
  /** Names of values too short to search for (never the values). */
  skipped: {source: string; secret: string; key: string; byteLength: number}[]
  /** The minimum length (bytes) a value needed to be searched for. */
  minBytes: number
}

/**
 * The byte forms a value takes when it leaks: as is, base64 (a Kubernetes
 * Secret's `data:`; without padding so padded and unpadded both match),
 * URL-encoded (connection strings) and JSON-escaped (JSON files, manifests).
 */
export function valueForms(value: SecretValue): {form: ValueForm; bytes: Buffer}[] {
  const raw = value.revealBytes()
  const forms: {form: ValueForm; bytes: Buffer}[] = [{form: 'raw', bytes: raw}]
  const add = (form: ValueForm, bytes: Buffer) => {
    if (bytes.length > 0 && !forms.some((existing) => existing.bytes.equals(bytes))) forms.push({form, bytes})
  }
  const base64 = raw.toString('base64').replace(/=+$/, '')
  add('base64', Buffer.from(base64, 'latin1'))
  add('base64url', Buffer.from(raw.toString('base64url'), 'latin1'))
  if (value.isUtf8()) {
    const text = raw.toString('utf8')
    add('url-encoded', Buffer.from(encodeURIComponent(text), 'latin1'))
    add('json-escaped', Buffer.from(JSON.stringify(text).slice(1, -1), 'utf8'))
  }
  return forms
}

/** Deduplicates values by content (the same password in two secrets is one pattern with two names). */
export function buildPatternSet(values: KnownValue[], minBytes = MIN_VALUE_BYTES): PatternSet {
  const kept: KnownValue[] = []
  const skipped: PatternSet['skipped'] = []
  for (const known of values) {
    if (known.value.byteLength < minBytes) {
      skipped.push({source: known.source, secret: known.secret, key: known.key, byteLength: known.value.byteLength})
    } else {
      kept.push(known)
    }
  }
  const patterns: ValuePattern[] = []
  kept.forEach((known, index) => {
    for (const {form, bytes} of valueForms(known.value)) patterns.push({value: index, form, bytes})
  })
  return {values: kept, patterns, matcher: patterns.length > 0 ? new AhoCorasick(patterns.map((p) => p.bytes)) : undefined, skipped, minBytes}
}

/**
 * The replacement list scrub applies, in the order both engines apply it:
 * distinct byte strings, longest first, so that a value containing another
 * is replaced whole before its part is.
 */
export function replacementPatterns(set: PatternSet): Buffer[] {
  const unique = new Map<string, Buffer>()
  for (const pattern of set.patterns) unique.set(pattern.bytes.toString('latin1'), pattern.bytes)
  return [...unique.values()].sort((a, b) => b.length - a.length || Buffer.compare(a, b))
}

/** Replaces every non-overlapping occurrence, left to right (Python's bytes.replace semantics). */
export function replaceAll(data: Buffer, needle: Buffer, replacement: Buffer): Buffer {
  let index = data.indexOf(needle)
  if (index === -1) return data
  const parts: Buffer[] = []
  let from = 0
  while (index !== -1) {
    parts.push(data.subarray(from, index), replacement)
    from = index + needle.length
    index = data.indexOf(needle, from)
  }
  parts.push(data.subarray(from))
  return Buffer.concat(parts)
}

export const REMOVED_MARKER = Buffer.from('***REMOVED***')

/** Applies the replacement list in order; returns the same Buffer when nothing matched. */
export function replaceValues(data: Buffer, replacements: readonly Buffer[]): Buffer {
  let out = data
  for (const needle of replacements) out = replaceAll(out, needle, REMOVED_MARKER)
  return out
}
