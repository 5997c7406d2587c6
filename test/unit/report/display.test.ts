import {displayText, hasControlCharacters, redactUrl} from '../../../src/lib/report/display.js'

describe('displayText', () => {
  it('escapes newlines, ANSI escapes and bidi overrides so a name stays one inert line', () => {
    expect(displayText('a\nkind: Secret')).toBe('a\\nkind: Secret')
    expect(displayText('\u001b[2Jboom')).toBe('\\x1b[2Jboom')
    expect(displayText('evil\u202etxt.yaml')).toBe('evil\\u202etxt.yaml')
    expect(displayText('back\\nslash')).toBe('back\\\\nslash')
    expect(displayText('plain/path-ü.yaml')).toBe('plain/path-ü.yaml')
  })
  it('tells whether a text holds control characters', () => {
    expect(hasControlCharacters('ok.yaml')).toBe(false)
    expect(hasControlCharacters('a\rb')).toBe(true)
    expect(hasControlCharacters('\u0085')).toBe(true)
  })
})

describe('redactUrl', () => {
  it('removes user and password from an address', () => {
    const shown = redactUrl('https://admin:hunter2-canary@vault.example.com:8200/v1')
    expect(shown).not.toContain('hunter2-canary')
    expect(shown).not.toContain('admin')
    expect(shown).toContain('vault.example.com:8200')
  })
  it('redacts credential-like query parameters and leaves others', () => {
    const shown = redactUrl('https://s3.example.com/bucket?X-Amz-Signature=abc123canary&region=eu')
    expect(shown).not.toContain('abc123canary')
    expect(shown).toContain('region=eu')
  })
  it('handles text that is not a URL', () => {
    expect(redactUrl('user:pw-canary@host:8200')).not.toContain('pw-canary')
    expect(redactUrl('vault.local:8200')).toBe('vault.local:8200')
  })
})

describe('redactUrl fragments', () => {
  it('never shows a fragment', () => {
    expect(redactUrl('https://vault.example.com/ui#access_token=frag-canary')).not.toContain('frag-canary')
  })
})
