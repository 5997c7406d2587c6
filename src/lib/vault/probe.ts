import type {RegionConfig} from '../config/schema.js'
import {ToolkitError} from '../errors/errors.js'
import {StoreRequestError} from './errors.js'
import {withActiveNode} from './nodes.js'
import {type Deadline, DEFAULT_RETRY, formatDuration, withRetry} from './retry.js'
import {VaultHttp} from './vault-http.js'
import {VaultSys} from './vault-sys.js'

/**
 * Health first, on a connection of its own without retries: an unreachable,
 * sealed or frozen region is reported within one request timeout (or the
 * deadline), before any login is tried against it.
 */
export async function requireRegionActive(region: RegionConfig, deadline: Deadline | undefined): Promise<void> {
  // A region listing several nodes is checked on its active one (what connectRegion will use).
  region = await withActiveNode(region)
  const http = new VaultHttp(region.name, region.vault, {retry: {attempts: 1, baseDelayMs: 0, maxDelayMs: 0}, deadline})
  try {
    // A reset connection or a proxy's error page is retried within the retry budget. A timeout is not (a server
    // that accepts and does not answer is frozen: the operator hears of it after one request timeout), nor a
    // refused connection (nothing listens there: saying so at once beats a minute of retries).
    await withRetry(
      () => new VaultSys(http).requireActive(),
      (error) => error instanceof StoreRequestError && error.retryable && error.failure !== 'timeout' && error.networkCode !== 'ECONNREFUSED',
      {...DEFAULT_RETRY, budgetMs: region.vault.retryBudgetMs},
      {deadline},
    )
  } catch (error) {
    if (error instanceof StoreRequestError && error.failure === 'timeout') {
      throw new ToolkitError(
        'REQUEST_TIMEOUT',
        `region ${region.name} (${http.displayAddress}) did not answer within the request timeout of ${formatDuration(http.timeoutMs)} (--request-timeout, vault.requestTimeoutMs)`,
        {hint: 'The server accepts connections but does not answer: it may be frozen or overloaded. Check it; a region that cannot be read is never reported as in sync.'},
      )
    }
    if (error instanceof StoreRequestError && error.failure === undefined && error.status === undefined) {
      throw new ToolkitError('REGION_UNREACHABLE', `region ${region.name} (${http.displayAddress}) is unreachable (${error.networkCode ?? 'network error'})`, {
        hint: 'Check that its Vault is running and that the address in the configuration is right. A region that cannot be read is never reported as in sync.',
      })
    }
    throw error
  } finally {
    http.close()
  }
}
