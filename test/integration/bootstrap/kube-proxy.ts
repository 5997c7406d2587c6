// A cut-able path to the real kube-apiserver: the CLI talks plain HTTP to
// this proxy on loopback, which forwards each request over TLS to the API
// server. Seeing the requests lets a test make Kubernetes unreachable at an
// exact point (e.g. right after one Secret was written), and reachable again.
import http from 'node:http'
import https from 'node:https'
import type {Socket} from 'node:net'
import {readFileSync, writeFileSync} from 'node:fs'

import * as k8s from '@kubernetes/client-node'
import {stringify} from 'yaml'

export interface KubeProxy {
  /** A kubeconfig that goes through the proxy (same user and token). */
  kubeconfig: string
  /** Once a request matching this has been answered, everything after it fails as if the API server were gone. */
  cutAfter(match: (method: string, path: string) => boolean): void
  /** Whether the cut happened. */
  readonly isCut: boolean
  restore(): void
  close(): Promise<void>
}

export async function startKubeProxy(kubeconfigPath: string, kubeconfigOut: string): Promise<KubeProxy> {
  const config = new k8s.KubeConfig()
  config.loadFromFile(kubeconfigPath)
  const cluster = config.getCurrentCluster()!
  const user = config.getCurrentUser()!
  const upstream = new URL(cluster.server)
  const ca = cluster.caData ? Buffer.from(cluster.caData, 'base64') : cluster.caFile ? readFileSync(cluster.caFile) : undefined
  const sockets = new Set<Socket>()
  let cut = false
  let trigger: ((method: string, path: string) => boolean) | undefined

  const server = http.createServer((request, response) => {
    if (cut) {
      request.socket.destroy()
      return
    }
    const method = request.method ?? 'GET'
    const path = request.url ?? '/'
    const forward = https.request(
      {protocol: 'https:', hostname: upstream.hostname, port: upstream.port, method, path, headers: {...request.headers, host: upstream.host}, ca},
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(response)
        answer.on('end', () => {
          if (trigger?.(method, path)) {
            trigger = undefined
            // After this answer is delivered: every later request meets a dead server.
            response.on('finish', () => {
              cut = true
              for (const socket of sockets) socket.destroy()
            })
          }
        })
      },
    )
    forward.on('error', () => request.socket.destroy())
    request.pipe(forward)
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    if (cut) socket.destroy()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as {port: number}).port

  writeFileSync(
    kubeconfigOut,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      // client-node refuses plain HTTP unless TLS verification is off; the proxy verifies the API server itself.
      clusters: [{name: 'proxy', cluster: {server: `http://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true}}],
      users: [{name: 'proxy', user: {token: user.token}}],
      contexts: [{name: 'proxy', context: {cluster: 'proxy', user: 'proxy'}}],
      'current-context': 'proxy',
    }),
    {mode: 0o600},
  )

  return {
    kubeconfig: kubeconfigOut,
    cutAfter(match) {
      trigger = match
    },
    get isCut() {
      return cut
    },
    restore() {
      cut = false
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}
