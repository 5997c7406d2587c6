// A fault-injecting HTTP proxy on loopback, for tests that put a misbehaving
// network between the toolkit and a real server (a Vault, a kube-apiserver):
//
//   const proxy = await startFaultProxy({upstream: 'http://127.0.0.1:8200'})
//   proxy.set({htmlOnRead: 0.3})               // 30% of GET/LIST answered 200 + an HTML page (htmlStatus: 404 for a "not found" page)
//   proxy.set({dropWriteResponse: 1})          // writes reach the server, their answers are lost
//   proxy.set({failRate: 0.2, failWith: 'reset'})   // 20% of requests: connection reset
//   proxy.set({failEvery: 5, failWith: 503})   // every 5th request: HTTP 503
//   proxy.set({freeze: true})                  // accept, never answer
//   proxy.set({beforeForward: async (request) => {…}})   // act (e.g. delete a key) just before a request goes on
//   proxy.counts                                // what it did, per kind
//   await proxy.close()
//
// Rules change at runtime (set() replaces them, reset() clears them) and may
// be limited to some requests with `match`. Randomness is seeded, so a run
// is repeatable. Bodies pass through untouched and are never logged.
import {type IncomingMessage, request as httpRequest, type Server, type ServerResponse, createServer, Agent} from 'node:http'
import type {AddressInfo, Socket} from 'node:net'

export interface ProxiedRequest {
  method: string
  /** Path and query, as the client sent them (e.g. /v1/secret/data/app?list=true). */
  path: string
}

export interface FaultRules {
  /** Only requests this accepts are subject to the faults below (default: all). */
  match?: (request: ProxiedRequest) => boolean
  /** Fraction (0–1) of GET requests (reads and LISTs) answered `200` with an HTML page, without reaching the server. */
  htmlOnRead?: number
  /** The status of those HTML answers (default 200; e.g. 404 for a proxy's "not found" page). */
  htmlStatus?: number
  /** Fraction of writes (POST, PUT, PATCH, DELETE) forwarded, answered by the server, then cut: the client never sees the answer. */
  dropWriteResponse?: number
  /** Fraction of requests failed with `failWith`, without reaching the server. */
  failRate?: number
  /** Every Nth request (counted over the matching ones) failed with `failWith`. */
  failEvery?: number
  /** How a failed request fails: `reset` (the connection is destroyed) or an HTTP status (with Vault's JSON error body). Default 503. */
  failWith?: 'reset' | number
  /** Accept requests and never answer them (like a SIGSTOPped server behind a load balancer). */
  freeze?: boolean
  /** Runs before a matching request is forwarded (after the faults that answer without forwarding). */
  beforeForward?: (request: ProxiedRequest) => Promise<void> | void
}

export interface FaultCounts {
  /** Requests received. */
  requests: number
  /** Forwarded to the server and answered to the client. */
  forwarded: number
  html: number
  droppedResponses: number
  failedStatus: number
  failedReset: number
  frozen: number
  hooks: number
}

export interface FaultProxy {
  /** http://127.0.0.1:PORT */
  readonly url: string
  readonly counts: FaultCounts
  /** Replaces the rules (and restarts the failEvery count). */
  set(rules: FaultRules): void
  /** No faults: a transparent proxy, counts back to zero. Frozen requests' connections are closed. */
  reset(): void
  close(): Promise<void>
}

const HTML = '<!DOCTYPE html><html><head><title>Service Unavailable</title></head><body><h1>Please wait</h1><p>Checking your browser…</p></body></html>'

/** mulberry32: a small seeded generator, so a failing run can be repeated. */
function seeded(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

const zeroCounts = (): FaultCounts => ({requests: 0, forwarded: 0, html: 0, droppedResponses: 0, failedStatus: 0, failedReset: 0, frozen: 0, hooks: 0})

export async function startFaultProxy(options: {upstream: string; rules?: FaultRules; seed?: number}): Promise<FaultProxy> {
  const upstream = new URL(options.upstream)
  const random = seeded(options.seed ?? 1)
  const agent = new Agent({keepAlive: true, maxSockets: 64})
  const sockets = new Set<Socket>()
  const frozen = new Set<ServerResponse>()
  let rules: FaultRules = options.rules ?? {}
  let matching = 0
  const counts = zeroCounts()

  const fail = (response: ServerResponse, how: 'reset' | number) => {
    if (how === 'reset') {
      counts.failedReset++
      response.socket?.destroy()
      return
    }
    counts.failedStatus++
    const body = JSON.stringify({errors: [`injected failure ${how}`]})
    response.writeHead(how, {'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body)})
    response.end(body)
  }

  const forward = (request: IncomingMessage, response: ServerResponse, body: Buffer, dropAnswer: boolean) => {
    const headers = {...request.headers, host: upstream.host}
    const outgoing = httpRequest(
      {protocol: upstream.protocol, hostname: upstream.hostname, port: upstream.port, method: request.method, path: request.url, headers, agent},
      (answer) => {
        const chunks: Buffer[] = []
        answer.on('data', (chunk: Buffer) => chunks.push(chunk))
        answer.on('end', () => {
          if (dropAnswer) {
            // The server has applied and answered the request; the client never hears of it.
            counts.droppedResponses++
            response.socket?.destroy()
            return
          }
          counts.forwarded++
          const payload = Buffer.concat(chunks)
          const answerHeaders = {...answer.headers}
          delete answerHeaders['transfer-encoding']
          delete answerHeaders.connection
          answerHeaders['content-length'] = String(payload.length)
          response.writeHead(answer.statusCode ?? 502, answerHeaders)
          response.end(payload)
        })
        answer.on('error', () => response.socket?.destroy())
      },
    )
    outgoing.on('error', () => response.socket?.destroy())
    outgoing.end(body)
  }

  const handle = async (request: IncomingMessage, response: ServerResponse, body: Buffer) => {
    counts.requests++
    const proxied: ProxiedRequest = {method: request.method ?? 'GET', path: request.url ?? '/'}
    const active = rules
    if (active.match && !active.match(proxied)) {
      forward(request, response, body, false)
      return
    }
    matching++
    if (active.freeze) {
      counts.frozen++
      frozen.add(response)
      response.on('close', () => frozen.delete(response))
      return
    }
    const failWith = active.failWith ?? 503
    if (active.failEvery && matching % active.failEvery === 0) {
      fail(response, failWith)
      return
    }
    if (active.failRate && random() < active.failRate) {
      fail(response, failWith)
      return
    }
    const isRead = proxied.method === 'GET' || proxied.method === 'LIST'
    if (isRead && active.htmlOnRead && random() < active.htmlOnRead) {
      counts.html++
      response.writeHead(active.htmlStatus ?? 200, {'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(HTML)})
      response.end(HTML)
      return
    }
    if (active.beforeForward) {
      counts.hooks++
      await active.beforeForward(proxied)
    }
    const dropAnswer = !isRead && active.dropWriteResponse !== undefined && random() < active.dropWriteResponse
    forward(request, response, body, dropAnswer)
  }

  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      handle(request, response, Buffer.concat(chunks)).catch(() => response.socket?.destroy())
    })
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const {port} = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    set(next) {
      rules = next
      matching = 0
    },
    reset() {
      rules = {}
      matching = 0
      for (const response of frozen) response.socket?.destroy()
      frozen.clear()
      Object.assign(counts, zeroCounts())
    },
    async close() {
      for (const socket of sockets) socket.destroy()
      agent.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
