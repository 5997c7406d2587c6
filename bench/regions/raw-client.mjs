#!/usr/bin/env node
// The ceiling for `verify regions`: the same requests it makes — LIST every
// folder, then GET metadata/<key> and GET data/<key> for every key, in both
// regions at once — from a minimal keep-alive HTTP client with the same
// number of requests in flight per region. It parses only the LIST bodies
// (it must, to find the keys) and throws every other body away unread.
//
//   RAW_TOKENS='["tokA","tokB"]' node bench/regions/raw-client.mjs --addr http://127.0.0.1:8200 --addr http://127.0.0.1:8201 [--concurrency 16] [--mount secret]
// Tokens come from the environment (never arguments). Prints one JSON line.
import http from 'node:http'
import {pathToFileURL} from 'node:url'

function limiter(size) {
  let active = 0
  const queue = []
  const next = () => {
    if (active >= size || queue.length === 0) return
    active++
    const {task, resolve, reject} = queue.shift()
    task()
      .then(resolve, reject)
      .finally(() => {
        active--
        next()
      })
  }
  return (task) =>
    new Promise((resolve, reject) => {
      queue.push({task, resolve, reject})
      next()
    })
}

function request(agent, address, token, method, path, wantBody) {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(`/v1/${path}`, address), {method, agent, headers: {'X-Vault-Token': token}}, (res) => {
      if (!wantBody) {
        res.resume()
        res.on('end', () => resolve(res.statusCode))
        return
      }
      const chunks = []
      res.on('data', (chunk) => chunks.push(chunk))
      res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))))
    })
    req.on('error', reject)
    req.end()
  })
}

const encode = (key) => key.split('/').map(encodeURIComponent).join('/')

/** Walks one region: folders breadth-first, each key's metadata and data as soon as it is listed. */
export async function rawWalk({address, token, mount = 'secret', concurrency = 16, prefix = ''}) {
  const agent = new http.Agent({keepAlive: true, maxSockets: concurrency})
  const limit = limiter(concurrency)
  let requests = 0
  let keys = 0
  const pending = []
  const walk = async (folder) => {
    requests++
    const body = await limit(() => request(agent, address, token, 'GET', `${mount}/metadata/${encode(folder)}?list=true`, true))
    const children = []
    for (const entry of body?.data?.keys ?? []) {
      if (entry.endsWith('/')) {
        children.push(walk(`${folder}${entry}`))
      } else {
        const key = `${folder}${entry}`
        keys++
        requests += 2
        pending.push(limit(() => request(agent, address, token, 'GET', `${mount}/metadata/${encode(key)}`, false)))
        pending.push(limit(() => request(agent, address, token, 'GET', `${mount}/data/${encode(key)}`, false)))
      }
    }
    await Promise.all(children)
  }
  await walk(prefix)
  await Promise.all(pending)
  agent.destroy()
  return {keys, requests}
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const argv = process.argv.slice(2)
  const addresses = argv.flatMap((arg, i) => (arg === '--addr' ? [argv[i + 1]] : []))
  const option = (name, fallback) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : fallback)
  const tokens = JSON.parse(process.env.RAW_TOKENS ?? '[]')
  const started = performance.now()
  const results = await Promise.all(addresses.map((address, i) => rawWalk({address, token: tokens[i], mount: option('mount', 'secret'), concurrency: Number(option('concurrency', '16'))})))
  console.log(JSON.stringify({ms: Math.round(performance.now() - started), regions: results}))
}
