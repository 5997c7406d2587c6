import {describeUnexpected} from '../../../src/lib/errors/errors.js'

describe('describeUnexpected', () => {
  it('withholds the text of parser errors, which quote their input', () => {
    let caught: unknown
    try {
      JSON.parse('hvs.parse-canary-0123')
    } catch (error) {
      caught = error
    }
    expect((caught as Error).message).toContain('hvs.parse-')
    const shown = describeUnexpected(caught)
    expect(shown).not.toContain('hvs.parse')
    expect(shown).toContain('SyntaxError')
  })
  it('withholds YAML-named errors', () => {
    const error = new Error('bad indentation at token: super-secret-canary')
    error.name = 'YAMLParseError'
    expect(describeUnexpected(error)).not.toContain('canary')
  })
  it('keeps other messages to one inert line', () => {
    expect(describeUnexpected(new TypeError('Cannot read properties of undefined\n\u001b[2Jsecond'))).toBe('Cannot read properties of undefined')
    expect(describeUnexpected(new Error('a\u001bb'))).toBe('a?b')
    expect(describeUnexpected('str')).toContain('non-error')
  })
})
