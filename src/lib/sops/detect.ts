import {basename} from 'node:path'

export type SopsFormat = 'yaml' | 'json' | 'dotenv' | 'ini' | 'binary'

const SOPS = Buffer.from('sops')
const ENCRYPTED_VALUE = Buffer.from('ENC[AES256_GCM,')
const LAST_MODIFIED = Buffer.from('lastmodified')

// Each format keeps the metadata block its own way: a nested `sops` mapping
// (YAML, JSON and the binary store, which is JSON), `sops_`-prefixed keys
// (dotenv) or a `[sops]` section (INI). A block counts when it holds the MAC
// or the lastmodified stamp that every encryption writes.
const YAML_SOPS_KEY = /^sops:[ \t]*(?:#.*)?$/m
const YAML_METADATA_FIELD = /^[ \t]+(?:mac|lastmodified):/m
const DOTENV_METADATA = /^sops_(?:mac|lastmodified)=/m
const INI_SOPS_SECTION = /^[ \t]*\[sops\][ \t]*(?:[#;].*)?$/m
const INI_METADATA_FIELD = /^[ \t]*(?:mac|lastmodified)[ \t]*[=:]/m
const JSON_SOPS_KEY = /"sops"\s*:\s*\{/
const JSON_METADATA_FIELD = /"(?:mac|lastmodified)"\s*:/
const JSON_ONLY_DATA_KEY = /^\{\s*"data"\s*:\s*"(?:[^"\\]|\\.)*"\s*,\s*"sops"\s*:/

/**
 * A SOPS file by its content, not its name. Fast: it runs on every blob of a
 * git history, so two native substring searches reject almost everything
 * before any text is decoded or matched.
 */
export function detectSops(content: Buffer): {format: SopsFormat} | undefined {
  if (content.indexOf(SOPS) === -1) return undefined
  if (content.indexOf(ENCRYPTED_VALUE) === -1 && content.indexOf(LAST_MODIFIED) === -1) return undefined
  const text = content.toString('utf8')
  const start = firstSignificantCharacter(text)
  if (text[start] === '{') {
    if (!JSON_SOPS_KEY.test(text) || !JSON_METADATA_FIELD.test(text)) return undefined
    // The binary store is a JSON document whose only data key is `data`; a JSON
    // file that holds nothing but `data` is indistinguishable and decrypts the same.
    return {format: JSON_ONLY_DATA_KEY.test(text.slice(start)) ? 'binary' : 'json'}
  }
  if (DOTENV_METADATA.test(text)) return {format: 'dotenv'}
  if (YAML_SOPS_KEY.test(text) && YAML_METADATA_FIELD.test(text)) return {format: 'yaml'}
  if (INI_SOPS_SECTION.test(text) && INI_METADATA_FIELD.test(text)) return {format: 'ini'}
  return undefined
}

/** `.sops.yaml` / `.sops.yml` creation-rule files (by base name). */
export function isSopsConfigFile(path: string): boolean {
  const name = basename(path.replaceAll('\\', '/'))
  return name === '.sops.yaml' || name === '.sops.yml'
}

function firstSignificantCharacter(text: string): number {
  let index = text.charCodeAt(0) === 0xfeff ? 1 : 0
  while (index < text.length && /\s/.test(text[index])) index++
  return index
}
