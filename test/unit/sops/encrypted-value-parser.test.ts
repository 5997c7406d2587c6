import {parseEncryptedBytes, parseEncryptedValue} from '../../../src/lib/sops/builtin/cipher.js'

// sops' own pattern with Go's semantics (`.` stops only at \n; leftmost-first,
// greedy groups): the reference the linear parser must agree with. Only ever
// run on short inputs here, where backtracking is cheap.
const REFERENCE = /^ENC\[AES256_GCM,data:([^\n]+),iv:([^\n]+),tag:([^\n]+),type:([^\n]+)\]/

function reference(text: string): {data: string; iv: string; tag: string; type: string} | undefined {
  const match = REFERENCE.exec(text)
  return match ? {data: match[1], iv: match[2], tag: match[3], type: match[4]} : undefined
}

function parsed(text: string): {data: string; iv: string; tag: string; type: string} | undefined {
  const value = parseEncryptedValue(text)
  if (!value) return undefined
  // Group boundaries are compared on the text: base64 decoding hides where a group ended.
  const match = REFERENCE.exec(text)!
  return {data: match[1], iv: match[2], tag: match[3], type: value.type}
}

describe('parseEncryptedValue (linear, no backtracking)', () => {
  test('a real sops value is split into its parts', () => {
    const value = parseEncryptedValue('ENC[AES256_GCM,data:aGVsbG8=,iv:AAAAAAAAAAAAAAAAAAAAAA==,tag:EREREREREREREREREREREQ==,type:str]')
    expect(value?.data.toString()).toBe('hello')
    expect(value?.iv.length).toBe(16)
    expect(value?.tag.length).toBe(16)
    expect(value?.type).toBe('str')
  })

  test('agrees with sops\' pattern on 20,000 random values built from its separators', () => {
    const pieces = [',iv:', ',tag:', ',type:', ']', 'a', ',', ':', '\n', '\r', '[', 'iv', 'x]']
    let seed = 7
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed % n
    }
    for (let round = 0; round < 20_000; round++) {
      let text = 'ENC[AES256_GCM,data:'
      const length = random(14)
      for (let i = 0; i < length; i++) text += pieces[random(pieces.length)]
      const expected = reference(text)
      const actual = parseEncryptedValue(text)
      expect({text, matched: actual !== undefined}).toEqual({text, matched: expected !== undefined})
      expect({text, matched: parseEncryptedBytes(Buffer.from(text)) !== undefined}).toEqual({text, matched: expected !== undefined})
      if (expected) expect({text, groups: parsed(text)}).toEqual({text, groups: expected})
    }
  })

  test.each([
    ['separators repeated', `ENC[AES256_GCM,data:${',iv:,tag:,type:'.repeat(40_000)}`],
    ['no closing bracket', `ENC[AES256_GCM,data:${'a,iv:a,tag:a,type:a'.repeat(30_000)}`],
    ['commas and colons', `ENC[AES256_GCM,data:${',:'.repeat(300_000)}`],
  ])('a crafted value (%s, ~600 KB) is rejected in milliseconds', (_name, text) => {
    const started = process.hrtime.bigint()
    expect(parseEncryptedValue(text)).toBeUndefined()
    // The old regex took minutes on 10 KB of this; linear work on 600 KB is well under a second.
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(1000)
  })
})
