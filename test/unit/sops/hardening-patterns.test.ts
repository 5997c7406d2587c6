import {randomBytes} from 'node:crypto'

import {decryptWithDataKey, parseSopsFile} from '../../../src/lib/sops/builtin/decrypt-builtin.js'
import {goParseFloat} from '../../../src/lib/sops/builtin/go-text.js'
import {SopsError} from '../../../src/lib/sops/errors.js'

const METADATA = `sops:
  age:
    - recipient: age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq
      enc: |
        -----BEGIN AGE ENCRYPTED FILE-----
        -----END AGE ENCRYPTED FILE-----
  lastmodified: "2024-01-01T00:00:00Z"
  mac: ENC[AES256_GCM,data:AAAA,iv:AAAAAAAAAAAAAAAAAAAAAA==,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]
  version: 3.9.0
`

function sopsYaml(body: string, rule: string): Buffer {
  return Buffer.from(`${body}${METADATA}  ${rule}\n`)
}

function elapsedMs(work: () => void): number {
  const started = process.hrtime.bigint()
  work()
  return Number(process.hrtime.bigint() - started) / 1e6
}

describe('sops key patterns from the file run on an RE2 engine (linear time)', () => {
  // A 40-character key against ^(a+)+$ never finishes with a backtracking RegExp.
  const hostileKey = `${'a'.repeat(40)}!`

  test.each([['unencrypted_regex'], ['encrypted_regex']])('%s: ^(a+)+$ against a 40-character key is decided at once', (field) => {
    const parsed = parseSopsFile('hostile.yaml', sopsYaml(`${hostileKey}: ENC[AES256_GCM,data:AAAA,iv:AAAAAAAAAAAAAAAAAAAAAA==,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]\n`, `${field}: ^(a+)+$`), 'yaml')
    let thrown: unknown
    const took = elapsedMs(() => {
      try {
        decryptWithDataKey('hostile.yaml', parsed, randomBytes(32), {ignoreMac: true})
      } catch (error) {
        thrown = error
      }
    })
    expect(took).toBeLessThan(1000)
    // unencrypted_regex does not match, so the value must be encrypted: this one is not authentic.
    // encrypted_regex does not match, so the ENC[…] string is kept as it is.
    if (field === 'unencrypted_regex') expect((thrown as SopsError).code).toBe('AAD_MISMATCH')
    else expect(thrown).toBeUndefined()
  })

  test('RE2 semantics: an inline flag group and an unanchored match, as Go evaluates them', () => {
    const parsed = parseSopsFile('f.yaml', sopsYaml('DATA: plain\nother: ENC[AES256_GCM,data:AAAA,iv:AAAAAAAAAAAAAAAAAAAAAA==,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]\n', 'unencrypted_regex: (?i)^dat'), 'yaml')
    // DATA matches (case-insensitively) so stays plain; `other` does not, so it is opened (and fails authentication).
    expect(() => decryptWithDataKey('f.yaml', parsed, randomBytes(32), {ignoreMac: true})).toThrow(/value at other in f\.yaml failed authentication/)
  })

  test.each([
    ['encrypted_regex', 'a lookahead', '(?=lookahead)'],
    ['unencrypted_regex', 'a backreference', '\\1'],
    ['encrypted_regex', 'a repeat too large', '(a{1000}){1000}'],
    ['encrypted_comment_regex', 'a lookbehind', '(?<!x)y'],
    ['unencrypted_regex', 'a 6,000-character pattern', `(${'a|'.repeat(3000)}b)`],
  ])('%s with %s, which RE2 cannot compile or is too long, is refused naming the file', (field, _label, pattern) => {
    let thrown: unknown
    try {
      parseSopsFile('dir/bad-rule.yaml', sopsYaml('key: value\n', `${field}: '${pattern}'`), 'yaml')
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(SopsError)
    expect((thrown as SopsError).code).toBe('PARSE')
    expect((thrown as SopsError).message).toContain('dir/bad-rule.yaml')
    expect((thrown as SopsError).message).toContain(field)
  })
})

describe('number parsing of decrypted values is linear', () => {
  test.each([
    ['decimal digits', `${'1'.repeat(200_000)}x`],
    ['hex float digits', `0x${'f'.repeat(200_000)}x`],
    ['hex float with exponent', `0x${'f'.repeat(200_000)}.p`],
  ])('%s (200,000 characters) are rejected at once', (_name, text) => {
    expect(elapsedMs(() => expect(goParseFloat(text)).toBeUndefined())).toBeLessThan(1000)
  })

  test('hex floats still parse', () => {
    expect(goParseFloat('0x1.8p1')).toBe(3)
    expect(goParseFloat('0x1p-2')).toBe(0.25)
    expect(goParseFloat('0x.8p0')).toBe(0.5)
    expect(goParseFloat('1.')).toBe(1)
  })
})
