import {type Deadline, DEFAULT_RETRY, type RetryPolicy, withRetry} from './retry.js'
import {isStoreError, type MetadataUpdate, type SecretData, type SecretStore, type WriteOptions} from './secret-store.js'

export interface StoreRetryOptions {
  /** The command's overall deadline: no retry waits past it. */
  deadline?: Deadline
  /** For tests: the pause between attempts. */
  wait?: (ms: number) => Promise<unknown>
}

/**
 * Any SecretStore, its calls retried: a call that fails with a StoreError
 * of kind `Unavailable` (the store could not answer: unreachable, sealed,
 * timed out) is tried again with backoff within the policy's budget and the
 * deadline; every other failure (NotFound, Conflict, Denied, Failed) is
 * final. A backend without retries of its own (an AWS, GCP or Azure client
 * configured without them) is wrapped with this, so callers never retry.
 *
 * A write with check-and-set that failed in a way that may have reached the
 * store, and whose retry then meets a Conflict, may have landed the first
 * time: the key is read back, and if its current version holds exactly what
 * was written, the write succeeded.
 *
 * The Vault backend does not need it: VaultHttp retries each HTTP request
 * with the same policy (retry.ts), because only there are the per-attempt
 * timeout, the request statistics and the answers' kinds known.
 */
export function withStoreRetry(store: SecretStore, policy: RetryPolicy = DEFAULT_RETRY, options: StoreRetryOptions = {}): SecretStore {
  const transient = (error: unknown) => isStoreError(error, 'Unavailable')
  const retry = <T>(operation: () => Promise<T>, onTransient?: () => void) =>
    withRetry(
      async () => {
        try {
          return await operation()
        } catch (error) {
          if (transient(error)) onTransient?.()
          throw error
        }
      },
      transient,
      policy,
      {deadline: options.deadline, wait: options.wait},
    )

  return {
    name: store.name,
    capabilities: store.capabilities,
    ready: () => retry(() => store.ready()),
    list: (prefix?: string) => retryingList(store, prefix, retry),
    read: (key: string) => retry(() => store.read(key)),
    async write(key: string, data: SecretData, writeOptions: WriteOptions = {}): Promise<number> {
      let mayHaveLanded = false
      try {
        return await retry(() => store.write(key, data, writeOptions), () => (mayHaveLanded = true))
      } catch (error) {
        if (mayHaveLanded && writeOptions.cas !== undefined && isStoreError(error, 'Conflict')) {
          const current = await retry(() => store.read(key))
          if (current && sameData(current.data, data)) return current.version
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

/** Lists with retries: the listing is gathered first (a retry starts it again), then handed out. */
async function* retryingList(store: SecretStore, prefix: string | undefined, retry: <T>(operation: () => Promise<T>) => Promise<T>): AsyncIterable<string> {
  const keys = await retry(async () => {
    const found: string[] = []
    for await (const key of store.list(prefix)) found.push(key)
    return found
  })
  yield* keys
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
