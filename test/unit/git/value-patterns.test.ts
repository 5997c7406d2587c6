import {buildPatternSet, replaceAll, replacementPatterns, replaceValues, valueForms} from '../../../src/lib/git/value-patterns.js'
import {SecretValue} from '../../../src/lib/secret/secret-value.js'

describe('value patterns', () => {
  test('forms: raw, base64 without padding, URL-encoded, JSON-escaped', () => {
    const forms = Object.fromEntries(valueForms(SecretValue.fromString('p@ss "word"/+')).map((f) => [f.form, f.bytes.toString('utf8')]))
    expect(forms.raw).toBe('p@ss "word"/+')
    expect(forms.base64).toBe(Buffer.from('p@ss "word"/+').toString('base64').replace(/=+$/, ''))
    expect(forms['url-encoded']).toBe('p%40ss%20%22word%22%2F%2B')
    expect(forms['json-escaped']).toBe('p@ss \\"word\\"/+')
  })

  test('short values are skipped by name, not searched', () => {
    const set = buildPatternSet([
      {source: 's', secret: 'app', key: 'pin', value: SecretValue.fromString('1234')},
      {source: 's', secret: 'app', key: 'password', value: SecretValue.fromString('long enough')},
    ])
    expect(set.skipped).toEqual([{source: 's', secret: 'app', key: 'pin', byteLength: 4}])
    expect(set.values.map((v) => v.key)).toEqual(['password'])
    expect(JSON.stringify(set.skipped)).not.toContain('1234')
  })

  test('the default minimum length is 8 bytes, and a caller may choose another', () => {
    const values = [
      {source: 's', secret: 'app', key: 'namespace', value: SecretValue.fromString('payments')},
      {source: 's', secret: 'app', key: 'kind', value: SecretValue.fromString('Secret')},
    ]
    expect(buildPatternSet(values).skipped.map((skip) => skip.key)).toEqual(['kind'])
    expect(buildPatternSet(values).minBytes).toBe(8)
    expect(buildPatternSet(values, 9).skipped.map((skip) => skip.key)).toEqual(['namespace', 'kind'])
  })

  test('replacement is longest first and left to right', () => {
    const set = buildPatternSet([
      {source: 's', secret: 'a', key: 'k', value: SecretValue.fromString('secret-one')},
      {source: 's', secret: 'b', key: 'k', value: SecretValue.fromString('secret-one-extended')},
    ])
    const out = replaceValues(Buffer.from('x secret-one-extended y secret-one z'), replacementPatterns(set))
    expect(out.toString()).toBe('x ***REMOVED*** y ***REMOVED*** z')
    expect(replaceAll(Buffer.from('aaaa'), Buffer.from('aa'), Buffer.from('b')).toString()).toBe('bb')
  })
})
