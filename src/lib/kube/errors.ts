import {ToolkitError} from '../errors/errors.js'

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
 * Turns a client-node failure into a message an operator can act on. Only the
 * Status `reason` and `message` survive (they name fields, not values) — the
 * raw exception text embeds whole response bodies.
 */
export function kubeError(action: string, target: KubeTarget, error: unknown): ToolkitError {
  const code = (error as {code?: number | string}).code
  const body = parseBody((error as {body?: unknown}).body)
  const serverMessage = typeof body?.message === 'string' ? body.message.slice(0, 400) : undefined
  const what = describeTarget(target)
  const missingKind = /Failed to fetch resource metadata|Unrecognized API version and kind/.test((error as Error)?.message ?? '')
  if (missingKind) {
    const eso = ['PushSecret', 'ClusterSecretStore', 'ExternalSecret', 'Password'].includes(target.kind)
    return new ToolkitError('CRD_MISSING', `${target.kind} CRD is not installed${eso ? ': install External Secrets Operator' : ''}`, {
      hint: eso ? 'Install ESO (its CRDs include external-secrets.io/v1alpha1 PushSecret) and re-run.' : 'Install the CRD that defines this kind.',
    })
  }
  if (typeof code !== 'number') {
    return new ToolkitError('KUBE_UNREACHABLE', `cannot ${action} ${what}: Kubernetes API unreachable (${String(code ?? (error as Error).message ?? 'unknown')})`, {
      hint: 'Check the kubeconfig, the context (--context / kubernetes.context) and that the API server is running.',
      cause: undefined,
    })
  }
  switch (code) {
    case 401:
      return new ToolkitError('KUBE_UNAUTHORIZED', `cannot ${action} ${what}: the Kubernetes credentials were rejected (401)`, {
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
    default:
      return new ToolkitError('KUBE_ERROR', `cannot ${action} ${what}: HTTP ${code}${serverMessage ? `: ${serverMessage}` : ''}`)
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
