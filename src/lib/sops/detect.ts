import {basename} from 'node:path'

import {isAlias, isMap, isPair, isScalar, parseAllDocuments, type Document, type Node as YamlNode} from 'yaml'

import {parseDotenv, parseIni} from './builtin/parse-flat.js'
import type {SopsMap} from './builtin/tree.js'

export type SopsFormat = 'yaml' | 'json' | 'dotenv' | 'ini' | 'binary'

/**
 * The largest SOPS file this tool reads. A Kubernetes Secret holds at most
 * 1 MiB; sops' base64 and per-value envelope make that about 1.5 MiB on
 * disk, so 8 MiB leaves room for several Secrets in one multi-document file
 * while keeping one file's parse (and everything derived from it) bounded.
 * Detection parses content up to this size; larger content is judged by its
 * lines alone (see detectSops).
 */
export const MAX_SOPS_FILE_BYTES = 8 * 1024 * 1024

const SOPS = Buffer.from('sops')
const ENCRYPTED_VALUE = Buffer.from('ENC[AES256_GCM,')
const LAST_MODIFIED = Buffer.from('lastmodified')
const BACKSLASH = 0x5c
// A quoted key can spell `sops` with escapes (`"\x73ops"`, `"\u0073ops"`); such content has no literal `sops`.
const ESCAPED_SOPS_LETTER = /\\(?:x(?:73|6f|70)|u00(?:73|6f|70)|U000000(?:73|6f|70))/i

/**
 * A SOPS file by its content, not its name: a document that parses in its
 * format (YAML incl. multi-document, JSON, dotenv, INI, or the binary store,
 * which is JSON) and holds sops' metadata where sops reads it — a top-level
 * `sops` mapping of the first document (YAML, JSON), `sops_…` keys (dotenv)
 * or a `[sops]` section (INI) — with the `mac` or `lastmodified` every
 * encryption writes. A SOPS example inside another document (a runbook page,
 * a README's fenced block, a string value) is not one: that document does
 * not parse as a SOPS file, or its `sops` is not at the top.
 *
 * Fast: git scan runs it on every blob. Native substring searches reject
 * almost everything before any text is decoded; only candidates are parsed,
 * and only up to MAX_SOPS_FILE_BYTES. Larger content (judged on its first and
 * last MiB only), and content nested too deeply for the parser, is judged by
 * its lines (a top-level `sops:` line followed by an indented
 * `mac:`/`lastmodified:`, or the dotenv/INI equivalent), so such a file is
 * still found and its decryption can say what is wrong with it.
 */
export function detectSops(content: Buffer): {format: SopsFormat} | undefined {
  if (content.length > MAX_SOPS_FILE_BYTES) return detectLarge(content)
  const escapes = content.includes(BACKSLASH)
  if (content.indexOf(SOPS) === -1 && !(escapes && ESCAPED_SOPS_LETTER.test(content.toString('latin1')))) return undefined
  if (content.indexOf(ENCRYPTED_VALUE) === -1 && content.indexOf(LAST_MODIFIED) === -1 && !escapes) return undefined
  let text = content.toString('utf8')
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
  return detectByParsing(text, content)
}

const LARGE_WINDOW = 1024 * 1024

/**
 * Content too large to parse (or even to hold as one string): sops writes its
 * metadata block last in every format, so the lines of the first and last
 * MiB decide. Memory and time stay bounded whatever the size.
 */
function detectLarge(content: Buffer): {format: SopsFormat} | undefined {
  const head = content.subarray(0, LARGE_WINDOW)
  const tail = content.subarray(content.length - LARGE_WINDOW)
  if (!tail.includes(SOPS) || !(tail.includes(LAST_MODIFIED) || tail.includes(ENCRYPTED_VALUE))) return undefined
  let text = `${head.toString('utf8')}\n${tail.toString('utf8')}`
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
  return detectByLines(text)
}

type Verdict = {format: SopsFormat} | 'too-deep' | undefined

function detectByParsing(text: string, content: Buffer): {format: SopsFormat} | undefined {
  if (text[firstSignificantCharacter(text)] === '{') return detectJson(text)
  const verdicts: Verdict[] = []
  for (const detector of [detectDotenv, detectYaml, detectIni]) {
    const verdict = detector(text, content)
    if (verdict !== undefined && verdict !== 'too-deep') return verdict
    verdicts.push(verdict)
  }
  return verdicts.includes('too-deep') ? detectByLines(text) : undefined
}

function detectJson(text: string): {format: SopsFormat} | undefined {
  let document: unknown
  try {
    // V8's JSON.parse does not recurse on the call stack: any nesting parses.
    document = JSON.parse(text)
  } catch {
    return undefined
  }
  if (!isPlainObject(document) || !Object.hasOwn(document, 'sops') || !isPlainObject(document.sops)) return undefined
  if (!Object.hasOwn(document.sops, 'mac') && !Object.hasOwn(document.sops, 'lastmodified')) return undefined
  // The binary store is a JSON document whose only data key is `data`; a JSON
  // file that holds nothing but `data` is indistinguishable and decrypts the same.
  const dataKeys = Object.keys(document).filter((key) => key !== 'sops')
  return {format: dataKeys.length === 1 && dataKeys[0] === 'data' && typeof document.data === 'string' ? 'binary' : 'json'}
}

function detectDotenv(text: string, content: Buffer): Verdict {
  if (!/^sops_(?:mac|lastmodified)=/m.test(text)) return undefined
  let document: SopsMap
  try {
    document = parseDotenv(content)
  } catch {
    return undefined
  }
  return document.entries.some(({key}) => key === 'sops_mac' || key === 'sops_lastmodified') ? {format: 'dotenv'} : undefined
}

function detectIni(text: string, content: Buffer): Verdict {
  if (!/^[ \t]*\[sops\]/m.test(text)) return undefined
  let document: SopsMap
  try {
    document = parseIni(content)
  } catch {
    return undefined
  }
  const hasMetadata = document.entries.some(({key, value}) => key === 'sops' && value !== null && !Array.isArray(value) && value.kind === 'map' && value.entries.some((entry) => entry.key === 'mac' || entry.key === 'lastmodified'))
  return hasMetadata ? {format: 'ini'} : undefined
}

// A line that could hold a `sops` key of a block mapping: plain, quoted, explicit (`? sops`), tagged or
// anchored (`!!str sops`, `&m sops`), or a double-quoted key with escapes. Only such text is parsed as
// YAML; the pattern is linear (each part starts with a character the previous one cannot match).
const YAML_SOPS_KEY_CANDIDATE = /^[ \t]*(?:\?[ \t]+)?(?:[!&]\S*[ \t]+)*(?:sops|'sops'|"(?:[^"\\\n]|\\.)*")[ \t]*(?::|$)/m

function detectYaml(text: string): Verdict {
  if (!YAML_SOPS_KEY_CANDIDATE.test(text)) return undefined
  let documents: Document.Parsed[]
  try {
    const parsed = parseAllDocuments(text, {schema: 'failsafe', uniqueKeys: false, merge: false, prettyErrors: false, keepSourceTokens: false})
    documents = Array.isArray(parsed) ? parsed : [parsed]
  } catch (error) {
    return error instanceof RangeError ? 'too-deep' : undefined
  }
  for (const document of documents) {
    // The parser reports a call stack exhausted by nesting as a document error.
    if (document.errors.some((error) => /call stack/i.test(error.message))) return 'too-deep'
    if (document.errors.length > 0) return undefined
  }
  // sops reads its metadata from the first document (yaml.Unmarshal), and the key may be quoted.
  const first = documents[0]
  const root = first ? resolve(first.contents as YamlNode | null, first) : null
  if (!root || !isMap(root)) return undefined
  for (const pair of root.items) {
    if (!isPair(pair)) continue
    const key = resolve(pair.key as YamlNode | null, first)
    if (!key || !isScalar(key) || String(key.value) !== 'sops') continue
    const metadata = resolve(pair.value as YamlNode | null, first)
    if (!metadata || !isMap(metadata)) continue
    for (const field of metadata.items) {
      const name = isPair(field) ? resolve(field.key as YamlNode | null, first) : null
      if (name && isScalar(name) && (name.value === 'mac' || name.value === 'lastmodified')) return {format: 'yaml'}
    }
  }
  return undefined
}

function resolve(node: YamlNode | null, document: Document.Parsed): YamlNode | null {
  if (node !== null && isAlias(node)) return (node.resolve(document) as YamlNode | undefined) ?? null
  return node
}

// The structure sops writes, line by line (linear: anchored at line starts, no nested quantifiers).
const YAML_SOPS_KEY = /^(?:sops|"sops"|'sops')[ \t]*:[ \t]*(?:#.*)?$/m
const YAML_METADATA_FIELD = /^[ \t]+(?:mac|lastmodified|"mac"|"lastmodified"|'mac'|'lastmodified')[ \t]*:/m
const DOTENV_METADATA = /^sops_(?:mac|lastmodified)=/m
const INI_SOPS_SECTION = /^[ \t]*\[sops\][ \t]*(?:[#;].*)?$/m
const INI_METADATA_FIELD = /^[ \t]*(?:mac|lastmodified)[ \t]*[=:]/m
const JSON_SOPS_KEY = /"sops"\s*:\s*\{/
const JSON_METADATA_FIELD = /"(?:mac|lastmodified)"\s*:/
const JSON_ONLY_DATA_KEY = /^\{\s*"data"\s*:\s*"(?:[^"\\]|\\.)*"\s*,\s*"sops"\s*:/

/**
 * The format sops' lines suggest, whether or not the document parses: for a
 * file someone asked to decrypt, so that a damaged SOPS file is reported as
 * damaged (with the line) rather than as no SOPS file at all. Never for
 * deciding what a SOPS file is (detectSops).
 */
export function formatSuggestedByLines(content: Buffer): SopsFormat | undefined {
  let text = content.toString('utf8')
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
  return detectByLines(text)?.format
}

/** For content too large or too deep to parse: the lines sops itself writes. */
function detectByLines(text: string): {format: SopsFormat} | undefined {
  const start = firstSignificantCharacter(text)
  if (text[start] === '{') {
    if (!JSON_SOPS_KEY.test(text) || !JSON_METADATA_FIELD.test(text)) return undefined
    return {format: JSON_ONLY_DATA_KEY.test(text.slice(start)) ? 'binary' : 'json'}
  }
  if (DOTENV_METADATA.test(text)) return {format: 'dotenv'}
  if (YAML_SOPS_KEY.test(text) && YAML_METADATA_FIELD.test(text)) return {format: 'yaml'}
  if (INI_SOPS_SECTION.test(text) && INI_METADATA_FIELD.test(text)) return {format: 'ini'}
  return undefined
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/** `.sops.yaml` / `.sops.yml` creation-rule files (by base name). */
export function isSopsConfigFile(path: string): boolean {
  const name = basename(path.replaceAll('\\', '/'))
  return name === '.sops.yaml' || name === '.sops.yml'
}

function firstSignificantCharacter(text: string): number {
  let index = 0
  while (index < text.length && /\s/.test(text[index])) index++
  return index
}
