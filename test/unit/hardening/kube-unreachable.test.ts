// Kubernetes that cannot be reached must read as unreachable — naming the
// server and what failed — and never as a missing CRD.
// Real client-node requests against loopback sockets; no server is mocked.
import {mkdtempSync, writeFileSync} from 'node:fs'
import net from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {isToolkitError, type ToolkitError} from '../../../src/lib/errors/errors.js'
import {PUSH_SECRET_API_VERSION} from '../../../src/lib/eso/api.js'
import {KubeClient} from '../../../src/lib/kube/client.js'
import {isMissingKind, kubeError} from '../../../src/lib/kube/errors.js'

const dir = mkdtempSync(join(tmpdir(), 'kube-unreachable-'))

function kubeconfigFor(server: string): string {
  const file = join(dir, `kubeconfig-${Math.random().toString(36).slice(2)}`)
  writeFileSync(
    file,
    `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "${server}"}}]\nusers: [{name: u, user: {token: not-a-real-token}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n`,
  )
  return file
}

async function closedPort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as net.AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

async function failure(work: () => Promise<unknown>): Promise<ToolkitError> {
  try {
    await work()
  } catch (error) {
    if (isToolkitError(error)) return error
    throw error
  }
  throw new Error('expected a failure')
}

describe('Kubernetes unreachable is reported as unreachable', () => {
  let port: number
  let kube: KubeClient
  beforeAll(async () => {
    port = await closedPort()
    kube = KubeClient.connect({kubeconfig: kubeconfigFor(`https://127.0.0.1:${port}`)})
  })

  // Every call the migrate and bootstrap paths make first.
  const calls: [string, (k: KubeClient) => Promise<unknown>][] = [
    ['list Secrets by label (migrate verify)', (k) => k.list('v1', 'Secret', {labelSelector: 'secrets-toolkit.io/migrated-from'})],
    ['list PushSecrets (the old "CRD is not installed")', (k) => k.list(PUSH_SECRET_API_VERSION, 'PushSecret', {namespace: 'x'})],
    ['read a ClusterSecretStore', (k) => k.read('external-secrets.io/v1', 'ClusterSecretStore', 'vault-region1')],
    ['read the PushSecret CRD (migrate sops pre-flight)', (k) => k.crdInstalled('pushsecrets.external-secrets.io')],
    ['read a Secret (bootstrap)', (k) => k.getSecret('flux-system', 'git')],
    ['apply a ConfigMap', (k) => k.apply({apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'x', namespace: 'y'}})],
  ]
  test.each(calls)('%s', async (_name, call) => {
    const error = await failure(() => call(kube))
    expect(error.code).toBe('KUBE_UNREACHABLE')
    expect(error.message).toContain(`https://127.0.0.1:${port}`)
    expect(error.message).toContain('connection refused (ECONNREFUSED)')
    expect(error.message).not.toMatch(/CRD/)
    expect(error.hint).toMatch(/kubeconfig/)
  })

  test('a TLS failure says TLS, naming the server', async () => {
    // A plain TCP server that answers a TLS handshake with HTTP text.
    const server = net.createServer((socket) => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const {port: tlsPort} = server.address() as net.AddressInfo
    try {
      const error = await failure(() => KubeClient.connect({kubeconfig: kubeconfigFor(`https://127.0.0.1:${tlsPort}`)}).list('v1', 'Secret'))
      expect(error.code).toBe('KUBE_UNREACHABLE')
      expect(error.message).toContain(`https://127.0.0.1:${tlsPort}`)
      expect(error.message).toMatch(/TLS failed \(/)
    } finally {
      server.close()
    }
  })

  test('a server that accepts and never answers times out, naming the server', async () => {
    const silent = net.createServer(() => undefined)
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const {port: silentPort} = silent.address() as net.AddressInfo
    try {
      const client = new KubeClient(KubeClient.connect({kubeconfig: kubeconfigFor(`https://127.0.0.1:${silentPort}`)}).config, {requestTimeoutMs: 300})
      const started = Date.now()
      const error = await failure(() => client.list('v1', 'Secret', {labelSelector: 'secrets-toolkit.io/migrated-from'}))
      expect(Date.now() - started).toBeLessThan(10_000)
      expect(error.code).toBe('KUBE_UNREACHABLE')
      expect(error.message).toContain(`Kubernetes API unreachable at https://127.0.0.1:${silentPort}: timed out (no answer within the request timeout)`)
    } finally {
      silent.close()
    }
  })

  test('the address is shown without credentials', () => {
    const error = kubeError('list', {kind: 'Secret'}, Object.assign(new Error('request to https://admin:hunter2@k8s.example:6443/api/v1 failed'), {code: 'ECONNREFUSED'}), 'https://admin:hunter2@k8s.example:6443')
    expect(error.message).toContain('https://***@k8s.example:6443')
    expect(error.message).not.toContain('hunter2')
  })

  test('timeouts, resets and unknown host names are named', () => {
    const reason = (code: string) => kubeError('list', {kind: 'Secret'}, Object.assign(new Error('x'), {code}), 'https://k8s.example:6443').message
    expect(reason('ETIMEDOUT')).toMatch(/timed out \(ETIMEDOUT\)/)
    expect(reason('ECONNRESET')).toMatch(/connection closed .*\(ECONNRESET\)/)
    expect(reason('ENOTFOUND')).toMatch(/host name not found \(ENOTFOUND\)/)
    expect(kubeError('list', {kind: 'Secret'}, Object.assign(new Error('The operation was aborted.'), {name: 'AbortError', type: 'aborted'}), 'https://k8s.example:6443').message).toMatch(/timed out/)
  })

  test('a missing API group is still a missing CRD (404 from discovery), anything else is not', () => {
    const notFound = Object.assign(new Error('Failed to fetch resource metadata for external-secrets.io/v1alpha1/PushSecret: HTTP-Code: 404'), {code: 404})
    expect(isMissingKind(notFound)).toBe(true)
    expect(kubeError('list', {kind: 'PushSecret'}, notFound, 'https://k8s.example:6443').code).toBe('CRD_MISSING')
    expect(isMissingKind(new Error('Unrecognized API version and kind: external-secrets.io/v1alpha1 PushSecret'))).toBe(true)
    const refused = Object.assign(new Error('Failed to fetch resource metadata for v1/Secret: request to https://x/api/v1 failed, reason: connect ECONNREFUSED'), {code: 'ECONNREFUSED'})
    expect(isMissingKind(refused)).toBe(false)
  })

  test('HTTP 503 from the server (or a proxy) is "unavailable", naming the server', () => {
    const error = kubeError('apply', {kind: 'Secret', namespace: 'a', name: 'b'}, Object.assign(new Error('HTTP-Code: 503'), {code: 503, body: '{"message":"etcdserver: leader changed"}'}), 'https://k8s.example:6443')
    expect(error.code).toBe('KUBE_UNAVAILABLE')
    expect(error.message).toContain('https://k8s.example:6443')
  })
})
