import {setTimeout as sleep} from 'node:timers/promises'

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number
  baseDelayMs: number
  maxDelayMs: number
  /** For tests: the source of randomness for the jitter. */
  random?: () => number
}

export const DEFAULT_RETRY: RetryPolicy = {attempts: 5, baseDelayMs: 200, maxDelayMs: 5_000}

const RETRYABLE_NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNABORTED',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
])

/** Retry on 429, 5xx (but 501 "not implemented"), and on connection-level failures. */
export function isRetryable(status: number | undefined, networkCode: string | undefined): boolean {
  if (status !== undefined) return status === 429 || (status >= 500 && status !== 501)
  return networkCode !== undefined && RETRYABLE_NETWORK_CODES.has(networkCode)
}

/** "Full jitter" backoff: uniform in [0, min(max, base·2^attempt)]. */
export function backoffDelay(attempt: number, policy: RetryPolicy): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt)
  const random = policy.random ?? Math.random
  return Math.floor(random() * ceiling)
}

export interface RetryableFailure {
  retryable: boolean
}

/**
 * Runs `operation` until it succeeds, fails with a non-retryable error, or
 * runs out of attempts. `classify` says whether an error is worth retrying.
 */
export async function withRetry<T>(
  operation: (attempt: number) => Promise<T>,
  classify: (error: unknown) => boolean,
  policy: RetryPolicy = DEFAULT_RETRY,
  wait: (ms: number) => Promise<unknown> = sleep,
): Promise<T> {
  let attempt = 0
  for (;;) {
    try {
      return await operation(attempt)
    } catch (error) {
      attempt += 1
      if (attempt >= policy.attempts || !classify(error)) throw error
      await wait(backoffDelay(attempt - 1, policy))
    }
  }
}
