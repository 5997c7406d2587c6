import {AhoCorasick} from '../../../src/lib/git/aho-corasick.js'

function naive(patterns: Buffer[], data: Buffer): string[] {
  const found: string[] = []
  patterns.forEach((pattern, index) => {
    for (let at = data.indexOf(pattern); at !== -1; at = data.indexOf(pattern, at + 1)) found.push(`${index}@${at + pattern.length}`)
  })
  return found.sort()
}

describe('AhoCorasick', () => {
  test('finds overlapping patterns and patterns inside patterns', () => {
    const patterns = ['he', 'she', 'his', 'hers'].map((p) => Buffer.from(p))
    const data = Buffer.from('ushers and his shepherd')
    const found: string[] = []
    new AhoCorasick(patterns).scan(data, (pattern, end) => found.push(`${pattern}@${end}`))
    expect(found.sort()).toEqual(naive(patterns, data))
  })

  test('matches arbitrary bytes, including NUL and high bytes', () => {
    const patterns = [Buffer.from([0, 255, 0]), Buffer.from([255, 0])]
    const data = Buffer.from([1, 0, 255, 0, 255, 0, 2])
    expect(new AhoCorasick(patterns).matchedPatterns(data)).toEqual(new Set([0, 1]))
  })

  test('agrees with a naive search on random data', () => {
    let seed = 42
    const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 4
    const data = Buffer.from(Array.from({length: 5000}, () => 97 + random()))
    const patterns = Array.from({length: 30}, (_, i) => Buffer.from(Array.from({length: 2 + (i % 5)}, () => 97 + random())))
    const found: string[] = []
    new AhoCorasick(patterns).scan(data, (pattern, end) => found.push(`${pattern}@${end}`))
    expect(found.sort()).toEqual(naive(patterns, data))
  })

  test('rejects an empty pattern', () => {
    expect(() => new AhoCorasick([Buffer.alloc(0)])).toThrow('empty pattern')
  })
})
