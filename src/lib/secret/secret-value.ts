import {createHash, createHmac, timingSafeEqual} from 'node:crypto'
import {inspect} from 'node:util'

export const REDACTED = '[REDACTED]'

/** The JSON type a scalar had where it came from (a SOPS YAML/JSON leaf); its bytes are its canonical text. */
export type JsonScalarType = 'string' | 'number' | 'boolean'

/**
 * A secret held as bytes. Every textual view of it — String(), template
 * literals, util.inspect, JSON.stringify, console.log — prints [REDACTED];
 * the bytes come out only through reveal*(), at the point where they are
 * handed to their destination (Kubernetes, Vault).
 */
export class SecretValue {
  readonly #bytes: Buffer
  /** 'string' unless made by fromJsonScalar: lets a decrypted `port: 5432` stay a number when rendered as JSON. */
  readonly jsonType: JsonScalarType

  private constructor(bytes: Buffer, jsonType: JsonScalarType = 'string') {
    this.#bytes = bytes
    this.jsonType = jsonType
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

  /**
   * A typed scalar: the bytes are its text (`5432`, `3.14`, `true`), as a
   * Kubernetes Secret or Vault would store it; the type is kept for JSON.
   * A bigint keeps every digit of an integer beyond 2^53.
   */
  static fromJsonScalar(value: string | number | bigint | boolean): SecretValue {
    if (typeof value === 'string') return new SecretValue(Buffer.from(value, 'utf8'))
    if (typeof value === 'boolean') return new SecretValue(Buffer.from(String(value), 'utf8'), 'boolean')
    return new SecretValue(Buffer.from(String(value), 'utf8'), 'number')
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

  /** The scalar with its JSON type, for rendering a nested value as JSON in memory (integers beyond 2^53 lose digits here; revealString keeps them). */
  revealJson(): string | number | boolean {
    const text = this.#bytes.toString('utf8')
    if (this.jsonType === 'number') return Number(text)
    if (this.jsonType === 'boolean') return text === 'true'
    return text
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
