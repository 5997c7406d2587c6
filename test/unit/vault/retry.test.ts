import {backoffDelay, Deadline, DEFAULT_RETRY, isRetryable, withRetry, type RetryPolicy} from '../../../src/lib/vault/retry.js'
import {safeDetail, StoreRequestError} from '../../../src/lib/vault/errors.js'

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

describe('retry budget and deadline', () => {
  /** A clock the waits move forward: no real time passes. */
  function clock() {
    let now = 0
    return {now: () => now, wait: async (ms: number) => void (now += ms), advance: (ms: number) => void (now += ms)}
  }
  const failing = (status = 503) => new StoreRequestError({region: 'region2', method: 'GET', path: 'secret/data/app', status, retryable: true})

  test('keeps retrying past any fixed number of attempts while the budget lasts, then says the budget ran out', async () => {
    const time = clock()
    let calls = 0
    const budget: RetryPolicy = {attempts: Number.POSITIVE_INFINITY, baseDelayMs: 100, maxDelayMs: 1_000, budgetMs: 10_000, random: () => 0.999}
    const error = await withRetry(
      async () => {
        calls++
        time.advance(50)
        throw failing()
      },
      () => true,
      budget,
      {wait: time.wait, now: time.now, exhausted: (caught, exhaustion) => (caught as StoreRequestError).exhausted(exhaustion, budget.budgetMs)},
    ).catch((caught: unknown) => caught as StoreRequestError)
    expect(calls).toBeGreaterThan(5)
    expect(time.now()).toBeLessThanOrEqual(10_000)
    expect(error.message).toMatch(/failed \(HTTP 503\); gave up after \d+ attempts in \d+(\.\d)? s: the retry budget of 10 s \(--retry-budget, vault.retryBudgetMs\) ran out/)
  })

  test('a failure every fifth request never exhausts the budget', async () => {
    const time = clock()
    let calls = 0
    const results: string[] = []
    for (let key = 0; key < 2000; key++) {
      results.push(
        await withRetry(
          async () => {
            calls++
            time.advance(20)
            if (calls % 5 === 0) throw failing()
            return 'ok'
          },
          () => true,
          {...DEFAULT_RETRY, random: () => 0.5},
          {wait: time.wait, now: time.now},
        ),
      )
    }
    expect(results.filter((value) => value === 'ok')).toHaveLength(2000)
  })

  test('the deadline stops retrying before the budget does', async () => {
    const time = clock()
    const deadline = new Deadline(2_000, '--deadline 2 s', time.now)
    let exhausted: string | undefined
    await expect(
      withRetry(
        async () => {
          time.advance(500)
          throw failing()
        },
        () => true,
        {attempts: Number.POSITIVE_INFINITY, baseDelayMs: 100, maxDelayMs: 100, budgetMs: 60_000, random: () => 0.999},
        {wait: time.wait, now: time.now, deadline, exhausted: (caught, exhaustion) => ((exhausted = exhaustion.reason), caught)},
      ),
    ).rejects.toBeInstanceOf(StoreRequestError)
    expect(exhausted).toBe('deadline')
    // The last attempt started before the deadline; a real attempt's timeout is cut to what is left of it.
    expect(time.now()).toBeLessThanOrEqual(2_000 + 500)
  })

  test('a deadline pauses (the operator at the prompt) and resumes', () => {
    const time = clock()
    const deadline = new Deadline(10_000, '--deadline 10 s', time.now)
    time.advance(4_000)
    deadline.pause()
    time.advance(60_000)
    expect(deadline.remainingMs()).toBe(6_000)
    deadline.resume()
    time.advance(1_000)
    expect(deadline.remainingMs()).toBe(5_000)
    expect(new Deadline(0, '--deadline 0s', time.now).remainingMs()).toBe(Number.POSITIVE_INFINITY)
  })

  test('errors say which limit ran out, with region and address', () => {
    const timeout = new StoreRequestError({region: 'west', method: 'GET', path: 'secret/metadata/?list=true', networkCode: 'ETIMEDOUT', retryable: true, kind: 'timeout', address: 'http://127.0.0.1:8200', limitMs: 5_000, limitSource: '--request-timeout, vault.requestTimeoutMs'})
    expect(timeout.code).toBe('REQUEST_TIMEOUT')
    expect(timeout.message).toBe('region west (http://127.0.0.1:8200): GET secret/metadata/?list=true failed (no answer within the request timeout of 5 s, --request-timeout, vault.requestTimeoutMs)')
    const deadline = new StoreRequestError({region: 'west', method: 'GET', path: 'p', retryable: false, kind: 'deadline', address: 'http://127.0.0.1:8200', limitMs: 20_000, limitSource: '--deadline 20 s'})
    expect(deadline.code).toBe('DEADLINE_EXCEEDED')
    expect(deadline.message).toContain('the deadline of 20 s (--deadline 20 s) ran out')
    const bad = new StoreRequestError({region: 'west', method: 'GET', path: 'p', status: 200, retryable: true, kind: 'bad-response', detail: 'not JSON: text/html, 120 bytes'})
    expect(bad.code).toBe('BAD_RESPONSE')
    expect(bad.retryable).toBe(true)
    expect(bad.message).toContain("HTTP 200 with an answer that is not Vault's JSON (not JSON: text/html, 120 bytes)")
  })
})

describe('server error texts', () => {
  test('are cut short and cannot drive the terminal', () => {
    const error = new StoreRequestError({region: 'r1', method: 'GET', path: 'p', status: 400, retryable: false, detail: safeDetail(['bad key "a\u001b[2Jb"', 'x'.repeat(400)])})
    expect(error.message).toContain('bad key "a\\x1b[2Jb"')
    expect(error.message).not.toContain('\u001b')
    expect(error.message.length).toBeLessThan(400)
  })
})
