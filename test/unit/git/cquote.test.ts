import {cQuote, cUnquote} from '../../../src/lib/git/cquote.js'

describe('C-quoted paths', () => {
  test('decodes what git writes for non-ASCII, quotes, backslashes and control characters', () => {
    expect(cUnquote(Buffer.from('"na\\303\\257ve notes.md"')).toString('utf8')).toBe('naïve notes.md')
    expect(cUnquote(Buffer.from('"a\\"b\\\\c\\td\\ne"')).toString('latin1')).toBe('a"b\\c\td\ne')
  })

  test('leaves unquoted paths (spaces included) as they are', () => {
    const plain = Buffer.from('dir with space/file.yaml')
    expect(cUnquote(plain)).toBe(plain)
    expect(cQuote(plain)).toBe(plain)
  })

  test('round-trips every byte', () => {
    const all = Buffer.from(Array.from({length: 255}, (_, i) => i + 1))
    expect(cUnquote(cQuote(all)).equals(all)).toBe(true)
  })
})
