import {type Deadline, DEFAULT_RETRY, type RetryExhaustion, type RetryPolicy, withRetry} from './retry.js'
import {isStoreError, type ListOptions, type MetadataUpdate, type SecretData, type SecretStore, StoreError, type WriteOptions} from './secret-store.js'

export interface StoreRetryOptions {
  /** The command's overall deadline: no retry waits past it. A function when it is set after the store is made (`--deadline` starts at the preflight). */
  deadline?: Deadline | (() => Deadline | undefined)
  /** For tests: the pause between attempts. */
  wait?: (ms: number) => Promise<unknown>
  /** Called before each attempt after the first: a backend's request statistics count the retries. */
  onRetry?: () => void
  /** Turns the last error into the one thrown, knowing why retrying stopped (the backend's message names the limit). */
  exhausted?: (error: unknown, exhaustion: RetryExhaustion) => unknown
}

/**
 * Any SecretStore, its calls retried: a call that fails with a StoreError
 * its backend marked `retryable` (by default: kind `Unavailable` — the store
 * could not answer: unreachable, sealed, timed out) is tried again with
 * backoff within the policy's budget and the deadline; every other failure
 * (NotFound, Conflict, Denied, a deadline that ran out) is final. Every
 * backend is handed out wrapped in this (the Vault backend in connect.ts,
 * with its statistics and messages as hooks), so callers never retry.
 *
 * A write with check-and-set that failed in a way that may have reached the
 * store, and whose retry then meets a Conflict, may have landed the first
 * time: the key is read back, and if its current version holds exactly what
 * was written, the write succeeded.
 *
 * `ready()` is not retried: it answers whether the store can be used now,
 * and "unavailable" is that answer, before any key is touched.
 */
export function withStoreRetry(store: SecretStore, policy: RetryPolicy = DEFAULT_RETRY, options: StoreRetryOptions = {}): SecretStore {
  const deadline = () => (typeof options.deadline === 'function' ? options.deadline() : options.deadline)
  const retry: Retry = <T>(operation: () => Promise<T>, onTransient?: () => void) =>
    withRetry(
      async (attempt) => {
        if (attempt > 0) options.onRetry?.()
        try {
          return await operation()
        } catch (error) {
          if (transient(error)) onTransient?.()
          throw error
        }
      },
      transient,
      policy,
      {deadline: deadline(), wait: options.wait, exhausted: options.exhausted},
    )

  return {
    name: store.name,
    capabilities: store.capabilities,
    ready: () => store.ready(),
    list: (prefix?: string) => retryingList(store, prefix, retry),
    read: (key: string) => retry(() => store.read(key)),
    async write(key: string, data: SecretData, writeOptions: WriteOptions = {}): Promise<number> {
      let mayHaveLanded = false
      try {
        return await retry(() => store.write(key, data, writeOptions), () => (mayHaveLanded = true))
      } catch (error) {
        if (mayHaveLanded && writeOptions.cas !== undefined && isStoreError(error, 'Conflict')) {
          const current = await retry(() => store.read(key))
          try {
            if (current && sameData(current.data, data)) return current.version
          } finally {
            current?.data.clear()
          }
        }
        throw error
      }
    },
    readMetadata: (key: string) => retry(() => store.readMetadata(key)),
    writeMetadata: (key: string, update: MetadataUpdate) => retry(() => store.writeMetadata(key, update)),
    delete: (key: string) => retry(() => store.delete(key)),
    softDelete: (key: string, version: number) => retry(() => store.softDelete(key, version)),
    close: () => store.close(),
  }
}

type Retry = <T>(operation: () => Promise<T>, onTransient?: () => void) => Promise<T>

const transient = (error: unknown): boolean => error instanceof StoreError && error.retryable

/**
 * Lists with retries, handed out as they come: each next key is one retried
 * step. A listing that failed is started again after the last key handed out
 * (ListOptions.after; keys up to it are skipped here too, for a backend that
 * ignores it), so one failure costs the requests of one resumption, not the
 * whole walk again.
 */
async function* retryingList(store: SecretStore, prefix: string | undefined, retry: Retry): AsyncIterable<string> {
  let after: string | undefined
  let iterator: AsyncIterator<string> | undefined
  const next = () =>
    retry(async () => {
      const options: ListOptions | undefined = after === undefined ? undefined : {after}
      iterator ??= store.list(prefix, options)[Symbol.asyncIterator]()
      try {
        let result = await iterator.next()
        while (!result.done && after !== undefined && result.value <= after) result = await iterator.next()
        return result
      } catch (error) {
        iterator = undefined
        throw error
      }
    })
  for (;;) {
    const result = await next()
    if (result.done) return
    after = result.value
    yield result.value
  }
}

/** Same properties, each equal (SecretValue.equals: constant time, in memory). */
function sameData(stored: SecretData, written: SecretData): boolean {
  if (stored.size !== written.size) return false
  for (const [property, value] of written) {
    const other = stored.get(property)
    if (!other || !other.equals(value)) return false
  }
  return true
}
