// The Vault backend decides what its failures mean; callers branch on the kind only.
import {SecretValue} from '../../../src/lib/secret/secret-value.js'
import {StoreRequestError} from '../../../src/lib/vault/errors.js'
import {isStoreError, type StoreErrorKind} from '../../../src/lib/vault/secret-store.js'
import {MemoryStore} from '../../helpers/memory-store.js'

const request = {region: 'region1', method: 'GET', path: 'secret/data/app'}

describe('StoreRequestError kinds', () => {
  test.each<[string, ConstructorParameters<typeof StoreRequestError>[0], StoreErrorKind, string]>([
    ['404', {...request, status: 404, retryable: false}, 'NotFound', 'NOT_FOUND'],
    ['a check-and-set mismatch', {...request, method: 'POST', status: 400, networkCode: 'CAS', retryable: false}, 'Conflict', 'CAS_MISMATCH'],
    ['403', {...request, status: 403, retryable: false}, 'Denied', 'PERMISSION_DENIED'],
    ['401', {...request, status: 401, retryable: false}, 'Denied', 'PERMISSION_DENIED'],
    ['503 (sealed, standby)', {...request, status: 503, retryable: true}, 'Unavailable', 'SEALED_OR_UNAVAILABLE'],
    ['a refused connection', {...request, networkCode: 'ECONNREFUSED', retryable: true}, 'Unavailable', 'UNREACHABLE'],
    ['a timeout', {...request, networkCode: 'ETIMEDOUT', kind: 'timeout', limitMs: 5000, retryable: true}, 'Unavailable', 'REQUEST_TIMEOUT'],
    ['the deadline', {...request, kind: 'deadline', limitMs: 60_000, retryable: false}, 'Unavailable', 'DEADLINE_EXCEEDED'],
    ['a proxy page instead of Vault', {...request, status: 200, kind: 'bad-response', detail: 'not JSON', retryable: true}, 'Failed', 'BAD_RESPONSE'],
    ['a plain 400', {...request, method: 'POST', status: 400, retryable: false}, 'Failed', 'STORE_ERROR'],
  ])('%s', (_what, init, kind, code) => {
    const error = new StoreRequestError(init)
    expect(error.kind).toBe(kind)
    expect(error.code).toBe(code)
    expect(isStoreError(error, kind)).toBe(true)
  })

  test('a plain Error is no store error', () => {
    expect(isStoreError(new Error('x'))).toBe(false)
  })
})

describe('the in-memory store speaks the same kinds', () => {
  test('a stale check-and-set is a Conflict', async () => {
    const store = new MemoryStore('region1').put('k', {a: '1'})
    const data = new Map([['a', SecretValue.fromString('2')]])
    const error = await store.write('k', data, {cas: 0}).catch((caught: unknown) => caught)
    expect(isStoreError(error, 'Conflict')).toBe(true)
    expect(await store.write('k', data, {cas: 1})).toBe(2)
  })
})
