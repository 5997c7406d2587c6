// A Pushgateway-compatible receiver on loopback: it answers the push API
// (PUT/POST/DELETE /metrics/job/<job>{/<label>/<value>}) as the Prometheus
// Pushgateway does (200) and records every request, so a test can parse what
// a command pushed. `failWith` makes it answer every push with that status.
import http from 'node:http'
import type {AddressInfo} from 'node:net'

export interface Push {
  method: string
  /** The path as sent, e.g. /metrics/job/secrets-toolkit/command/status. */
  path: string
  /** The grouping key parsed from the path: job and every label pair. */
  grouping: Record<string, string>
  contentType?: string
  body: string
}

export interface PushReceiver {
  url: string
  pushes: Push[]
  failWith: number | undefined
  close(): Promise<void>
}

export async function startPushReceiver(): Promise<PushReceiver> {
  const pushes: Push[] = []
  const receiver: Partial<PushReceiver> = {pushes, failWith: undefined}
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const path = request.url ?? ''
      const parts = path.split('/').filter(Boolean).map(decodeURIComponent)
      if (parts[0] !== 'metrics' || parts[1] !== 'job' || parts.length % 2 !== 1) {
        response.writeHead(404).end('not the push API')
        return
      }
      const grouping: Record<string, string> = {}
      for (let index = 1; index < parts.length; index += 2) grouping[parts[index]] = parts[index + 1]
      pushes.push({method: request.method ?? '', path, grouping, contentType: request.headers['content-type'], body: Buffer.concat(chunks).toString('utf8')})
      if (receiver.failWith) response.writeHead(receiver.failWith).end('failing on purpose')
      else response.writeHead(200).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  receiver.close = () => new Promise<void>((resolve) => server.close(() => resolve()))
  return receiver as PushReceiver
}
