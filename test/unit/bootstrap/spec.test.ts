import {DEFAULT_SPEC_YAML} from '../../../src/lib/bootstrap/default-spec.js'
import {generatorProblem, loadSpec, parseSpec, resolveGenerator, type GenerateKey} from '../../../src/lib/bootstrap/spec.js'
import {ToolkitError} from '../../../src/lib/errors/errors.js'

function problems(yaml: string): string {
  try {
    parseSpec(yaml, 'test.yaml')
  } catch (error) {
    expect(error).toBeInstanceOf(ToolkitError)
    expect((error as ToolkitError).code).toBe('SPEC_INVALID')
    return (error as ToolkitError).message
  }
  throw new Error('expected the spec to be rejected')
}

describe('bootstrap spec', () => {
  test('the built-in spec is valid and covers the usual first credentials', () => {
    const {spec, source} = loadSpec(undefined)
    expect(source).toBe('built-in default spec')
    const ids = spec.secrets.map((secret) => `${secret.namespace}/${secret.name}`)
    expect(ids).toEqual(expect.arrayContaining(['flux-system/gitea-token', 'external-dns/cloudflare-credentials', 'kube-system/hcloud']))
    const gitea = spec.secrets.find((secret) => secret.name === 'gitea-token')!
    expect(gitea.keys.map((key) => key.key)).toEqual(['username', 'password'])
    expect(spec.secrets.some((secret) => secret.generatedInCluster)).toBe(true)
  })

  test('defaults: source prompt, required, type Opaque, ESO generator defaults', () => {
    const spec = parseSpec(
      `secrets:
  - namespace: app
    name: creds
    keys:
      - key: user
        prompt: User
      - key: pass
        source: generate
`,
      'test.yaml',
    )
    const [secret] = spec.secrets
    expect(secret.type).toBe('Opaque')
    expect(secret.generatedInCluster).toBe(false)
    expect(secret.keys[0]).toMatchObject({source: 'prompt', validate: {required: true}})
    const generated = secret.keys[1] as GenerateKey
    // ESO: length 24, digits and symbols int(24 * 0.25) = 6.
    expect(resolveGenerator(generated.generate)).toEqual({
      length: 24,
      digits: 6,
      symbols: 6,
      symbolCharacters: '~!@#$%^&*()_+`-={}|[]\\:"<>?,./',
      noUpper: false,
      allowRepeat: false,
    })
  })

  test('every problem is named by its path', () => {
    const message = problems(`secrets:
  - namespace: Bad_NS
    name: creds
    keys:
      - key: user
        prompt: User
        validate: {regex: '([a-z'}
      - key: user
        prompt: Again
  - namespace: app
    name: gen
    generatedInCluster: true
    keys:
      - key: typed
        prompt: Typed
      - key: pw
        source: generate
        generate: {length: 8, digits: 6, symbols: 6}
`)
    expect(message).toContain('secrets[0].namespace:')
    expect(message).toContain('secrets[0].keys[0].validate.regex: is not a valid regular expression')
    expect(message).toContain('secrets[0].keys[1].key: duplicates keys[0].key "user"')
    expect(message).toContain('secrets[1].keys[0].source: must be "generate"')
    expect(message).toContain('secrets[1].keys[1].generate: digits (6) + symbols (6) exceed length (8)')
  })

  test('unknown fields and a prompt key without prompt text are rejected', () => {
    const message = problems(`secrets:
  - namespace: app
    name: creds
    keys:
      - key: user
        promt: typo
  - namespace: app
    name: other
    colour: blue
    keys:
      - key: x
        prompt: X
`)
    expect(message).toContain('secrets[0].keys[0].prompt:')
    expect(message).toContain('secrets[0].keys[0]: Unrecognized key: "promt"')
    expect(message).toContain('secrets[1]: Unrecognized key: "colour"')
  })

  test('the same secret twice is rejected', () => {
    const message = problems('secrets:\n  - {namespace: app, name: creds, keys: [{key: a, prompt: A}]}\n  - {namespace: app, name: creds, keys: [{key: b, prompt: B}]}\n')
    expect(message).toContain('secrets[1].name: duplicates secrets[0] (app/creds)')
  })

  test('bad key names and invalid YAML are clear errors', () => {
    expect(problems('secrets:\n  - {namespace: app, name: c, keys: [{key: "a b", prompt: X}]}\n')).toContain('secrets[0].keys[0].key: may contain only letters')
    expect(problems('secrets: [')).toContain('not valid YAML')
    expect(problems('secrets: []\n')).toContain('secrets: must list at least one secret')
  })

  test('a missing spec file names the path and how to start one', () => {
    expect(() => loadSpec('does-not-exist.yaml', '/nonexistent')).toThrow(/bootstrap spec \/nonexistent\/does-not-exist.yaml does not exist/)
  })

  test('generator feasibility matches go-password: repeats, class sizes', () => {
    const base = {length: 10, digits: 2, symbols: 2, symbolCharacters: '!@#', noUpper: false, allowRepeat: false}
    expect(generatorProblem(base)).toBeUndefined()
    expect(generatorProblem({...base, symbols: 4})).toMatch(/4 symbols without repeats is impossible \(3 symbol characters\)/)
    expect(generatorProblem({...base, digits: 11, length: 20, symbols: 0})).toMatch(/11 digits without repeats/)
    expect(generatorProblem({...base, digits: 11, length: 20, symbols: 0, allowRepeat: true})).toBeUndefined()
    expect(generatorProblem({...base, length: 40, digits: 0, symbols: 0, noUpper: true})).toMatch(/40 letters without repeats is impossible \(26 letters\)/)
  })

  test('the built-in spec text is what --print-spec shows', () => {
    expect(loadSpec(undefined).text).toBe(DEFAULT_SPEC_YAML)
    expect(DEFAULT_SPEC_YAML).toMatch(/never values/)
  })
})
