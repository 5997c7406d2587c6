import {createDecipheriv} from 'node:crypto'

// sops' value format; like sops, the match is unanchored at the end and `.`
// stops at line breaks.
const ENCRYPTED = /^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]/

export interface EncryptedValue {
  data: Buffer
  iv: Buffer
  tag: Buffer
  type: string
}

export function parseEncryptedValue(text: string): EncryptedValue | undefined {
  const match = ENCRYPTED.exec(text)
  if (!match) return undefined
  return {data: Buffer.from(match[1], 'base64'), iv: Buffer.from(match[2], 'base64'), tag: Buffer.from(match[3], 'base64'), type: match[4]}
}

export function looksEncrypted(bytes: Buffer): boolean {
  return bytes.length > 15 && bytes.subarray(0, 15).toString('latin1') === 'ENC[AES256_GCM,' && ENCRYPTED.test(bytes.toString('utf8'))
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
