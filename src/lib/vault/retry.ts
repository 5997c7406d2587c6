import {setTimeout as sleep} from 'node:timers/promises'

export interface RetryPolicy {
  /** Attempts in all, the first included (Infinity: only the budget and the deadline limit them). */
  attempts: number
  baseDelayMs: number
  maxDelayMs: number
  /**
   * The retry budget: a failed request is tried again, with backoff, while
   * less than this has passed since its first attempt. A fixed number of
   * attempts runs out within seconds when every fifth request fails; a time
   * window keeps going as long as the failures leave room for progress.
   * Undefined: `attempts` alone decides.
   */
  budgetMs?: number
  /** For tests: the source of randomness for the jitter. */
  random?: () => number
}

/** Vault requests: retried for up to 60 s (vault.retryBudgetMs), backoff capped at 5 s. */
export const DEFAULT_RETRY_BUDGET_MS = 60_000
export const DEFAULT_RETRY: RetryPolicy = {attempts: Number.POSITIVE_INFINITY, baseDelayMs: 200, maxDelayMs: 5_000, budgetMs: DEFAULT_RETRY_BUDGET_MS}

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
 * The overall deadline of a command (`--deadline`): every request checks it,
 * and no request waits past it. Pausable, so that time an operator spends at
 * a confirmation prompt does not count.
 */
export class Deadline {
  readonly #now: () => number
  #startedAt: number
  #pausedAt: number | undefined

  /**
   * @param limitMs how long in all; 0 or Infinity means no deadline
   * @param source what set it, for messages: `--deadline`
   */
  constructor(
    readonly limitMs: number,
    readonly source: string,
    now: () => number = Date.now,
  ) {
    this.#now = now
    this.#startedAt = now()
  }

  get unlimited(): boolean {
    return !(this.limitMs > 0 && Number.isFinite(this.limitMs))
  }

  /** Milliseconds left (Infinity without a limit); 0 once it ran out. */
  remainingMs(): number {
    if (this.unlimited) return Number.POSITIVE_INFINITY
    const now = this.#pausedAt ?? this.#now()
    return Math.max(0, this.limitMs - (now - this.#startedAt))
  }

  expired(): boolean {
    return this.remainingMs() <= 0
  }

  pause(): void {
    this.#pausedAt ??= this.#now()
  }

  resume(): void {
    if (this.#pausedAt === undefined) return
    this.#startedAt += this.#now() - this.#pausedAt
    this.#pausedAt = undefined
  }
}

/** Why retrying stopped: shown in the final error, so the operator knows which limit to raise. */
export interface RetryExhaustion {
  reason: 'attempts' | 'budget' | 'deadline'
  attempts: number
  elapsedMs: number
}

export interface RetryOptions {
  wait?: (ms: number) => Promise<unknown>
  now?: () => number
  deadline?: Deadline
  /** Turns the last error into the one thrown, knowing why retrying stopped (only for retryable errors). */
  exhausted?: (error: unknown, exhaustion: RetryExhaustion) => unknown
}

/**
 * Runs `operation` until it succeeds, fails with a non-retryable error, or
 * runs out of attempts, of retry budget (time since the first attempt) or of
 * the deadline. `classify` says whether an error is worth retrying.
 */
export async function withRetry<T>(
  operation: (attempt: number) => Promise<T>,
  classify: (error: unknown) => boolean,
  policy: RetryPolicy = DEFAULT_RETRY,
  options: RetryOptions | ((ms: number) => Promise<unknown>) = {},
): Promise<T> {
  const {wait = sleep, now = Date.now, deadline, exhausted} = typeof options === 'function' ? {wait: options} : options
  const started = now()
  let attempt = 0
  for (;;) {
    try {
      return await operation(attempt)
    } catch (error) {
      attempt += 1
      if (!classify(error)) throw error
      const delay = backoffDelay(attempt - 1, policy)
      const elapsedMs = now() - started
      let reason: RetryExhaustion['reason'] | undefined
      if (attempt >= policy.attempts) reason = 'attempts'
      else if (policy.budgetMs !== undefined && elapsedMs + delay >= policy.budgetMs) reason = 'budget'
      else if (deadline && deadline.remainingMs() <= delay) reason = 'deadline'
      if (reason) throw exhausted ? exhausted(error, {reason, attempts: attempt, elapsedMs}) : error
      await wait(delay)
    }
  }
}

/** "30 s", "1.5 s", "250 ms": durations in messages. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`
  const seconds = ms / 1000
  return `${Number.isInteger(seconds) ? seconds : seconds.toFixed(1)} s`
}
