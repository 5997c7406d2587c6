import {ToolkitError} from '../errors/errors.js'
import {redactUrl} from '../report/display.js'
import {ESO_KINDS, ESO_MISSING_HINT} from '../eso/api.js'

export interface KubeTarget {
  kind: string
  namespace?: string
  name?: string
}

function describeTarget(target: KubeTarget): string {
  const where = target.namespace ? `${target.namespace}/` : ''
  return target.name ? `${target.kind} ${where}${target.name}` : `${target.kind}${target.namespace ? ` in ${target.namespace}` : ''}`
}

/**
 * The API server's address as an operator may see it: without user:password
 * or credential parameters, and as written in the kubeconfig (no trailing
 * slash added by URL parsing).
 */
export function displayServer(address: string): string {
  const shown = redactUrl(address)
  return !address.endsWith('/') && shown.endsWith('/') ? shown.slice(0, -1) : shown
}

/** Why a request never got an HTTP answer, in the operator's words, with what to check. */
export interface TransportFailure {
  /** e.g. "connection refused (ECONNREFUSED)". */
  reason: string
  hint: string
}

const CONTEXT_HINT = 'check the kubeconfig (--kubeconfig, --context / kubernetes.context) and that the API server is running'

/**
 * Classifies a failure below HTTP (no status code): refused, timed out, name
 * not found, reset, TLS. Only the error's code is used — node-fetch's message
 * repeats the whole request URL.
 */
export function transportFailure(error: unknown): TransportFailure | undefined {
  const code = (error as {code?: unknown})?.code
  if (typeof code === 'number') return undefined
  const type = (error as {type?: unknown})?.type
  const text = typeof code === 'string' ? code : typeof type === 'string' ? type : ''
  if (/^ECONNREFUSED$/.test(text)) return {reason: 'connection refused (ECONNREFUSED)', hint: `Nothing listens at that address: ${CONTEXT_HINT}.`}
  const timeoutHint = `The server did not answer in time: check the network path (VPN, firewall, proxy) to it and whether it is overloaded or frozen; ${CONTEXT_HINT}.`
  // The client's own deadline (KubeClient's request timeout) aborts the request.
  if ((error as Error)?.name === 'AbortError' || /^(aborted|ABORT_ERR)$/.test(text)) return {reason: 'timed out (no answer within the request timeout)', hint: timeoutHint}
  if (/^(ETIMEDOUT|ESOCKETTIMEDOUT|UND_ERR_CONNECT_TIMEOUT|request-timeout|body-timeout)$/.test(text)) return {reason: `timed out (${text})`, hint: timeoutHint}
  if (/^(ENOTFOUND|EAI_AGAIN|EAI_NONAME)$/.test(text)) return {reason: `host name not found (${text})`, hint: `Check the server address in the kubeconfig and DNS; ${CONTEXT_HINT}.`}
  if (/^(EHOSTUNREACH|ENETUNREACH|EHOSTDOWN|ENETDOWN)$/.test(text)) return {reason: `no route to host (${text})`, hint: `Check the network path (VPN, routes) to the server; ${CONTEXT_HINT}.`}
  if (/^(ECONNRESET|EPIPE|ECONNABORTED)$/.test(text)) {
    return {reason: `connection closed by the server or the network (${text})`, hint: `The API server (or something in front of it) dropped the connection: ${CONTEXT_HINT}, and that it is healthy.`}
  }
  if (/CERT|SELF_SIGNED|UNABLE_TO_|^ERR_TLS_|^ERR_SSL_|^EPROTO$|SSL|TLS/i.test(text)) {
    return {reason: `TLS failed (${text})`, hint: 'The server\'s certificate was not accepted: check certificate-authority(-data) and the server name in the kubeconfig.'}
  }
  return {reason: text ? `request failed (${text})` : 'request failed before any answer', hint: `${CONTEXT_HINT[0].toUpperCase()}${CONTEXT_HINT.slice(1)}.`}
}

/**
 * client-node answers a missing kind in two ways: an unknown API group makes
 * its discovery call fail with 404 ("Failed to fetch resource metadata"), an
 * unknown kind in a known group is a plain Error. Any other discovery failure
 * (refused, timeout, TLS) is the server being unreachable, not a missing CRD.
 */
export function isMissingKind(error: unknown): boolean {
  const message = (error as Error)?.message ?? ''
  if (/Unrecognized API version and kind/.test(message)) return true
  return /Failed to fetch resource metadata/.test(message) && (error as {code?: unknown})?.code === 404
}

/**
 * Turns a client-node failure into a message an operator can act on. Only the
 * Status `reason` and `message` survive (they name fields, not values) — the
 * raw exception text embeds whole response bodies. `server` is the API
 * server's address; it is shown without credentials.
 */
export function kubeError(action: string, target: KubeTarget, error: unknown, server?: string): ToolkitError {
  const code = (error as {code?: number | string}).code
  const body = parseBody((error as {body?: unknown}).body)
  const serverMessage = typeof body?.message === 'string' ? body.message.slice(0, 400) : undefined
  const what = describeTarget(target)
  const at = server ? ` at ${displayServer(server)}` : ''
  if (isMissingKind(error)) {
    const eso = ESO_KINDS.includes(target.kind)
    return new ToolkitError('CRD_MISSING', `${target.kind} CRD is not installed${at ? ` in the cluster${at}` : ''}${eso ? ': install External Secrets Operator' : ''}`, {
      hint: eso ? ESO_MISSING_HINT : 'Install the CRD that defines this kind.',
    })
  }
  if (typeof code !== 'number') {
    const failure = transportFailure(error)!
    return new ToolkitError('KUBE_UNREACHABLE', `cannot ${action} ${what}: Kubernetes API unreachable${at}: ${failure.reason}`, {hint: failure.hint})
  }
  switch (code) {
    case 401:
      return new ToolkitError('KUBE_UNAUTHORIZED', `cannot ${action} ${what}: the Kubernetes API server${at} rejected the credentials (401)`, {
        hint: 'Refresh the kubeconfig credentials for this context.',
      })
    case 403:
      return new ToolkitError('KUBE_FORBIDDEN', `cannot ${action} ${what}: forbidden (403)${serverMessage ? `: ${serverMessage}` : ''}`, {
        hint: `Grant this identity RBAC to ${action} ${target.kind} objects${target.namespace ? ` in namespace ${target.namespace}` : ''}.`,
      })
    case 404:
      return new ToolkitError('KUBE_NOT_FOUND', `cannot ${action} ${what}: not found (404)${serverMessage ? `: ${serverMessage}` : ''}`, {
        hint: target.namespace ? `Does namespace ${target.namespace} exist?` : undefined,
      })
    case 409:
      return new ToolkitError('KUBE_CONFLICT', `cannot ${action} ${what}: conflict (409)${serverMessage ? `: ${serverMessage}` : ''}`, {
        hint: 'Another field manager owns these fields; re-run with --overwrite to take them over, or resolve the conflict.',
      })
    case 422:
      return new ToolkitError('KUBE_INVALID', `cannot ${action} ${what}: rejected as invalid (422)${serverMessage ? `: ${serverMessage}` : ''}`)
    case 502:
    case 503:
    case 504:
      return new ToolkitError('KUBE_UNAVAILABLE', `cannot ${action} ${what}: the Kubernetes API server${at} is unavailable (HTTP ${code})${serverMessage ? `: ${serverMessage}` : ''}`, {
        hint: 'The server (or a proxy in front of it) answered but cannot serve now: check its health, then re-run.',
      })
    default:
      return new ToolkitError('KUBE_ERROR', `cannot ${action} ${what}: HTTP ${code} from the Kubernetes API server${at}${serverMessage ? `: ${serverMessage}` : ''}`)
  }
}

function parseBody(body: unknown): {message?: unknown; reason?: unknown} | undefined {
  if (typeof body === 'string') {
    try {
      return JSON.parse(body)
    } catch {
      return undefined
    }
  }
  return body as {message?: unknown} | undefined
}
