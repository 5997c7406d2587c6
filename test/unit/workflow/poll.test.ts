import {pollUntil, type PollProgress} from '../../../src/lib/workflow/poll.js'

/** A clock that moves only when the poller pauses (and by what an attempt takes). */
function fakeTime() {
  let now = 0
  const pauses: number[] = []
  return {
    now: () => now,
    sleep: async (ms: number) => {
      pauses.push(ms)
      now += ms
    },
    advance: (ms: number) => (now += ms),
    pauses,
  }
}

describe('pollUntil', () => {
  it('stops at the first value that satisfies the condition and says it is done', async () => {
    const time = fakeTime()
    const result = await pollUntil(async (index) => index, (value) => value === 2, {timeoutMs: 10_000, intervalMs: 1000, now: time.now, sleep: time.sleep})
    expect(result).toEqual({value: 2, done: true, attempts: 3, elapsedMs: 2000})
    expect(time.pauses).toEqual([1000, 1000])
  })

  it('gives up at the deadline with the last value, the last pause clipped so one attempt runs at the deadline', async () => {
    const time = fakeTime()
    const result = await pollUntil(async () => 'not yet', () => false, {timeoutMs: 2500, intervalMs: 1000, now: time.now, sleep: time.sleep})
    expect(result).toMatchObject({value: 'not yet', done: false, attempts: 4})
    expect(time.pauses).toEqual([1000, 1000, 500])
  })

  it('without an attempt at the deadline, stops when the next attempt could not start before it', async () => {
    const time = fakeTime()
    const result = await pollUntil(async () => 0, () => false, {timeoutMs: 2500, intervalMs: 1000, attemptAtDeadline: false, now: time.now, sleep: time.sleep})
    expect(result).toMatchObject({done: false, attempts: 3})
    expect(time.pauses).toEqual([1000, 1000])
  })

  it('always makes one attempt, even with no time at all', async () => {
    const time = fakeTime()
    const result = await pollUntil(async () => 'once', () => false, {timeoutMs: 0, intervalMs: 1000, now: time.now, sleep: time.sleep})
    expect(result).toMatchObject({value: 'once', done: false, attempts: 1})
    expect(time.pauses).toEqual([])
  })

  it('counts time from startedAt when the wait began earlier', async () => {
    const time = fakeTime()
    time.advance(1500)
    const result = await pollUntil(async () => 0, () => false, {timeoutMs: 2000, startedAt: 0, intervalMs: 1000, now: time.now, sleep: time.sleep})
    expect(result).toMatchObject({attempts: 2, elapsedMs: 2000})
  })

  it('reports every attempt to the progress hook, the last one as finished', async () => {
    const time = fakeTime()
    const seen: [number, PollProgress][] = []
    await pollUntil(async (index) => index, (value) => value === 1, {timeoutMs: 10_000, intervalMs: 1000, now: time.now, sleep: time.sleep, onProgress: (value, progress) => seen.push([value, progress])})
    expect(seen).toEqual([
      [0, {attempt: 1, elapsedMs: 0, finished: false}],
      [1, {attempt: 2, elapsedMs: 1000, finished: true}],
    ])
  })

  it('an aborted signal stops the wait between attempts with a cancellation', async () => {
    const controller = new AbortController()
    let attempts = 0
    const polling = pollUntil(
      async () => {
        attempts++
        if (attempts === 2) controller.abort()
        return attempts
      },
      () => false,
      {timeoutMs: 60_000, intervalMs: 5, signal: controller.signal},
    )
    await expect(polling).rejects.toMatchObject({code: 'CANCELLED'})
    expect(attempts).toBe(2)
  })

  it('an abort during the pause ends it at once', async () => {
    const controller = new AbortController()
    const started = Date.now()
    const polling = pollUntil(async () => 0, () => false, {timeoutMs: 600_000, intervalMs: 300_000, signal: controller.signal})
    setTimeout(() => controller.abort(), 20)
    await expect(polling).rejects.toMatchObject({code: 'CANCELLED'})
    // Bounded, not timed: the 300 s pause did not run out.
    expect(Date.now() - started).toBeLessThan(300_000)
  })

  it('an attempt that throws ends the poll with its error', async () => {
    await expect(pollUntil(async () => Promise.reject(new Error('broken')), () => false, {timeoutMs: 1000, intervalMs: 10})).rejects.toThrow('broken')
  })
})
