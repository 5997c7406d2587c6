import {createServer} from 'node:net'
import http from 'node:http'
import https from 'node:https'

/** Ports the kernel has just handed out on 127.0.0.1; held together so that none is returned twice. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      {length: count},
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer()
          server.once('error', reject)
          server.listen(0, '127.0.0.1', () => resolve(server))
        }),
    ),
  )
  const ports = servers.map((server) => {
    const address = server.address()
    if (address === null || typeof address === 'string') throw new Error('no TCP address')
    return address.port
  })
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))))
  return ports
}

export interface HttpAnswer {
  status: number
  body: string
}

/** One GET with a short timeout; a refused connection rejects. */
export function httpGet(url: string, options: {headers?: Record<string, string>; ca?: string | Buffer; timeoutMs?: number} = {}): Promise<HttpAnswer> {
  const target = new URL(url)
  const transport = target.protocol === 'https:' ? https : http
  return new Promise((resolve, reject) => {
    const request = transport.request(target, {method: 'GET', headers: options.headers, ca: options.ca, timeout: options.timeoutMs ?? 2000, agent: false}, (response) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('end', () => resolve({status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8')}))
      response.on('error', reject)
    })
    request.on('timeout', () => request.destroy(new Error(`GET ${url} timed out`)))
    request.on('error', reject)
    request.end()
  })
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Polls `check` until it returns a value other than undefined. On timeout the
 * error names what was awaited and the last reason it was not yet true.
 */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, options: {timeoutMs: number; intervalMs?: number; abort?: () => string | undefined}): Promise<T> {
  const deadline = Date.now() + options.timeoutMs
  let lastReason = 'not yet checked'
  for (;;) {
    const aborted = options.abort?.()
    if (aborted) throw new Error(`${what}: ${aborted}`)
    try {
      const value = await check()
      if (value !== undefined) return value
      lastReason = 'not ready'
    } catch (error) {
      lastReason = (error as Error).message
    }
    if (Date.now() >= deadline) throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${what} (last: ${lastReason})`)
    await sleep(options.intervalMs ?? 200)
  }
}
