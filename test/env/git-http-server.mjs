// Serves the bare Git repositories under a directory over Git's smart HTTP
// protocol, without authentication, on a loopback port: `git http-backend`
// (Git's own CGI program) behind a minimal CGI bridge. Flux's source-controller
// clones with go-git, which speaks only the smart protocol, so a static file
// server ("dumb" HTTP) would not do.
//
// Usage: node git-http-server.mjs ROOT PORT
// Logs one line per request to stdout; started and stopped by test/env/flux.ts.
import {spawn} from 'node:child_process'
import http from 'node:http'

const [root, portText] = process.argv.slice(2)
const port = Number.parseInt(portText ?? '', 10)
if (!root || !Number.isInteger(port)) {
  process.stderr.write('usage: node git-http-server.mjs ROOT PORT\n')
  process.exit(2)
}

/** The CGI variables git http-backend reads (RFC 3875, and Git's own GIT_PROTOCOL). */
function cgiEnvironment(request, url) {
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/',
    GIT_PROJECT_ROOT: root,
    // Serve every repository under ROOT without a git-daemon-export-ok file in each.
    GIT_HTTP_EXPORT_ALL: '1',
    GATEWAY_INTERFACE: 'CGI/1.1',
    SERVER_PROTOCOL: `HTTP/${request.httpVersion}`,
    REQUEST_METHOD: request.method ?? 'GET',
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.slice(1),
    REMOTE_ADDR: request.socket.remoteAddress ?? '127.0.0.1',
    CONTENT_TYPE: request.headers['content-type'] ?? '',
  }
  // Without CONTENT_LENGTH, http-backend reads the body until end of file (a chunked request).
  if (request.headers['content-length']) env.CONTENT_LENGTH = request.headers['content-length']
  if (request.headers['content-encoding']) env.HTTP_CONTENT_ENCODING = request.headers['content-encoding']
  if (request.headers['git-protocol']) env.GIT_PROTOCOL = request.headers['git-protocol']
  return env
}

/** Splits a CGI response into its header block and the start of its body. */
function splitHeaders(buffer) {
  for (const separator of ['\r\n\r\n', '\n\n']) {
    const at = buffer.indexOf(separator)
    if (at !== -1) return {head: buffer.subarray(0, at).toString('latin1'), body: buffer.subarray(at + separator.length)}
  }
  return undefined
}

const server = http.createServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://127.0.0.1')
  const backend = spawn('git', ['http-backend'], {env: cgiEnvironment(request, url), stdio: ['pipe', 'pipe', 'pipe']})
  const log = (status) => process.stdout.write(`${new Date().toISOString()} ${request.method} ${url.pathname}${url.search} ${status}\n`)
  backend.stderr.on('data', (chunk) => process.stdout.write(`http-backend: ${chunk}`))
  backend.stdin.on('error', () => {})
  request.pipe(backend.stdin)

  let pending = Buffer.alloc(0)
  let headersSent = false
  backend.stdout.on('data', (chunk) => {
    if (headersSent) {
      response.write(chunk)
      return
    }
    pending = Buffer.concat([pending, chunk])
    const parts = splitHeaders(pending)
    if (!parts) return
    let status = 200
    for (const line of parts.head.split(/\r?\n/)) {
      const colon = line.indexOf(':')
      if (colon === -1) continue
      const name = line.slice(0, colon).trim()
      const value = line.slice(colon + 1).trim()
      if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 500
      else response.setHeader(name, value)
    }
    response.writeHead(status)
    headersSent = true
    log(status)
    if (parts.body.length > 0) response.write(parts.body)
  })
  backend.on('close', (code) => {
    if (!headersSent) {
      log(`502 (http-backend exited with ${code} before its headers)`)
      response.writeHead(502).end()
      return
    }
    response.end()
  })
  backend.on('error', (error) => {
    log(`500 (${error.message})`)
    if (!headersSent) response.writeHead(500)
    response.end()
  })
})

server.listen(port, '127.0.0.1', () => process.stdout.write(`serving ${root} on http://127.0.0.1:${port}/\n`))
// Clones in flight do not matter to a test that is stopping the server.
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0))
