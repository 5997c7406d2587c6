import {CatFileBatchParser, type GitObjectType} from '../../../src/lib/git-client/cat-file.js'

function frame(objects: {oid: string; type: GitObjectType; content: Buffer}[]): Buffer {
  return Buffer.concat(objects.flatMap((o) => [Buffer.from(`${o.oid} ${o.type} ${o.content.length}\n`), o.content, Buffer.from('\n')]))
}

describe('CatFileBatchParser', () => {
  const objects = [
    {oid: 'a'.repeat(40), type: 'blob' as const, content: Buffer.from('line1\nline2\n')},
    {oid: 'b'.repeat(40), type: 'tree' as const, content: Buffer.from([0, 1, 2, 10, 10])},
    {oid: 'c'.repeat(40), type: 'blob' as const, content: Buffer.alloc(0)},
    {oid: 'd'.repeat(40), type: 'commit' as const, content: Buffer.from('tree x\n\nmsg\n')},
    {oid: 'e'.repeat(40), type: 'blob' as const, content: Buffer.from([10, 0, 255, 10])},
  ]

  test.each([1, 2, 3, 7, 1000])('reassembles objects split into %i-byte chunks and skips unwanted types', (size) => {
    const seen: string[] = []
    const parser = new CatFileBatchParser({
      wants: (type) => type !== 'tree',
      visit: (oid, type, content) => seen.push(`${oid[0]}:${type}:${content.toString('hex')}`),
    })
    const stream = frame(objects)
    for (let i = 0; i < stream.length; i += size) parser.push(stream.subarray(i, i + size))
    parser.end()
    expect(seen).toEqual(objects.filter((o) => o.type !== 'tree').map((o) => `${o.oid[0]}:${o.type}:${o.content.toString('hex')}`))
    expect(parser.stats).toEqual({objects: 5, bytes: objects.reduce((sum, o) => sum + o.content.length, 0)})
  })

  test('a truncated stream is an error', () => {
    const parser = new CatFileBatchParser({wants: () => true, visit: () => undefined})
    parser.push(frame(objects).subarray(0, 50))
    expect(() => parser.end()).toThrow(/middle of an object/)
  })
})
