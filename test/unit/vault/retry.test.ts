import {backoffDelay, isRetryable, withRetry, type RetryPolicy} from '../../../src/lib/vault/retry.js'
import {StoreRequestError} from '../../../src/lib/vault/errors.js'

const policy: RetryPolicy = {attempts: 4, baseDelayMs: 100, maxDelayMs: 1_000, random: () => 0.999}

describe('retry policy', () => {
  test.each([
    [429, true],
    [500, true],
    [502, true],
    [503, true],
    [501, false],
    [400, false],
    [403, false],
    [404, false],
  ])('HTTP %i retryable: %s', (status, expected) => {
    expect(isRetryable(status, undefined)).toBe(expected)
  })

  test.each([
    ['ECONNRESET', true],
    ['ECONNREFUSED', true],
    ['ETIMEDOUT', true],
    ['ENOTFOUND', false],
    ['CERT_HAS_EXPIRED', false],
  ])('network %s retryable: %s', (code, expected) => {
    expect(isRetryable(undefined, code)).toBe(expected)
  })

  test('backoff grows exponentially up to the cap, with full jitter', () => {
    expect([0, 1, 2, 3, 4, 5].map((attempt) => backoffDelay(attempt, policy))).toEqual([99, 199, 399, 799, 999, 999])
    expect(backoffDelay(3, {...policy, random: () => 0})).toBe(0)
  })

  test('retries a retryable failure, then succeeds', async () => {
    const waits: number[] = []
    let calls = 0
    const result = await withRetry(
      async () => {
        calls += 1
        if (calls < 3) throw new StoreRequestError({region: 'r1', method: 'GET', path: 'p', status: 503, retryable: true})
        return 'ok'
      },
      (error) => error instanceof StoreRequestError && error.retryable,
      policy,
      async (ms) => void waits.push(ms),
    )
    expect(result).toBe('ok')
    expect(calls).toBe(3)
    expect(waits).toEqual([99, 199])
  })

  test('gives up after the last attempt and keeps the error (region, path, status)', async () => {
    let calls = 0
    const failing = withRetry(
      async () => {
        calls += 1
        throw new StoreRequestError({region: 'region2', method: 'GET', path: 'secret/data/app', status: 502, retryable: true})
      },
      () => true,
      policy,
      async () => {},
    )
    await expect(failing).rejects.toThrow('region region2: GET secret/data/app failed (HTTP 502)')
    expect(calls).toBe(policy.attempts)
  })

  test('does not retry a non-retryable failure', async () => {
    let calls = 0
    await expect(
      withRetry(
        async () => {
          calls += 1
          throw new StoreRequestError({region: 'r1', method: 'GET', path: 'p', status: 403, retryable: false})
        },
        (error) => (error as StoreRequestError).retryable,
        policy,
        async () => {},
      ),
    ).rejects.toMatchObject({code: 'PERMISSION_DENIED'})
    expect(calls).toBe(1)
  })
})
