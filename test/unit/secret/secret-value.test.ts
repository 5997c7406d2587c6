import {format, inspect} from 'node:util'

import {ToolkitError} from '../../../src/lib/errors/errors.js'
import {REDACTED, SecretValue} from '../../../src/lib/secret/secret-value.js'

const CANARY = 'canary-7f3a9c-do-not-print'

describe('SecretValue', () => {
  const secret = SecretValue.fromString(CANARY)

  test.each([
    ['String()', () => String(secret)],
    ['template literal', () => `${secret}`],
    ['concatenation', () => 'x' + secret],
    ['util.inspect', () => inspect(secret)],
    ['util.inspect of a container', () => inspect({nested: {deep: [secret]}}, {depth: 10})],
    ['util.format %s %o %j', () => format('%s %o %j', secret, secret, {secret})],
    ['JSON.stringify', () => JSON.stringify({secret, list: [secret], map: Object.fromEntries([['k', secret]])})],
    ['Map inspect', () => inspect(new Map([['k', secret]]))],
    ['Error message built from it', () => new ToolkitError('X', `failed for ${secret}`).message],
  ])('%s prints [REDACTED]', (_what, render) => {
    const text = render()
    expect(text).not.toContain(CANARY)
    expect(text).toContain(REDACTED)
  })

  test('the bytes come out only through reveal*()', () => {
    expect(secret.revealString()).toBe(CANARY)
    expect(Buffer.from(secret.revealBase64(), 'base64').toString()).toBe(CANARY)
    expect(secret.byteLength).toBe(Buffer.byteLength(CANARY))
  })

  test('fromBytes copies, so the caller cannot change it later', () => {
    const bytes = Buffer.from('abc')
    const value = SecretValue.fromBytes(bytes)
    bytes[0] = 0x7a
    expect(value.revealString()).toBe('abc')
  })

  test('equality is by content', () => {
    expect(secret.equals(SecretValue.fromString(CANARY))).toBe(true)
    expect(secret.equals(SecretValue.fromString(`${CANARY}x`))).toBe(false)
    expect(secret.equals(SecretValue.fromString(CANARY.replace('7', '8')))).toBe(false)
  })

  test('keyed hashes match only for equal values under the same key', () => {
    const key = Buffer.alloc(32, 1)
    expect(secret.keyedHash(key).equals(SecretValue.fromString(CANARY).keyedHash(key))).toBe(true)
    expect(secret.keyedHash(key).equals(SecretValue.fromString('other').keyedHash(key))).toBe(false)
    expect(secret.keyedHash(key).equals(secret.keyedHash(Buffer.alloc(32, 2)))).toBe(false)
  })

  test('binary content is kept byte for byte and detected as non-UTF-8', () => {
    const binary = SecretValue.fromBytes(Buffer.from([0xff, 0xfe, 0x00, 0x41]))
    expect(binary.isUtf8()).toBe(false)
    expect([...binary.revealBytes()]).toEqual([0xff, 0xfe, 0x00, 0x41])
    expect(SecretValue.fromString('héllo').isUtf8()).toBe(true)
  })
})
