import {setTimeout as sleep} from 'node:timers/promises'

import {cancelledError} from './runner.js'

/** Where a poll stands after one attempt, for progress lines. */
export interface PollProgress {
  /** 1 for the first attempt. */
  attempt: number
  elapsedMs: number
  /** No further attempt follows: the condition held or the time is up. */
  finished: boolean
}

export interface PollOptions<T> {
  /** How long to keep trying, from the call (or from `startedAt`). */
  timeoutMs: number
  /** The pause between the end of one attempt and the start of the next. */
  intervalMs: number
  /** When the time started counting (ms since the epoch); defaults to now. */
  startedAt?: number
  /**
   * Clip the last pause to the deadline, so one more attempt runs at the
   * deadline itself (true), or stop as soon as the next attempt would start
   * after it (false: a slow check is not run once more for nothing).
   */
  attemptAtDeadline?: boolean
  /** Stops the wait between attempts (Ctrl-C): a cancellation error. */
  signal?: AbortSignal
  /** Called after every attempt with its value (names and counts: progress output). */
  onProgress?: (value: T, progress: PollProgress) => void
  /** For tests. */
  now?: () => number
  sleep?: (ms: number) => Promise<unknown>
}

export interface PollResult<T> {
  /** The last attempt's value. */
  value: T
  /** The condition held (false: the time ran out first). */
  done: boolean
  attempts: number
  elapsedMs: number
}

/**
 * The one "poll until a condition holds or the deadline passes" loop: runs
 * `attempt`, stops when `done(value)` says so, else pauses `intervalMs` and
 * tries again until `timeoutMs` has passed. There is always at least one
 * attempt; the last value is returned either way, so the caller reports what
 * it saw. Attempts that fail are the caller's to catch (a server that is not
 * up yet is usually a state to wait through, not an error).
 */
export async function pollUntil<T>(attempt: (index: number) => Promise<T>, done: (value: T) => boolean, options: PollOptions<T>): Promise<PollResult<T>> {
  const now = options.now ?? Date.now
  const pause = options.sleep ?? ((ms: number) => sleep(ms, undefined, {signal: options.signal}))
  const started = options.startedAt ?? now()
  const deadline = started + options.timeoutMs
  const attemptAtDeadline = options.attemptAtDeadline ?? true
  for (let index = 0; ; index++) {
    if (options.signal?.aborted) throw cancelledError()
    const value = await attempt(index)
    const finished = done(value) ? 'done' : attemptAtDeadline ? (now() >= deadline ? 'timeout' : undefined) : now() + options.intervalMs > deadline ? 'timeout' : undefined
    options.onProgress?.(value, {attempt: index + 1, elapsedMs: now() - started, finished: finished !== undefined})
    if (finished) return {value, done: finished === 'done', attempts: index + 1, elapsedMs: now() - started}
    try {
      await pause(attemptAtDeadline ? Math.min(options.intervalMs, Math.max(0, deadline - now())) : options.intervalMs)
    } catch (error) {
      if (options.signal?.aborted) throw cancelledError()
      throw error
    }
  }
}
