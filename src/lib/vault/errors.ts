import {ExitCode, ToolkitError} from '../errors/errors.js'

/**
 * A failed request to a secret store. It names the region, the path and the
 * HTTP status; the server's own error text is kept only when it cannot
 * carry a value (Vault's messages name paths and reasons, never data).
 */
export class StoreRequestError extends ToolkitError {
  readonly region: string
  readonly path: string
  readonly status?: number
  readonly networkCode?: string
  readonly retryable: boolean

  constructor(init: {region: string; method: string; path: string; status?: number; networkCode?: string; detail?: string; retryable: boolean}) {
    const what = init.status === undefined ? `network error ${init.networkCode ?? 'unknown'}` : `HTTP ${init.status}`
    const detail = init.detail ? `: ${init.detail}` : ''
    super(storeErrorCode(init.status, init.networkCode), `region ${init.region}: ${init.method} ${init.path} failed (${what})${detail}`, {
      hint: hintFor(init.status, init.networkCode),
      exitCode: ExitCode.Error,
    })
    this.name = 'StoreRequestError'
    this.region = init.region
    this.path = init.path
    this.status = init.status
    this.networkCode = init.networkCode
    this.retryable = init.retryable
  }
}

function storeErrorCode(status?: number, networkCode?: string): string {
  if (status === undefined) return 'UNREACHABLE'
  if (status === 401 || status === 403) return 'PERMISSION_DENIED'
  if (status === 404) return 'NOT_FOUND'
  if (status === 503) return 'SEALED_OR_UNAVAILABLE'
  if (status === 400 && networkCode === 'CAS') return 'CAS_MISMATCH'
  return 'STORE_ERROR'
}

function hintFor(status?: number, networkCode?: string): string | undefined {
  if (status === undefined) return 'Check the region address, the network path and TLS settings; is the server running?'
  if (status === 401 || status === 403) return 'The token lacks a policy for this path, or has expired: check the region credentials.'
  if (status === 503) return 'The server is sealed, in standby without forwarding, or not initialized: check `vault status`.'
  if (status === 400 && networkCode === 'CAS') return 'The secret changed since it was read; re-run to compare again.'
  return undefined
}

/** Vault's error texts are path and permission messages; cut them short anyway. */
export function safeDetail(errors: unknown): string | undefined {
  if (!Array.isArray(errors) || errors.length === 0) return undefined
  const text = errors.filter((item) => typeof item === 'string').join('; ')
  return text.length > 300 ? `${text.slice(0, 300)}…` : text
}
