import {createHash, timingSafeEqual} from 'node:crypto'

import {SecretValue} from '../../secret/secret-value.js'
import type {SopsFormat} from '../detect.js'
import {SopsError} from '../errors.js'
import {assignKey, withoutEmptyDefaultSection} from '../output.js'
import type {SopsTree} from '../types.js'
import {loadAgeIdentities} from './age-keys.js'
import {looksEncrypted, openValue, parseEncryptedBytes, parseEncryptedValue} from './cipher.js'
import {recoverDataKey} from './data-key.js'
import {goAtoi, goFormatFloat, goMacBool, goNormalizeRfc3339, goParseBool, goParseFloat} from './go-text.js'
import {extractMetadata, NotSopsProblem, type SopsMetadata} from './metadata.js'
import {parseDotenv, parseIni} from './parse-flat.js'
import {parseJsonDocument} from './parse-json.js'
import {FormatProblem, parseYamlDocuments} from './parse-yaml.js'
import {isMap, type Scalar, type SopsMap, type SopsNode} from './tree.js'

/** sops seeds the MAC with these bytes (SHA-256 of "sops") when only encrypted values count. */
const MAC_ONLY_ENCRYPTED_SEED = Buffer.from('8a3fd2ad54ce66527b1034f3d147be0b0b975b3bf44f72c6fdadec8176f27d69', 'hex')

const EDITED_HINT = 'The file was changed after sops encrypted it (a key renamed or moved, a value pasted in by hand). Restore it from git history or re-create it with sops.'

export interface ParsedSopsFile {
  format: SopsFormat
  documents: SopsMap[]
  metadata: SopsMetadata
}

export interface BuiltinOptions {
  ageKeys: string[]
  env: NodeJS.ProcessEnv
  ignoreMac: boolean
}

/** Decrypts in-process with age identities: the format, value ciphers and MAC exactly as sops writes them. */
export async function decryptBuiltin(file: string, content: Buffer, format: SopsFormat, options: BuiltinOptions): Promise<SopsTree[]> {
  const parsed = parseSopsFile(file, content, format)
  const identities = await loadAgeIdentities(options.ageKeys, options.env)
  const dataKey = await recoverDataKey(file, parsed.metadata, identities)
  return decryptWithDataKey(file, parsed, dataKey, {ignoreMac: options.ignoreMac})
}

/** The documents and metadata of a SOPS file in the given format. */
export function parseSopsFile(file: string, content: Buffer, format: SopsFormat): ParsedSopsFile {
  try {
    const raw = format === 'yaml' ? parseYamlDocuments(content) : format === 'dotenv' ? [parseDotenv(content)] : format === 'ini' ? [parseIni(content)] : [parseJsonDocument(content)]
    const {documents, metadata} = extractMetadata(raw, format)
    return {format, documents, metadata}
  } catch (error) {
    if (error instanceof NotSopsProblem) throw new SopsError('NOT_SOPS', file, `${file} has no sops metadata: it is not a SOPS-encrypted ${format} file`, {hint: 'Check the path; only files encrypted by sops can be decrypted.'})
    if (error instanceof FormatProblem) throw new SopsError('PARSE', file, `${file} ${error.message}`, {hint: 'Fix the file (or restore it from git history) and run again.'})
    throw error
  }
}

/**
 * Decrypts every value with the data key and checks the MAC: SHA-512 over
 * every leaf in document order (only the encrypted ones with
 * mac_only_encrypted), compared with the stored MAC, which is itself
 * encrypted with lastmodified as additional data.
 */
export function decryptWithDataKey(file: string, parsed: ParsedSopsFile, dataKey: Buffer, options: {ignoreMac: boolean}): SopsTree[] {
  const {metadata} = parsed
  const mac = createHash('sha512')
  if (metadata.macOnlyEncrypted) mac.update(MAC_ONLY_ENCRYPTED_SEED)
  const many = parsed.documents.length > 1
  let documentLabel = ''

  const leaf = (scalar: Scalar, path: string[], display: string): SecretValue => {
    const encrypted = metadata.rules.byComments ? scalar.kind === 'str' && looksEncrypted(scalar.bytes) : shouldBeEncrypted(metadata, path)
    const value = encrypted ? openLeaf(file, scalar, path, `${documentLabel}${display || '(root)'}`, dataKey) : scalar
    if (!metadata.macOnlyEncrypted || encrypted) mac.update(macBytes(value))
    return toSecretValue(value)
  }

  const walk = (node: SopsNode, path: string[], display: string): SopsTree => {
    if (node === null) return null
    if (Array.isArray(node)) return node.map((item, index) => walk(item, path, `${display}[${index}]`))
    if (isMap(node)) {
      const out: {[key: string]: SopsTree} = {}
      for (const {key, value} of node.entries) assignKey(out, key, walk(value, [...path, key], display ? `${display}.${key}` : key))
      return out
    }
    return leaf(node, path, display)
  }

  const documents = parsed.documents.map((document, index) => {
    documentLabel = many ? `document ${index + 1}, ` : ''
    return walk(document, [], '')
  })
  const computed = mac.digest('hex').toUpperCase()
  if (!options.ignoreMac) verifyMac(file, metadata, dataKey, computed)
  if (parsed.format === 'binary') {
    const data = (documents[0] as {[key: string]: SopsTree} | undefined)?.data
    if (!(data instanceof SecretValue)) throw new SopsError('PARSE', file, `${file} is a sops binary store without a data value`, {hint: 'Restore the file from git history.'})
    return [{data}]
  }
  return parsed.format === 'ini' ? documents.map(withoutEmptyDefaultSection) : documents
}

function shouldBeEncrypted(metadata: SopsMetadata, path: string[]): boolean {
  const {unencryptedSuffix, encryptedSuffix, unencryptedRegex, encryptedRegex} = metadata.rules
  if (unencryptedSuffix) return !path.some((key) => key.endsWith(unencryptedSuffix))
  if (encryptedSuffix) return path.some((key) => key.endsWith(encryptedSuffix))
  if (unencryptedRegex) return !path.some((key) => unencryptedRegex.test(key))
  if (encryptedRegex) return path.some((key) => encryptedRegex.test(key))
  return true
}

function openLeaf(file: string, scalar: Scalar, path: string[], at: string, dataKey: Buffer): Scalar {
  if (scalar.kind !== 'str') throw new SopsError('AAD_MISMATCH', file, `the value at ${at} in ${file} is not encrypted although the file's rules say it must be`, {hint: EDITED_HINT})
  if (scalar.bytes.length === 0) return scalar
  const encrypted = parseEncryptedBytes(scalar.bytes)
  if (!encrypted) throw new SopsError('AAD_MISMATCH', file, `the value at ${at} in ${file} is not a sops-encrypted value (ENC[AES256_GCM,…]) although the file's rules say it must be`, {hint: EDITED_HINT})
  const plaintext = openValue(encrypted, dataKey, `${path.join(':')}:`)
  if (!plaintext) throw new SopsError('AAD_MISMATCH', file, `the value at ${at} in ${file} failed authentication: its key path or its ciphertext changed after encryption`, {hint: EDITED_HINT})
  const typed = typedPlaintext(plaintext, encrypted.type)
  if (!typed) throw new SopsError('AAD_MISMATCH', file, `the value at ${at} in ${file} does not hold the ${encrypted.type === 'comment' ? 'value' : encrypted.type} its type tag says`, {hint: EDITED_HINT})
  return typed
}

function typedPlaintext(plaintext: Buffer, type: string): Scalar | undefined {
  const text = (): string => plaintext.toString('utf8')
  switch (type) {
    case 'str':
    case 'bytes':
      return {kind: 'str', bytes: plaintext}
    case 'int': {
      const value = goAtoi(text())
      return value === undefined ? undefined : {kind: 'int', text: value.toString()}
    }
    case 'float': {
      const value = goParseFloat(text())
      return value === undefined ? undefined : {kind: 'float', value}
    }
    case 'bool': {
      const value = goParseBool(text())
      return value === undefined ? undefined : {kind: 'bool', value}
    }
    case 'time': {
      const value = goNormalizeRfc3339(text())
      return value === undefined ? undefined : {kind: 'time', text: value}
    }
    default:
      return undefined
  }
}

function macBytes(value: Scalar): Buffer {
  switch (value.kind) {
    case 'str':
      return value.bytes
    case 'int':
    case 'time':
      return Buffer.from(value.text)
    case 'float':
      return Buffer.from(goFormatFloat(value.value))
    case 'bool':
      return Buffer.from(goMacBool(value.value))
  }
}

function toSecretValue(value: Scalar): SecretValue {
  switch (value.kind) {
    case 'str':
      return SecretValue.fromBytes(value.bytes)
    case 'int':
      return SecretValue.fromJsonScalar(BigInt(value.text))
    case 'float':
    case 'bool':
      return SecretValue.fromJsonScalar(value.value)
    case 'time':
      return SecretValue.fromJsonScalar(value.text)
  }
}

function verifyMac(file: string, metadata: SopsMetadata, dataKey: Buffer, computed: string): void {
  const hint = 'The file was changed after sops encrypted it, or written by a tool that does not keep the MAC. Inspect the change in git history; if you trust the content, pass --ignore-mac.'
  if (metadata.mac === '') throw new SopsError('MAC_MISMATCH', file, `${file} has no MAC, so its content cannot be verified`, {hint})
  const encrypted = parseEncryptedValue(metadata.mac)
  const stored = encrypted ? openValue(encrypted, dataKey, metadata.macAdditionalData) : undefined
  if (!stored) throw new SopsError('MAC_MISMATCH', file, `the MAC of ${file} cannot be authenticated (its lastmodified or mac field was changed)`, {hint})
  const expected = Buffer.from(computed)
  if (stored.length !== expected.length || !timingSafeEqual(stored, expected)) throw new SopsError('MAC_MISMATCH', file, `the MAC of ${file} does not match its content`, {hint})
}
