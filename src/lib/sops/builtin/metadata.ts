import {RE2JS} from 're2js'

import type {SopsFormat} from '../detect.js'
import {goParseBool, goRfc3339Seconds} from './go-text.js'
import {FormatProblem} from './parse-yaml.js'
import {isMap, scalarText, type SopsMap, type SopsNode} from './tree.js'

export interface AgeStanza {
  recipient: string
  /** The data key (or its Shamir share), as an armored age file. */
  enc: string
}

export interface KeyGroup {
  age: AgeStanza[]
  /** Master keys only the sops binary can use, named for messages: `pgp FBC7…`, `kms arn:…`. */
  others: string[]
}

/** A sops key pattern, matched anywhere in a key as Go's regexp.MatchString does. */
export interface KeyPattern {
  test(key: string): boolean
}

/** The rules that say which leaves are encrypted; at most one is set. */
export interface EncryptionRules {
  unencryptedSuffix?: string
  encryptedSuffix?: string
  unencryptedRegex?: KeyPattern
  encryptedRegex?: KeyPattern
  /** Comment-based rules depend on where comments sit; the value itself (ENC[…] or not) is used instead. */
  byComments: boolean
}

export interface SopsMetadata {
  /** lastmodified as time.Format(RFC3339): the additional data of the MAC. */
  macAdditionalData: string
  mac: string
  macOnlyEncrypted: boolean
  rules: EncryptionRules
  keyGroups: KeyGroup[]
  shamirThreshold: number
}

const OTHER_KEY_TYPES: [field: string, label: string, nameField: string][] = [
  ['pgp', 'pgp', 'fp'],
  ['kms', 'kms', 'arn'],
  ['gcp_kms', 'gcp_kms', 'resource_id'],
  ['azure_kv', 'azure_kv', 'vault_url'],
  ['hc_vault', 'hc_vault', 'key_name'],
  ['hckms', 'hckms', 'key_id'],
]

/**
 * Splits the documents from the metadata as sops' stores do: the `sops`
 * mapping (YAML, JSON) or section (INI) of the first document, or the
 * flattened `sops_*` keys (dotenv). The metadata key is removed from every
 * document; it is never data.
 */
export function extractMetadata(documents: SopsMap[], format: SopsFormat): {documents: SopsMap[]; metadata: SopsMetadata} {
  let metadataTree: SopsMap | undefined
  if (format === 'dotenv') {
    const first = documents[0] ?? {kind: 'map', entries: []}
    const flat: SopsMap = {kind: 'map', entries: first.entries.filter(({key}) => key.startsWith('sops_')).map(({key, value}) => ({key: key.slice('sops_'.length), value}))}
    documents = [{kind: 'map', entries: first.entries.filter(({key}) => !key.startsWith('sops_'))}, ...documents.slice(1)]
    if (flat.entries.length > 0) metadataTree = unflatten(flat)
  } else {
    documents = documents.map((document, index) => {
      const kept = document.entries.filter(({key, value}) => {
        if (key !== 'sops') return true
        if (index === 0) {
          if (metadataTree) throw new FormatProblem('has two sops metadata blocks')
          if (!isMap(value)) throw new FormatProblem('has a sops entry that is not a mapping')
          metadataTree = value
        }
        return false
      })
      return {kind: 'map', entries: kept}
    })
    if (metadataTree && format === 'ini') metadataTree = unflatten(unescapeNewlines(metadataTree))
  }
  if (!metadataTree) throw new NotSopsProblem()
  return {documents, metadata: toMetadata(metadataTree)}
}

/** The content has no sops metadata block at all. */
export class NotSopsProblem extends Error {}

function unescapeNewlines(tree: SopsMap): SopsMap {
  return {kind: 'map', entries: tree.entries.map(({key, value}) => ({key, value: value !== null && !Array.isArray(value) && value.kind === 'str' ? {kind: 'str', bytes: Buffer.from(value.bytes.toString('utf8').replaceAll('\\n', '\n'))} : value}))}
}

// Flattened keys: `age__list_0__map_enc` is age[0].enc.
function unflatten(flat: SopsMap): SopsMap {
  interface Slot {
    value?: SopsNode
    keys?: Map<string, Slot>
    indices?: Map<number, Slot>
  }
  const root: Slot = {}
  for (const {key, value} of flat.entries) {
    let slot = root
    for (const token of key.split(/(?=__map_|__list_)/)) {
      if (token.startsWith('__list_')) {
        const position = Number.parseInt(token.slice('__list_'.length), 10) || 0
        slot.indices ??= new Map()
        if (!slot.indices.has(position)) slot.indices.set(position, {})
        slot = slot.indices.get(position)!
      } else {
        const name = token.startsWith('__map_') ? token.slice('__map_'.length) : token
        slot.keys ??= new Map()
        if (!slot.keys.has(name)) slot.keys.set(name, {})
        slot = slot.keys.get(name)!
      }
    }
    if (slot.value !== undefined) throw new FormatProblem('has a repeated sops metadata key')
    slot.value = value
  }
  const convert = (slot: Slot): SopsNode => {
    if (slot.value !== undefined) return slot.value
    if (slot.keys) return {kind: 'map', entries: [...slot.keys].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, child]) => ({key, value: convert(child)}))}
    if (slot.indices) {
      const size = slot.indices.size
      if (![...slot.indices.keys()].every((position) => position >= 0 && position < size)) throw new FormatProblem('has an incomplete list in its sops metadata')
      return Array.from({length: size}, (_, position) => convert(slot.indices!.get(position)!))
    }
    return {kind: 'map', entries: []}
  }
  return convert(root) as SopsMap
}

function field(tree: SopsMap, name: string): SopsNode | undefined {
  let found: SopsNode | undefined
  for (const entry of tree.entries) if (entry.key === name) found = entry.value
  return found
}

function textField(tree: SopsMap, name: string): string | undefined {
  const value = field(tree, name)
  if (value === undefined || value === null) return undefined
  const text = scalarText(value)
  if (text === undefined) throw new FormatProblem(`has a sops metadata field ${name} that is not a scalar`)
  return text
}

function toMetadata(tree: SopsMap): SopsMetadata {
  const lastModified = textField(tree, 'lastmodified') ?? ''
  const macAdditionalData = goRfc3339Seconds(lastModified)
  if (macAdditionalData === undefined) throw new FormatProblem('has a sops lastmodified that is not an RFC 3339 time')
  const macOnly = textField(tree, 'mac_only_encrypted')
  const threshold = textField(tree, 'shamir_threshold')
  return {
    macAdditionalData,
    mac: textField(tree, 'mac') ?? '',
    macOnlyEncrypted: macOnly === undefined || macOnly === '' ? false : (goParseBool(macOnly) ?? invalid('mac_only_encrypted')),
    rules: rules(tree),
    keyGroups: keyGroups(tree),
    shamirThreshold: threshold === undefined || threshold === '' ? 0 : Number.parseInt(threshold, 10),
  }
}

function invalid(name: string): never {
  throw new FormatProblem(`has an invalid sops metadata field ${name}`)
}

function rules(tree: SopsMap): EncryptionRules {
  const set = (['unencrypted_suffix', 'encrypted_suffix', 'unencrypted_regex', 'encrypted_regex', 'unencrypted_comment_regex', 'encrypted_comment_regex'] as const)
    .map((name) => [name, textField(tree, name) ?? ''] as const)
    .filter(([, value]) => value !== '')
  if (set.length > 1) throw new FormatProblem('sets more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, unencrypted_regex, encrypted_comment_regex, unencrypted_comment_regex')
  if (set.length === 0) return {unencryptedSuffix: '_unencrypted', byComments: false}
  const [name, value] = set[0]
  switch (name) {
    case 'unencrypted_suffix':
      return {unencryptedSuffix: value, byComments: false}
    case 'encrypted_suffix':
      return {encryptedSuffix: value, byComments: false}
    case 'unencrypted_regex':
      return {unencryptedRegex: goRegExp(value, name), byComments: false}
    case 'encrypted_regex':
      return {encryptedRegex: goRegExp(value, name), byComments: false}
    default:
      // The comment rules are not evaluated (the value itself says whether it is encrypted), but a
      // pattern sops could not compile is refused all the same: the file is not what sops wrote.
      goRegExp(value, name)
      return {byComments: true}
  }
}

/** Longer patterns are not what sops users write, and matching cost grows with the pattern. */
const MAX_PATTERN_LENGTH = 4096

/**
 * A sops pattern (Go regexp, RE2 syntax) evaluated as sops evaluates it: with
 * an RE2 engine, in time linear in the key. The pattern comes from the file —
 * anyone holding the public recipient can write one — so a backtracking
 * JavaScript RegExp (`^(a+)+$` never finishes on a 40-character key) is never
 * used. Results are remembered per key: every leaf tests every key of its path.
 */
function goRegExp(pattern: string, name: string): KeyPattern {
  if (pattern.length > MAX_PATTERN_LENGTH) throw new FormatProblem(`has a sops ${name} longer than ${MAX_PATTERN_LENGTH} characters`)
  let compiled: RE2JS
  try {
    compiled = RE2JS.compile(pattern)
  } catch {
    throw new FormatProblem(`has a sops ${name} that is not a valid RE2 (Go) regular expression`)
  }
  const seen = new Map<string, boolean>()
  return {
    test(key: string): boolean {
      let matched = seen.get(key)
      if (matched === undefined) {
        matched = compiled.matcher(key).find()
        seen.set(key, matched)
      }
      return matched
    },
  }
}

function keyGroups(tree: SopsMap): KeyGroup[] {
  const topLevel = groupFrom(tree)
  if (topLevel.age.length > 0 || topLevel.others.length > 0) return [topLevel]
  const groups = field(tree, 'key_groups')
  if (Array.isArray(groups) && groups.length > 0) return groups.map((group) => (isMap(group) ? groupFrom(group) : invalid('key_groups')))
  throw new FormatProblem('has no keys in its sops metadata')
}

function groupFrom(tree: SopsMap): KeyGroup {
  const age: AgeStanza[] = []
  for (const entry of listField(tree, 'age')) {
    if (!isMap(entry)) invalid('age')
    age.push({recipient: textField(entry, 'recipient') ?? '', enc: textField(entry, 'enc') ?? ''})
  }
  const others: string[] = []
  for (const [name, label, nameField] of OTHER_KEY_TYPES) {
    for (const entry of listField(tree, name)) {
      if (!isMap(entry)) invalid(name)
      others.push(`${label} ${textField(entry, nameField) ?? '?'}`)
    }
  }
  return {age, others}
}

function listField(tree: SopsMap, name: string): SopsNode[] {
  const value = field(tree, name)
  if (value === undefined || value === null) return []
  if (!Array.isArray(value)) invalid(name)
  return value
}
