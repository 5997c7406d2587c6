import {createDecipheriv} from 'node:crypto'

export interface EncryptedValue {
  data: Buffer
  iv: Buffer
  tag: Buffer
  type: string
}

const PREFIX = 'ENC[AES256_GCM,data:'

/**
 * sops' value format, `^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]`
 * with Go's semantics: unanchored at the end, `.` stops at a line break, each
 * group greedy. A backtracking regex takes cubic time on a crafted value (the
 * value comes from the file, which anyone with the public recipient can
 * write), so the same match is found with a few backward searches: the
 * greedy groups end at the last separator that still leaves room for the
 * rest, each group at least one character long.
 */
export function parseEncryptedValue(text: string): EncryptedValue | undefined {
  if (!text.startsWith(PREFIX)) return undefined
  const newline = text.indexOf('\n')
  const line = newline === -1 ? text : text.slice(0, newline)
  const dataStart = PREFIX.length
  const close = line.lastIndexOf(']')
  const typeAt = lastAtOrBefore(line, ',type:', close - ',type:'.length - 1, dataStart)
  if (typeAt === -1) return undefined
  const tagAt = lastAtOrBefore(line, ',tag:', typeAt - ',tag:'.length - 1, dataStart)
  if (tagAt === -1) return undefined
  const ivAt = lastAtOrBefore(line, ',iv:', tagAt - ',iv:'.length - 1, dataStart + 1)
  if (ivAt === -1) return undefined
  return {
    data: Buffer.from(line.slice(dataStart, ivAt), 'base64'),
    iv: Buffer.from(line.slice(ivAt + ',iv:'.length, tagAt), 'base64'),
    tag: Buffer.from(line.slice(tagAt + ',tag:'.length, typeAt), 'base64'),
    type: line.slice(typeAt + ',type:'.length, close),
  }
}

/** The last occurrence of `needle` starting at or before `latest` and at or after `earliest`; -1 when none. */
function lastAtOrBefore(text: string, needle: string, latest: number, earliest: number): number {
  if (latest < earliest) return -1
  const found = text.lastIndexOf(needle, latest)
  return found >= earliest ? found : -1
}

const PREFIX_BYTES = Buffer.from(PREFIX)

/** The same parse on a value's bytes: only the first line of a value that starts like one is decoded. */
export function parseEncryptedBytes(bytes: Buffer): EncryptedValue | undefined {
  if (bytes.length <= PREFIX_BYTES.length || !bytes.subarray(0, PREFIX_BYTES.length).equals(PREFIX_BYTES)) return undefined
  const newline = bytes.indexOf(0x0a)
  return parseEncryptedValue(bytes.subarray(0, newline === -1 ? bytes.length : newline).toString('utf8'))
}

export function looksEncrypted(bytes: Buffer): boolean {
  return parseEncryptedBytes(bytes) !== undefined
}

/**
 * AES-256-GCM with the value's own IV (32 bytes as sops writes it) and the
 * key path as additional data. Undefined when the tag does not verify.
 */
export function openValue(value: EncryptedValue, key: Buffer, additionalData: string): Buffer | undefined {
  if (value.tag.length !== 16 || value.iv.length === 0) return undefined
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, value.iv, {authTagLength: 16})
    decipher.setAAD(Buffer.from(additionalData, 'utf8'))
    decipher.setAuthTag(value.tag)
    return Buffer.concat([decipher.update(value.data), decipher.final()])
  } catch {
    return undefined
  }
}
