import {Alias, isAlias, isMap as isYamlMap, isPair, isScalar, isSeq, parseAllDocuments, type Document, type Node as YamlNode, type Scalar as YamlScalar} from 'yaml'

import {goParseFloat, goParseIntBase0, goYamlTimestamp} from './go-text.js'
import {type Scalar, type SopsMap, type SopsNode, str} from './tree.js'

/** A structural problem, described without quoting the file's text. */
export class FormatProblem extends Error {}

const TAG = 'tag:yaml.org,2002:'

/**
 * Every document of a YAML file, with scalars typed the way sops' YAML
 * library (yaml.v3) types them: the MAC hashes that typed form, so `0777`
 * is the integer 511 and `2024-01-02` a time, as in sops.
 */
export function parseYamlDocuments(content: Buffer): SopsMap[] {
  // failsafe keeps every scalar as written; typing follows yaml.v3 below.
  const text = content.toString('utf8')
  const list = (() => {
    try {
      const documents = parseAllDocuments(text, {schema: 'failsafe', uniqueKeys: false, merge: false, prettyErrors: false})
      return Array.isArray(documents) ? documents : [documents]
    } catch (error) {
      // The parser recurses per nesting level: a few thousand levels exhaust the call stack.
      if (error instanceof RangeError) throw new FormatProblem(TOO_DEEP)
      throw error
    }
  })()
  return list.map((document, index) => {
    if (document.errors.some((error) => /call stack/i.test(error.message))) throw new FormatProblem(TOO_DEEP)
    if (document.errors.length > 0) {
      // The parser's own message quotes the offending line: give only its number.
      const line = text.slice(0, document.errors[0].pos[0]).split('\n').length
      throw new FormatProblem(`is not valid YAML (line ${line})`)
    }
    return documentToMap(document, index)
  })
}

function documentToMap(document: Document.Parsed, index: number): SopsMap {
  const root = document.contents
  if (root === null || (isScalar(root) && resolveScalar(root) === null)) return {kind: 'map', entries: []}
  const converted = convert(root, document, [], {nodes: 0})
  if (converted !== null && !Array.isArray(converted) && converted.kind === 'map') return converted
  throw new FormatProblem(`has a YAML document (number ${index + 1}) that is not a mapping`)
}

// Aliases are expanded (sops copies them too); the budget stops an alias bomb.
const MAX_NODES = 1_000_000
/** Deeper values are not configuration anyone migrates, and every later step walks the tree recursively. */
export const MAX_DEPTH = 512
const TOO_DEEP = `nests YAML deeper than ${MAX_DEPTH} levels, which this tool does not process`

function convert(node: YamlNode | Alias | null, document: Document.Parsed, path: string[], budget: {nodes: number}, depth = 0): SopsNode {
  if (depth > MAX_DEPTH) throw new FormatProblem(TOO_DEEP)
  if (++budget.nodes > MAX_NODES) throw new FormatProblem('expands to too many YAML nodes (an alias bomb?)')
  if (node === null) return null
  if (isAlias(node)) return convert(node.resolve(document) ?? null, document, path, budget, depth + 1)
  if (isYamlMap(node)) {
    const entries: SopsMap['entries'] = []
    for (const pair of node.items) {
      if (!isPair(pair)) continue
      const key = keyText(pair.key as YamlNode | null, document, path)
      entries.push({key, value: convert(pair.value as YamlNode | null, document, [...path, key], budget, depth + 1)})
    }
    return {kind: 'map', entries}
  }
  if (isSeq(node)) return node.items.map((item) => convert(item as YamlNode | null, document, path, budget, depth + 1))
  if (isScalar(node)) return resolveScalar(node)
  return null
}

function keyText(key: YamlNode | null, document: Document.Parsed, path: string[]): string {
  const node = key !== null && isAlias(key) ? key.resolve(document) : key
  if (node && isScalar(node)) {
    const resolved = resolveScalar(node)
    if (resolved?.kind === 'str') return resolved.bytes.toString('utf8')
  }
  throw new FormatProblem(`has a key that is not a string under ${path.length ? path.join(':') : 'the document root'}`)
}

/** yaml.v3's resolution: quoted and block scalars are strings; plain ones are null, bool, int, float, time or string. */
function resolveScalar(node: YamlScalar): Scalar | null {
  if (node.value instanceof Uint8Array) return {kind: 'str', bytes: Buffer.from(node.value)}
  // The merge tag comes back as a symbol; its text is what sops keeps (the string `<<`).
  const text = typeof node.value === 'string' ? node.value : node.value === null || node.value === undefined ? '' : typeof node.value === 'symbol' ? (node.source ?? '<<') : String(node.value)
  const tag = node.tag?.startsWith(TAG) ? `!!${node.tag.slice(TAG.length)}` : node.tag
  if (tag === '!!str') return str(text)
  if (tag === '!!binary') return {kind: 'str', bytes: Buffer.from(text.replace(/\s+/g, ''), 'base64')}
  const quoted = node.type !== undefined && node.type !== 'PLAIN'
  if (tag === undefined && quoted) return str(text)
  if (tag !== undefined && !['!!int', '!!float', '!!bool', '!!null', '!!timestamp'].includes(tag)) return str(text)
  return resolvePlain(text, tag)
}

const NULLS = new Set(['', '~', 'null', 'Null', 'NULL'])
const TRUES = new Set(['true', 'True', 'TRUE'])
const FALSES = new Set(['false', 'False', 'FALSE'])
const YAML_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/

function resolvePlain(text: string, tag: string | undefined): Scalar | null {
  const resolved = resolveUntagged(text, tag)
  if (tag === undefined || (tag === '!!null' && resolved === null)) return resolved
  if (resolved !== null && tagOf(resolved) === tag) return resolved
  if (tag === '!!float' && resolved?.kind === 'int') return {kind: 'float', value: Number(resolved.text)}
  throw new FormatProblem(`has a YAML value tagged ${tag} that is not one`)
}

function tagOf(scalar: Scalar): string {
  return {str: '!!str', int: '!!int', float: '!!float', bool: '!!bool', time: '!!timestamp'}[scalar.kind]
}

function resolveUntagged(text: string, tag: string | undefined): Scalar | null {
  if (NULLS.has(text)) return null
  if (TRUES.has(text)) return {kind: 'bool', value: true}
  if (FALSES.has(text)) return {kind: 'bool', value: false}
  if (['.nan', '.NaN', '.NAN'].includes(text)) return {kind: 'float', value: Number.NaN}
  if (['.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF'].includes(text)) return {kind: 'float', value: Infinity}
  if (['-.inf', '-.Inf', '-.INF'].includes(text)) return {kind: 'float', value: -Infinity}
  const first = text[0]
  if (first === '.') {
    const value = goParseFloat(text)
    return value === undefined ? str(text) : {kind: 'float', value}
  }
  if (first === '+' || first === '-' || (first >= '0' && first <= '9')) {
    if (tag === undefined || tag === '!!timestamp') {
      const time = goYamlTimestamp(text)
      if (time !== undefined) return {kind: 'time', text: time}
    }
    const plain = text.replaceAll('_', '')
    const integer = goParseIntBase0(plain)
    if (integer !== undefined) return {kind: 'int', text: integer.toString()}
    if (fitsUint64Only(plain)) throw new FormatProblem('has an integer beyond the int64 range, which sops cannot handle')
    if (YAML_FLOAT.test(plain)) {
      const value = goParseFloat(plain)
      if (value !== undefined) return {kind: 'float', value}
    }
  }
  return str(text)
}

/** yaml.v3 makes such a scalar a uint64, a type sops' tree walk rejects. */
function fitsUint64Only(plain: string): boolean {
  const match = /^\+?(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]+|[1-9][0-9]*)$/.exec(plain)
  if (!match) return false
  const digits = match[1]
  const value = /^0[0-7]+$/.test(digits) ? BigInt(`0o${digits.slice(1)}`) : BigInt(digits)
  return value > 2n ** 63n - 1n && value <= 2n ** 64n - 1n
}
