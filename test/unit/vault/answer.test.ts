// One conversion of Vault's answers into the backend's errors, whichever client met them.
import {regionSchema} from '../../../src/lib/config/schema.js'
import {isStoreError} from '../../../src/lib/vault/secret-store.js'
import {VaultHttp, type HttpAnswer} from '../../../src/lib/vault/vault-http.js'

const http = new VaultHttp('region1', regionSchema.shape.vault.parse({address: 'http://127.0.0.1:8200'}))
afterAll(() => http.close())

const json = (status: number, body: unknown): HttpAnswer => ({status, json: body, bytes: Buffer.byteLength(JSON.stringify(body))})
const text = (status: number, body: string, contentType?: string): HttpAnswer => ({status, json: undefined, bytes: Buffer.byteLength(body), contentType})

describe('judgeAnswer', () => {
  test('the answer wanted passes', () => {
    expect(http.judgeAnswer('GET', 'secret/data/app', json(200, {data: {}}))).toBeUndefined()
    expect(http.judgeAnswer('DELETE', 'secret/metadata/app', {status: 204, json: undefined, bytes: 0})).toBeUndefined()
    expect(http.judgeAnswer('POST', 'secret/metadata/app', {status: 200, json: undefined, bytes: 0})).toBeUndefined()
  })

  test('Vault\'s 404 is an answer when accepted, an error by its kind when not', () => {
    expect(http.judgeAnswer('GET', 'secret/data/app', json(404, {errors: []}), {accept: [404]})).toBeUndefined()
    expect(http.judgeAnswer('GET', 'secret/data/app', json(404, {errors: []}))).toMatchObject({kind: 'NotFound', code: 'NOT_FOUND'})
  })

  test.each([
    [403, 'Denied', false],
    [503, 'Unavailable', true],
    [500, 'Failed', true],
    [400, 'Failed', false],
  ] as const)('a %i is an error by its status, retryable when a retry can help', (status, kind, retryable) => {
    const error = http.judgeAnswer('POST', 'secret/data/app', json(status, {errors: ['permission denied']}))
    expect(isStoreError(error, kind)).toBe(true)
    expect(error!.retryable).toBe(retryable)
  })

  test('a check-and-set refusal is a Conflict only where the write asked for one', () => {
    const refusal = json(400, {errors: ['check-and-set parameter did not match the current version']})
    expect(http.judgeAnswer('POST', 'secret/data/app', refusal, {casSensitive: true})).toMatchObject({kind: 'Conflict', code: 'CAS_MISMATCH'})
    expect(http.judgeAnswer('POST', 'secret/data/app', refusal)).toMatchObject({kind: 'Failed'})
  })

  test('an accepted status with something other than Vault\'s JSON is a bad answer, retried, never data', () => {
    const page = '<html>Service Unavailable</html>'
    for (const answer of [text(200, page, 'text/html'), text(404, page, 'text/html'), json(404, {message: 'not found'}), text(200, page)]) {
      const error = http.judgeAnswer('GET', 'secret/data/app', answer, {accept: [404]})
      expect(error).toMatchObject({code: 'BAD_RESPONSE', retryable: true})
      expect(error!.message).not.toContain('Service Unavailable')
    }
    expect(http.judgeAnswer('GET', 'secret/data/app', text(200, page, 'text/html'))!.message).toContain(`not JSON: text/html, ${page.length} bytes`)
  })

  test('a body without the fields the endpoint promises is a bad answer; an empty one too where a body is promised', () => {
    const hasVersion = (body: unknown) => typeof (body as {data?: {version?: unknown}})?.data?.version === 'number'
    expect(http.judgeAnswer('POST', 'secret/data/app', json(200, {data: {}}), {expect: hasVersion})).toMatchObject({code: 'BAD_RESPONSE'})
    expect(http.judgeAnswer('POST', 'secret/data/app', {status: 200, json: undefined, bytes: 0}, {expect: hasVersion})).toMatchObject({code: 'BAD_RESPONSE'})
    expect(http.judgeAnswer('POST', 'secret/data/app', json(200, {data: {version: 3}}), {expect: hasVersion})).toBeUndefined()
  })
})

describe('transportError', () => {
  const limits = {timeoutMs: 5000, byDeadline: false}

  test('a socket error is Unavailable and retryable, named by its code', () => {
    expect(http.transportError('GET', 'secret/data/app', Object.assign(new Error('refused'), {code: 'ECONNREFUSED'}))).toMatchObject({kind: 'Unavailable', code: 'UNREACHABLE', networkCode: 'ECONNREFUSED', retryable: true})
  })

  test('a timer that ran out, ours or the client\'s own, is the request timeout', () => {
    for (const error of [Object.assign(new Error('request timed out'), {code: 'ETIMEDOUT'}), Object.assign(new Error('timeout of 5000ms exceeded'), {code: 'ECONNABORTED'})]) {
      expect(http.transportError('POST', 'secret/data/app', error, limits)).toMatchObject({code: 'REQUEST_TIMEOUT', failure: 'timeout'})
    }
  })

  test('an error already converted passes as it is', () => {
    const converted = http.badResponseError('GET', 'p', 200, 'x')
    expect(http.transportError('GET', 'p', converted)).toBe(converted)
  })
})
