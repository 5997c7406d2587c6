import {planBootstrap, type ObservedState} from '../../../src/lib/bootstrap/plan.js'
import {parseSpec, type ValueRules} from '../../../src/lib/bootstrap/spec.js'
import {collectValues, parseStdinValues, valueProblem, type ValueSource} from '../../../src/lib/bootstrap/values.js'
import {ToolkitError} from '../../../src/lib/errors/errors.js'
import {SecretValue} from '../../../src/lib/secret/secret-value.js'

const CANARY = 'canary-values-0c9e4a2f'

const spec = parseSpec(
  `secrets:
  - namespace: flux-system
    name: gitea-token
    keys:
      - {key: username, prompt: User}
      - {key: password, prompt: Token, validate: {regex: '^[0-9a-f]{40}$', hint: 40 lowercase hex characters}}
      - {key: note, prompt: Note, validate: {required: false}}
  - namespace: app
    name: db
    keys:
      - {key: password, source: generate, generate: {length: 16, digits: 4, symbols: 0}}
  - namespace: app
    name: kept
    keys:
      - {key: token, prompt: Token}
`,
  'test.yaml',
)

const keptObserved = new Map<string, ObservedState>([
  ['app/kept', {secret: {namespace: 'app', name: 'kept', type: 'Opaque', labels: {}, annotations: {}, data: new Map([['token', SecretValue.fromString('x')]])}, pushSecretExists: true}],
])
const plan = planBootstrap(spec.secrets, keptObserved, [])
const HEX40 = 'a'.repeat(40)

function rejection(fn: () => unknown): ToolkitError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(ToolkitError)
    return error as ToolkitError
  }
  throw new Error('expected an error')
}

describe('value validation', () => {
  const rules: ValueRules = {required: true, minLength: 12, regex: '^canary-', hint: 'starts with canary-'}

  test('required, lengths and regex, in words that never quote the value', () => {
    expect(valueProblem(rules, '')).toBe('a value is required')
    expect(valueProblem({required: false}, '')).toBeUndefined()
    expect(valueProblem(rules, 'canary-x')).toBe('must be at least 12 characters (got 8)')
    expect(valueProblem({required: true, maxLength: 3}, 'abcd')).toBe('must be at most 3 characters (got 4)')
    expect(valueProblem(rules, `x${CANARY}`)).toBe('does not have the expected form: starts with canary-')
    expect(valueProblem({required: true, regex: '^a+$'}, CANARY)).toBe('does not match ^a+$')
    expect(valueProblem(rules, CANARY)).toBeUndefined()
  })

  test('length counts characters, not UTF-16 units or bytes', () => {
    expect(valueProblem({required: true, minLength: 3}, '🔑🔑🔑')).toBeUndefined()
    expect(valueProblem({required: true, maxLength: 3}, '🔑🔑🔑')).toBeUndefined()
  })
})

describe('collecting values', () => {
  test('asks prompted keys, generates generated ones, omits optional empties, skips kept secrets', async () => {
    const asked: string[] = []
    const source: ValueSource = {
      async valueFor(planned, key) {
        asked.push(`${planned.id}:${key.key}`)
        if (key.key === 'note') return undefined
        return SecretValue.fromString(key.key === 'password' ? HEX40 : CANARY)
      },
    }
    const collected = await collectValues(plan, source)
    expect(asked).toEqual(['flux-system/gitea-token:username', 'flux-system/gitea-token:password', 'flux-system/gitea-token:note'])
    expect([...collected.keys()]).toEqual(['flux-system/gitea-token', 'app/db'])
    expect([...collected.get('flux-system/gitea-token')!.keys()]).toEqual(['username', 'password'])
    expect(collected.get('app/db')!.get('password')!.revealString()).toHaveLength(16)
  })

  test('a secret left entirely empty is an error before anything is written', async () => {
    const optionalOnly = parseSpec('secrets:\n  - {namespace: a, name: b, keys: [{key: k, prompt: K, validate: {required: false}}]}\n', 't')
    const source: ValueSource = {valueFor: async () => undefined}
    await expect(collectValues(planBootstrap(optionalOnly.secrets, new Map(), []), source)).rejects.toThrow(/every key was left empty/)
  })
})

describe('--values-from-stdin JSON', () => {
  test('valid input feeds the same collection', async () => {
    const input = JSON.stringify({'flux-system/gitea-token': {username: CANARY, password: HEX40}, 'app/kept': {token: CANARY}})
    const {source, ignored} = parseStdinValues(input, plan)
    expect(ignored).toEqual(['app/kept'])
    const collected = await collectValues(plan, source)
    expect(collected.get('flux-system/gitea-token')!.get('username')!.revealString()).toBe(CANARY)
    expect(collected.get('flux-system/gitea-token')!.has('note')).toBe(false)
  })

  test('every rejection names the secret and key, never the value', async () => {
    const cases: [string, RegExp][] = [
      [`{"flux-system/gitea-token": {"username": "${CANARY}", }`, /stdin is not valid JSON/],
      [`["${CANARY}"]`, /not an object/],
      [JSON.stringify({'app/unknown': {k: CANARY}}), /stdin names app\/unknown, which is not in the bootstrap spec/],
      [JSON.stringify({'flux-system/gitea-token': {usernme: CANARY}}), /key "usernme" is not in the spec/],
      [JSON.stringify({'app/db': {password: CANARY}}), /key "password" is generated/],
      [JSON.stringify({'flux-system/gitea-token': {username: 42}}), /key "username" must be a string/],
      [JSON.stringify({'flux-system/gitea-token': {username: 'u', password: CANARY}}), /key "password" does not have the expected form: 40 lowercase hex characters/],
      [JSON.stringify({'flux-system/gitea-token': {username: '', password: HEX40}}), /key "username" a value is required/],
    ]
    for (const [input, expected] of cases) {
      const error = rejection(() => parseStdinValues(input, plan))
      expect(error.message).toMatch(expected)
      expect(`${error.message} ${error.hint}`).not.toContain(CANARY)
    }
  })

  test('a missing required value is named when stdin is read, before anything is written', async () => {
    const error = rejection(() => parseStdinValues(JSON.stringify({'flux-system/gitea-token': {username: CANARY}}), plan))
    expect(error.message).toBe('stdin has no value for flux-system/gitea-token key "password" (required)')
  })

  test('every problem is reported at once (automation fixes them in one go)', () => {
    const input = JSON.stringify({'app/unknown': {k: CANARY}, 'flux-system/gitea-token': {username: '', password: CANARY, extra: CANARY}})
    const error = rejection(() => parseStdinValues(input, plan))
    expect(error.message).toMatch(/^stdin has 4 problems:/)
    expect(error.message).toContain('stdin names app/unknown')
    expect(error.message).toContain('key "username" a value is required')
    expect(error.message).toContain('key "password" does not have the expected form')
    expect(error.message).toContain('key "extra" is not in the spec')
    expect(`${error.message} ${error.hint}`).not.toContain(CANARY)
  })

  test('an empty stdin is no values: fine when nothing needs one', () => {
    const error = rejection(() => parseStdinValues('  \n', plan))
    expect(error.message).toContain('stdin has no value for flux-system/gitea-token key "username" (required)')
  })

  test('a value pasted with a trailing space or newline is told so', () => {
    const error = rejection(() => parseStdinValues(JSON.stringify({'flux-system/gitea-token': {username: 'flux', password: `${HEX40}\n`}}), plan))
    expect(error.message).toMatch(/key "password" does not have the expected form: 40 lowercase hex characters — it ends with whitespace .*would be valid without it/)
  })
})
