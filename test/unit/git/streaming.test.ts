import {AhoCorasick} from '../../../src/lib/git/aho-corasick.js'
import {CatFileBatchParser, type GitObjectType} from '../../../src/lib/git-client/cat-file.js'

describe('streaming large objects', () => {
  test('the Aho–Corasick stream finds a pattern split across chunks', () => {
    const matcher = new AhoCorasick([Buffer.from('needle-in-stream'), Buffer.from('other')])
    const stream = matcher.stream()
    for (const chunk of ['aaaa needle-', 'in', '-stream bbbb']) stream.write(Buffer.from(chunk))
    expect([...stream.found]).toEqual([0])
  })

  test('objects over maxInMemory go to visitLarge in pieces, without the trailing LF; smaller ones stay whole', () => {
    const whole: string[] = []
    const large: {oid: string; type: GitObjectType; size: number; bytes: Buffer[]; ended: boolean}[] = []
    const parser = new CatFileBatchParser(
      {
        wants: () => true,
        visit: (oid, _type, content) => whole.push(`${oid}:${content.toString()}`),
        visitLarge: (oid, type, size) => {
          const entry = {oid, type, size, bytes: [] as Buffer[], ended: false}
          large.push(entry)
          return {write: (chunk) => entry.bytes.push(Buffer.from(chunk)), end: () => (entry.ended = true)}
        },
      },
      8,
    )
    const big = '0123456789abcdefghij'
    const stream = Buffer.from(`a blob 3\nabc\nb blob ${big.length}\n${big}\nc commit 2\nhi\n`)
    // One byte at a time: every boundary is exercised.
    for (let i = 0; i < stream.length; i++) parser.push(stream.subarray(i, i + 1))
    parser.end()
    expect(whole).toEqual(['a:abc', 'c:hi'])
    expect(large).toHaveLength(1)
    expect({...large[0], bytes: Buffer.concat(large[0].bytes).toString()}).toEqual({oid: 'b', type: 'blob', size: big.length, bytes: big, ended: true})
  })
})
