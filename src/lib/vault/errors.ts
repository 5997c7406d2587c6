import {displayText} from '../report/display.js'
import {formatDuration, type RetryExhaustion} from './retry.js'
import {StoreError, type StoreErrorKind} from './secret-store.js'

/**
 * What went wrong beyond an HTTP status or a socket error code:
 * - `bad-response`: an answer that is not what the API promises (not JSON, or
 *   JSON of the wrong shape) — a proxy, WAF or load balancer answered instead
 *   of Vault. Never data: retried, then an error.
 * - `timeout`: no answer within the per-request timeout.
 * - `deadline`: the command's overall deadline ran out.
 */
export type StoreFailureKind = 'bad-response' | 'timeout' | 'deadline'

export interface StoreRequestErrorInit {
  region: string
  method: string
  path: string
  status?: number
  networkCode?: string
  detail?: string
  retryable: boolean
  kind?: StoreFailureKind
  /** The server's address, credentials removed (redactUrl): named for timeouts, deadlines and bad answers. */
  address?: string
  /** The limit that ran out (timeout / deadline), and the flag or setting that sets it. */
  limitMs?: number
  limitSource?: string
  /** Set when retrying stopped: why, after how many attempts and how long. */
  exhaustion?: RetryExhaustion
  /** The retry budget in force, for the message when it ran out. */
  budgetMs?: number
}

/**
 * A failed request to Vault: the Vault backend's StoreError. It names the
 * region, the path and the HTTP status; the server's own error text is kept
 * only when it cannot carry a value (Vault's messages name paths and reasons,
 * never data). A response body is never quoted: it could hold one. Its
 * backend-neutral `kind` is decided here, from the status and socket error;
 * the HTTP details stay for the Vault backend's own retry and statistics.
 */
export class StoreRequestError extends StoreError {
  readonly region: string
  readonly path: string
  readonly status?: number
  readonly networkCode?: string
  /** What went wrong beyond a status or socket error (a bad answer, a timeout, the deadline). */
  readonly failure?: StoreFailureKind
  readonly init: StoreRequestErrorInit

  constructor(init: StoreRequestErrorInit) {
    const code = storeErrorCode(init)
    super(KIND_BY_CODE[code] ?? 'Failed', code, messageFor(init), {hint: hintFor(init), retryable: init.retryable})
    this.name = 'StoreRequestError'
    this.init = init
    this.region = init.region
    this.path = init.path
    this.status = init.status
    this.networkCode = init.networkCode
    this.failure = init.kind
  }

  /** The same failure, saying why retrying it stopped. */
  exhausted(exhaustion: RetryExhaustion, budgetMs?: number): StoreRequestError {
    return new StoreRequestError({...this.init, exhaustion, budgetMs})
  }
}

function what(init: StoreRequestErrorInit): string {
  switch (init.kind) {
    case 'bad-response':
      return `HTTP ${init.status ?? '?'} with an answer that is not Vault's JSON${init.detail ? ` (${init.detail})` : ''}`
    case 'timeout':
      return `no answer within the request timeout of ${formatDuration(init.limitMs ?? 0)}${init.limitSource ? `, ${init.limitSource}` : ''}`
    case 'deadline':
      return `the deadline of ${formatDuration(init.limitMs ?? 0)}${init.limitSource ? ` (${init.limitSource})` : ''} ran out`
    default: {
      const base = init.status === undefined ? `network error ${init.networkCode ?? 'unknown'}` : `HTTP ${init.status}`
      return init.detail ? `${base}): ${init.detail}` : `${base})`
    }
  }
}

function messageFor(init: StoreRequestErrorInit): string {
  const where = init.address ? `region ${init.region} (${init.address})` : `region ${init.region}`
  const text = what(init)
  // The classic form keeps the server's detail after the parenthesis: "failed (HTTP 403): permission denied".
  let message = init.kind === undefined ? `${where}: ${init.method} ${init.path} failed (${text}` : `${where}: ${init.method} ${init.path} failed (${text})`
  const exhaustion = init.exhaustion
  // One attempt under an attempts-only policy is no retrying at all: nothing to add then.
  if (exhaustion && (exhaustion.attempts > 1 || exhaustion.reason !== 'attempts')) {
    const tried = `${exhaustion.attempts} attempt${exhaustion.attempts === 1 ? '' : 's'} in ${formatDuration(exhaustion.elapsedMs)}`
    if (exhaustion.reason === 'budget') message += `; gave up after ${tried}: the retry budget of ${formatDuration(init.budgetMs ?? 0)} (--retry-budget, vault.retryBudgetMs) ran out`
    else if (exhaustion.reason === 'deadline') message += init.kind === 'deadline' ? ` after ${tried}` : `; gave up after ${tried}: the deadline ran out`
    else message += `; gave up after ${tried}`
  }
  return message
}

/**
 * The neutral kind of each code. Unavailable is what says the server, not one
 * key, is at fault: a comparison stops on it instead of listing every key as
 * unreadable. A bad answer (a proxy's page) stays a failure of that one call.
 */
const KIND_BY_CODE: Record<string, StoreErrorKind> = {
  NOT_FOUND: 'NotFound',
  CAS_MISMATCH: 'Conflict',
  PERMISSION_DENIED: 'Denied',
  UNREACHABLE: 'Unavailable',
  SEALED_OR_UNAVAILABLE: 'Unavailable',
  REQUEST_TIMEOUT: 'Unavailable',
  DEADLINE_EXCEEDED: 'Unavailable',
}

function storeErrorCode(init: StoreRequestErrorInit): string {
  if (init.kind === 'bad-response') return 'BAD_RESPONSE'
  if (init.kind === 'timeout') return 'REQUEST_TIMEOUT'
  if (init.kind === 'deadline') return 'DEADLINE_EXCEEDED'
  const {status, networkCode} = init
  if (status === undefined) return 'UNREACHABLE'
  if (status === 401 || status === 403) return 'PERMISSION_DENIED'
  if (status === 404) return 'NOT_FOUND'
  if (status === 503) return 'SEALED_OR_UNAVAILABLE'
  if (status === 400 && networkCode === 'CAS') return 'CAS_MISMATCH'
  return 'STORE_ERROR'
}

function hintFor(init: StoreRequestErrorInit): string | undefined {
  const {status, networkCode} = init
  if (init.kind === 'bad-response') {
    return 'Something between the toolkit and Vault (a proxy, WAF or load balancer) answered instead of Vault: check the address and what sits in front of the server. Nothing was read as data from that answer.'
  }
  if (init.kind === 'timeout') {
    return 'The server accepted the connection but did not answer (frozen, overloaded, or a proxy holding requests): check it; raise the request timeout only if it is merely slow.'
  }
  if (init.kind === 'deadline') {
    return 'The command stopped at its overall deadline: what it did before is in the report. Raise --deadline for a larger tree or a slower server, and re-run.'
  }
  if (status === undefined) return 'Check the region address, the network path and TLS settings; is the server running?'
  if (status === 401 || status === 403) return 'The token lacks a policy for this path, or has expired: check the region credentials.'
  if (status === 503) return 'The server is sealed, in standby without forwarding, or not initialized: check `vault status`.'
  if (status === 400 && networkCode === 'CAS') return 'The secret changed since it was read; re-run to compare again.'
  return undefined
}

/**
 * Vault's error texts are path and permission messages; cut them short
 * anyway, and escape control characters: they come from the server (or
 * whatever answers in its place) and may echo key names.
 */
export function safeDetail(errors: unknown): string | undefined {
  if (!Array.isArray(errors) || errors.length === 0) return undefined
  const text = errors.filter((item) => typeof item === 'string').join('; ')
  return displayText(text.length > 300 ? `${text.slice(0, 300)}…` : text)
}
