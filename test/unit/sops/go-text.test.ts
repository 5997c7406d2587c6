import {goAtoi, goFormatFloat, goNormalizeRfc3339, goParseBool, goParseFloat, goParseIntBase0, goRfc3339Seconds, goYamlTimestamp} from '../../../src/lib/sops/builtin/go-text.js'
import {parseIni} from '../../../src/lib/sops/builtin/parse-flat.js'
import {parseYamlDocuments} from '../../../src/lib/sops/builtin/parse-yaml.js'

// Expected strings are what Go's strconv / time / yaml.v3 give (the forms sops hashes into the MAC).
describe('Go text forms', () => {
  test.each([
    [3.14, '3.14'],
    [7, '7'],
    [1234568000, '1234568000'],
    [1e21, '1000000000000000000000'],
    [1e-7, '0.0000001'],
    [0.1 + 0.2, '0.30000000000000004'],
    [-2.5e-3, '-0.0025'],
    [-0, '-0'],
    [Infinity, '+Inf'],
  ])('FormatFloat(%p, f, -1) = %s', (value, text) => {
    expect(goFormatFloat(value)).toBe(text)
  })

  test('ParseFloat, Atoi, ParseBool', () => {
    expect(goParseFloat('1e3')).toBe(1000)
    expect(goParseFloat('.5')).toBe(0.5)
    expect(goParseFloat('-Inf')).toBe(-Infinity)
    expect(goParseFloat('0x1p-2')).toBe(0.25)
    expect(goParseFloat('1_0')).toBeUndefined()
    expect(goParseFloat('abc')).toBeUndefined()
    expect(goAtoi('+42')).toBe(42n)
    expect(goAtoi('9223372036854775807')).toBe(9223372036854775807n)
    expect(goAtoi('9223372036854775808')).toBeUndefined()
    expect(goAtoi('4.0')).toBeUndefined()
    expect(goParseBool('True')).toBe(true)
    expect(goParseBool('F')).toBe(false)
    expect(goParseBool('yes')).toBeUndefined()
  })

  test('ParseInt(text, 0, 64) as yaml.v3 uses it', () => {
    expect(goParseIntBase0('0777')).toBe(511n)
    expect(goParseIntBase0('0x1F')).toBe(31n)
    expect(goParseIntBase0('-0b101')).toBe(-5n)
    expect(goParseIntBase0('0o17')).toBe(15n)
    expect(goParseIntBase0('08')).toBeUndefined()
  })

  test('times: RFC 3339 and yaml.v3 timestamps, re-emitted as RFC3339Nano', () => {
    expect(goNormalizeRfc3339('2024-03-25T22:08:10.120000Z')).toBe('2024-03-25T22:08:10.12Z')
    expect(goNormalizeRfc3339('2024-03-25T22:08:10+00:00')).toBe('2024-03-25T22:08:10Z')
    expect(goNormalizeRfc3339('2024-03-25T22:08:10-07:30')).toBe('2024-03-25T22:08:10-07:30')
    expect(goNormalizeRfc3339('2024-02-30T00:00:00Z')).toBeUndefined()
    expect(goRfc3339Seconds('2024-03-25T22:08:10.5Z')).toBe('2024-03-25T22:08:10Z')
    expect(goYamlTimestamp('2024-01-02')).toBe('2024-01-02T00:00:00Z')
    expect(goYamlTimestamp('2024-1-2 3:4:5.500')).toBe('2024-01-02T03:04:05.5Z')
    expect(goYamlTimestamp('2024-01-02T10:00:00+02:00')).toBe('2024-01-02T10:00:00+02:00')
    expect(goYamlTimestamp('20240102')).toBeUndefined()
  })
})

describe('YAML scalars are typed as yaml.v3 types them', () => {
  test('plain, quoted and tagged scalars', () => {
    const [document] = parseYamlDocuments(Buffer.from('a: 0777\nb: "0777"\nc: 1.50\nd: yes\ne: ~\nf: 2024-01-02\ng: !!str 12\nh: !!float 3\ni: 1_000\nj: 08\nk: .inf\nl: TRUE\n'))
    const kinds = Object.fromEntries(document.entries.map(({key, value}) => [key, value]))
    expect(kinds.a).toEqual({kind: 'int', text: '511'})
    expect(kinds.b).toEqual({kind: 'str', bytes: Buffer.from('0777')})
    expect(kinds.c).toEqual({kind: 'float', value: 1.5})
    expect(kinds.d).toEqual({kind: 'str', bytes: Buffer.from('yes')})
    expect(kinds.e).toBeNull()
    expect(kinds.f).toEqual({kind: 'time', text: '2024-01-02T00:00:00Z'})
    expect(kinds.g).toEqual({kind: 'str', bytes: Buffer.from('12')})
    expect(kinds.h).toEqual({kind: 'float', value: 3})
    expect(kinds.i).toEqual({kind: 'int', text: '1000'})
    expect(kinds.j).toEqual({kind: 'float', value: 8})
    expect(kinds.k).toEqual({kind: 'float', value: Infinity})
    expect(kinds.l).toEqual({kind: 'bool', value: true})
  })

  test('documents: an empty one is an empty mapping; a sequence document is refused', () => {
    expect(parseYamlDocuments(Buffer.from('a: 1\n---\n'))).toHaveLength(2)
    expect(parseYamlDocuments(Buffer.from('a: 1\n---\n'))[1]).toEqual({kind: 'map', entries: []})
    expect(() => parseYamlDocuments(Buffer.from('- a\n- b\n'))).toThrow(/not a mapping/)
    expect(() => parseYamlDocuments(Buffer.from('a: [\n'))).toThrow(/not valid YAML \(line/)
  })
})

describe('INI as gopkg.in/ini.v1 reads it', () => {
  test('sections, quotes, inline comments, continuation and """ values', () => {
    const tree = parseIni(Buffer.from('top = 1\n[s]\na = "quoted"\nb = x ; comment\nc: y # comment\nd = one \\\n  two\ne = """multi\nline"""\na = again\n[s]\nf = second section\n'))
    const text = (node: unknown) => (node as {bytes: Buffer}).bytes.toString()
    expect(tree.entries.map(({key}) => key)).toEqual(['DEFAULT', 's', 's'])
    const section = tree.entries[1].value as {entries: {key: string; value: unknown}[]}
    expect(section.entries.map(({key, value}) => [key, text(value)])).toEqual([
      ['a', 'again'],
      ['b', 'x'],
      ['c', 'y'],
      ['d', 'one two'],
      ['e', 'multi\nline'],
    ])
  })
})
