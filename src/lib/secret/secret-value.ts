import {createHash, createHmac, timingSafeEqual} from 'node:crypto'
import {inspect} from 'node:util'

export const REDACTED = '[REDACTED]'

/**
 * A secret held as bytes. Every textual view of it — String(), template
 * literals, util.inspect, JSON.stringify, console.log — prints [REDACTED];
 * the bytes come out only through reveal*(), at the point where they are
 * handed to their destination (Kubernetes, Vault).
 */
export class SecretValue {
  readonly #bytes: Buffer

  private constructor(bytes: Buffer) {
    this.#bytes = bytes
  }

  static fromString(value: string): SecretValue {
    return new SecretValue(Buffer.from(value, 'utf8'))
  }

  /** Copies the bytes, so that later changes to the caller's buffer do not leak in. */
  static fromBytes(value: Uint8Array): SecretValue {
    return new SecretValue(Buffer.from(value))
  }

  static fromBase64(value: string): SecretValue {
    return new SecretValue(Buffer.from(value, 'base64'))
  }

  get byteLength(): number {
    return this.#bytes.length
  }

  revealBytes(): Buffer {
    return Buffer.from(this.#bytes)
  }

  revealString(): string {
    return this.#bytes.toString('utf8')
  }

  revealBase64(): string {
    return this.#bytes.toString('base64')
  }

  /** True when the bytes are valid UTF-8 (Kubernetes `stringData` vs `data`). */
  isUtf8(): boolean {
    return Buffer.from(this.#bytes.toString('utf8'), 'utf8').equals(this.#bytes)
  }

  /** Constant-time comparison (length is not hidden, as with any MAC compare). */
  equals(other: SecretValue): boolean {
    const a = this.#bytes
    const b = other.#bytes
    if (a.length !== b.length) return false
    return timingSafeEqual(a, b)
  }

  /** SHA-256 hex: for deduplication within one process only — never print it, a hash of a short secret is guessable. */
  sha256(): string {
    return createHash('sha256').update(this.#bytes).digest('hex')
  }

  /** Keyed hash for comparisons across systems without holding both values. */
  keyedHash(key: Buffer): Buffer {
    return createHmac('sha256', key).update(this.#bytes).digest()
  }

  toString(): string {
    return REDACTED
  }

  toJSON(): string {
    return REDACTED
  }

  [Symbol.toPrimitive](): string {
    return REDACTED
  }

  [inspect.custom](): string {
    return REDACTED
  }
}

export function isSecretValue(value: unknown): value is SecretValue {
  return value instanceof SecretValue
}
