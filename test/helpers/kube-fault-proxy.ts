// A loopback proxy in front of the shared kube-apiserver that can make the API
// "die" at an exact point — after the Nth matching request was answered —
// without touching the real server, which other test files use at the same
// time. The CLI talks plain HTTP to the proxy (a kubeconfig it writes); the
// proxy forwards each request over TLS with the CA of the real kubeconfig.
import http from 'node:http'
import https from 'node:https'
import type {Socket} from 'node:net'
import {readFileSync, writeFileSync} from 'node:fs'

import * as k8s from '@kubernetes/client-node'
import {stringify} from 'yaml'

export interface KubeFaultProxy {
  /** A kubeconfig that goes through the proxy (same user and token). */
  kubeconfig: string
  /** The address the CLI sees, as it should appear in messages. */
  server: string
  /**
   * After `count` requests matching `match` have been answered, every later
   * request (and every open connection) is dropped, as when the API server
   * process dies.
   */
  dieAfter(count: number, match: (method: string, path: string) => boolean): void
  /** Requests seen so far (method and path, never bodies). */
  readonly requests: {method: string; path: string}[]
  readonly dead: boolean
  revive(): void
  close(): Promise<void>
}

export async function startKubeFaultProxy(kubeconfigPath: string, kubeconfigOut: string): Promise<KubeFaultProxy> {
  const config = new k8s.KubeConfig()
  config.loadFromFile(kubeconfigPath)
  const cluster = config.getCurrentCluster()!
  const user = config.getCurrentUser()!
  const upstream = new URL(cluster.server)
  const ca = cluster.caData ? Buffer.from(cluster.caData, 'base64') : cluster.caFile ? readFileSync(cluster.caFile) : undefined
  const sockets = new Set<Socket>()
  const requests: {method: string; path: string}[] = []
  let dead = false
  let rule: {left: number; match: (method: string, path: string) => boolean} | undefined

  const die = () => {
    dead = true
    for (const socket of sockets) socket.destroy()
  }

  const server = http.createServer((request, response) => {
    if (dead) {
      request.socket.destroy()
      return
    }
    const method = request.method ?? 'GET'
    const path = request.url ?? '/'
    requests.push({method, path})
    const counts = rule?.match(method, path) ?? false
    const forward = https.request(
      {protocol: 'https:', hostname: upstream.hostname, port: upstream.port, method, path, headers: {...request.headers, host: upstream.host}, ca},
      (answer) => {
        if (dead) {
          request.socket.destroy()
          answer.resume()
          return
        }
        response.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(response)
        if (counts && rule) {
          rule.left -= 1
          // Once this answer reached the client: the server is gone for everything after it.
          if (rule.left <= 0) {
            rule = undefined
            response.on('finish', die)
          }
        }
      },
    )
    forward.on('error', () => request.socket.destroy())
    request.pipe(forward)
  })
  server.on('connection', (socket) => {
    if (dead) {
      socket.destroy()
      return
    }
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = `http://127.0.0.1:${(server.address() as {port: number}).port}`

  writeFileSync(
    kubeconfigOut,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      // client-node refuses plain HTTP unless TLS verification is off; the proxy verifies the API server itself.
      clusters: [{name: 'fault-proxy', cluster: {server: address, 'insecure-skip-tls-verify': true}}],
      users: [{name: 'fault-proxy', user: {token: user.token}}],
      contexts: [{name: 'fault-proxy', context: {cluster: 'fault-proxy', user: 'fault-proxy'}}],
      'current-context': 'fault-proxy',
    }),
    {mode: 0o600},
  )

  return {
    kubeconfig: kubeconfigOut,
    server: address,
    requests,
    dieAfter(count, match) {
      rule = {left: count, match}
    },
    get dead() {
      return dead
    },
    revive() {
      dead = false
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}
