/**
 * A counting semaphore that also applies back-pressure to a producer: the
 * walk awaits a slot before it starts the next key, so at most `size` keys
 * are in flight and the listing never runs far ahead of the reads.
 */
export class Slots {
  #free: number
  readonly #waiting: (() => void)[] = []
  #idle: (() => void)[] = []
  readonly #size: number

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`concurrency must be a positive integer, got ${size}`)
    this.#size = size
    this.#free = size
  }

  async take(): Promise<void> {
    if (this.#free > 0) {
      this.#free--
      return
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve))
  }

  give(): void {
    const next = this.#waiting.shift()
    if (next) {
      next()
      return
    }
    this.#free++
    if (this.#free === this.#size) {
      const idle = this.#idle
      this.#idle = []
      for (const resolve of idle) resolve()
    }
  }

  /** Resolves when nothing is in flight. */
  async idle(): Promise<void> {
    if (this.#free === this.#size) return
    await new Promise<void>((resolve) => this.#idle.push(resolve))
  }
}

/** Runs `task` for each item with at most `concurrency` at once; the first error stops new tasks and is thrown after the running ones finish. */
export async function forEachLimited<T>(items: Iterable<T>, concurrency: number, task: (item: T) => Promise<void>): Promise<void> {
  const slots = new Slots(concurrency)
  let failure: {error: unknown} | undefined
  for (const item of items) {
    await slots.take()
    if (failure) {
      slots.give()
      break
    }
    task(item)
      .catch((error: unknown) => {
        failure ??= {error}
      })
      .finally(() => slots.give())
  }
  await slots.idle()
  if (failure) throw failure.error
}
