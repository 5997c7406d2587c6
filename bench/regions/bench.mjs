#!/usr/bin/env node
// Benchmark for `secrets verify regions` (issue 7). Run after `npm run build`:
//   node bench/regions/bench.mjs [--keys 10000] [--sample 200] [--concurrency 16] [--runs 3] [--work DIR]
// Starts two Vault-API servers of its own (Raft storage, the `bao` test
// binary or $BAO_BIN), writes --keys identical secrets to each (3 properties,
// in a team/app/secret tree, 5 planted differences), then measures:
//   1. `secrets verify regions --json` end to end (a fresh CLI process, median of --runs);
//   2. the shell loop an operator would write: `bao kv get -mount=secret -format=json KEY`
//      for each key on both sides — timed on --sample keys and extrapolated;
//   3. the ceiling: the same LIST/GET requests from a minimal keep-alive HTTP
//      client (raw-client.mjs) at the same concurrency, also as a fresh process;
// and, in-process (no CLI start-up), compareRegions() vs rawWalk(); then peak
// RSS of the CLI on --mem-keys keys with 100-byte vs --mem-value-bytes values
// (memory must follow the number of keys, not the size of the values).
// Prints a Markdown table; raw numbers go to bench/results/regions.json.
import {execFileSync, spawn} from 'node:child_process'
import {mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import {cpus, tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

import {rawWalk} from './raw-client.mjs'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const argv = process.argv.slice(2)
const opt = (name, fallback) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : fallback)
const KEYS = Number(opt('keys', '10000'))
const SAMPLE = Number(opt('sample', '200'))
const CONCURRENCY = Number(opt('concurrency', '16'))
const RUNS = Number(opt('runs', '3'))
const MEM_KEYS = Number(opt('mem-keys', '2000'))
const MEM_VALUE_BYTES = Number(opt('mem-value-bytes', String(32 * 1024)))
const work = opt('work', mkdtempSync(join(tmpdir(), 'verify-bench-')))

const {compareRegions} = await import(join(root, 'dist/lib/compare/compare.js'))
const {connectRegion} = await import(join(root, 'dist/lib/vault/connect.js'))
const {regionSchema} = await import(join(root, 'dist/lib/config/schema.js'))

function baoBinary() {
  if (process.env.BAO_BIN) return process.env.BAO_BIN
  const out = execFileSync(join(root, 'scripts/test-env/binaries.sh'), ['ensure', 'bao'], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit']})
  return out.split('\n').find((line) => line.startsWith('bao=')).slice(4)
}
const BAO = baoBinary()

const log = (message) => process.stderr.write(`[bench verify] ${message}\n`)
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = net.createServer()
    server.listen(0, '127.0.0.1', () => {
      const {port} = server.address()
      server.close(() => resolvePort(port))
    })
    server.on('error', reject)
  })
}

const agent = new http.Agent({keepAlive: true, maxSockets: 64})
function call(address, method, path, {token, body} = {}) {
  return new Promise((resolveCall, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body))
    const headers = {...(token ? {'X-Vault-Token': token} : {}), ...(payload ? {'Content-Type': 'application/json'} : {})}
    const req = http.request(new URL(`/v1/${path}`, address), {method, headers, agent}, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        resolveCall({status: res.statusCode, body: text ? JSON.parse(text) : undefined})
      })
    })
    req.on('error', reject)
    req.end(payload)
  })
}

async function until(what, probe, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      if (await probe()) return
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(100)
  }
}

/** A Raft-backed server, initialized (1 share), unsealed, KV v2 at secret/. */
async function startServer(name) {
  const home = join(work, name)
  mkdirSync(join(home, 'raft'), {recursive: true})
  const [port, clusterPort] = [await freePort(), await freePort()]
  const address = `http://127.0.0.1:${port}`
  writeFileSync(
    join(home, 'config.hcl'),
    `storage "raft" {\n  path = "${join(home, 'raft')}"\n  node_id = "${name}"\n  performance_multiplier = 1\n}\nlistener "tcp" {\n  address = "127.0.0.1:${port}"\n  cluster_address = "127.0.0.1:${clusterPort}"\n  tls_disable = 1\n}\napi_addr = "${address}"\ncluster_addr = "https://127.0.0.1:${clusterPort}"\ndisable_mlock = true\nui = false\nlog_level = "warn"\n`,
  )
  const child = spawn(BAO, ['server', `-config=${join(home, 'config.hcl')}`], {stdio: ['ignore', 'ignore', 'ignore'], detached: false})
  await until(`${name} to listen`, async () => (await call(address, 'GET', 'sys/health')).status > 0)
  const init = await call(address, 'PUT', 'sys/init', {body: {secret_shares: 1, secret_threshold: 1}})
  const token = init.body.root_token
  await call(address, 'PUT', 'sys/unseal', {body: {key: init.body.keys[0]}})
  await until(`${name} to become active`, async () => (await call(address, 'GET', 'sys/health')).status === 200)
  await call(address, 'POST', 'sys/mounts/secret', {token, body: {type: 'kv', options: {version: '2'}}})
  await until(`${name} KV v2 mount`, async () => (await call(address, 'GET', 'secret/config', {token})).status === 200)
  return {name, address, token, child}
}

const keyOf = (i) => `apps/team-${String(i % 50).padStart(2, '0')}/app-${(i >> 3) % 10}/secret-${i}`
const valuesOf = (i) => ({username: `svc-${i}`, password: `bench-password-${i}-${'x'.repeat(24)}`, url: `postgres://db-${i % 97}.internal:5432/app`})

async function seed(server, count, mutate, key = keyOf) {
  let next = 0
  const worker = async () => {
    for (let i = next++; i < count; i = next++) {
      const {status} = await call(server.address, 'POST', `secret/data/${key(i)}`, {token: server.token, body: {data: mutate(i)}})
      if (status !== 200) throw new Error(`seed ${server.name} ${key(i)}: HTTP ${status}`)
    }
  }
  await Promise.all(Array.from({length: 32}, worker))
}

function timeProcess(command, args, env) {
  const started = performance.now()
  const result = spawnSyncTimed(command, args, env)
  return {ms: performance.now() - started, ...result}
}

/** Peak resident set size (MiB) of a process, from GNU time's %M. */
function peakRss(command, args, env) {
  const marker = join(work, 'rss.txt')
  spawnSyncTimed('/usr/bin/time', ['-f', '%M', '-o', marker, command, ...args], env)
  return Number(readFileSync(marker, 'utf8').trim().split('\n').at(-1)) / 1024
}

function spawnSyncTimed(command, args, env) {
  try {
    const stdout = execFileSync(command, args, {env: {...process.env, ...env}, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe']})
    return {code: 0, stdout}
  } catch (error) {
    return {code: error.status, stdout: error.stdout ?? ''}
  }
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

const servers = []
try {
  log(`work dir ${work}; bao ${BAO}; ${cpus().length} CPUs; ${KEYS} keys per region`)
  servers.push(await startServer('bench-a'), await startServer('bench-b'))
  const [a, b] = servers
  const planted = new Set([11, 2222, 4444, 6666, 8888].filter((i) => i < KEYS))
  let started = performance.now()
  await Promise.all([seed(a, KEYS, valuesOf), seed(b, KEYS, (i) => (planted.has(i) ? {...valuesOf(i), password: 'drifted'} : valuesOf(i)))])
  log(`seeded ${2 * KEYS} secrets in ${((performance.now() - started) / 1000).toFixed(1)} s`)

  const configPath = join(work, 'secrets-toolkit.yaml')
  writeFileSync(
    configPath,
    `regions:\n${servers.map((s) => `  - name: ${s.name}\n    clusterSecretStore: vault-${s.name}\n    vault:\n      address: ${s.address}\n      maxConcurrency: ${CONCURRENCY}\n`).join('')}`,
  )
  const tokenEnv = {SECRETS_TOOLKIT_BENCH_A_VAULT_TOKEN: a.token, SECRETS_TOOLKIT_BENCH_B_VAULT_TOKEN: b.token}

  // Warm both servers' caches the same way for everyone.
  await rawWalk({address: a.address, token: a.token, concurrency: CONCURRENCY})
  await rawWalk({address: b.address, token: b.token, concurrency: CONCURRENCY})

  const cliRuns = []
  const rawRuns = []
  for (let run = 0; run < RUNS; run++) {
    const cli = timeProcess(process.execPath, [join(root, 'bin/run.js'), 'verify', 'regions', '--config', configPath, '--concurrency', String(CONCURRENCY), '--json'], tokenEnv)
    const report = JSON.parse(cli.stdout)
    if (cli.code !== 1 || report.keysCompared !== KEYS || report.differences.length !== planted.size) {
      throw new Error(`verify regions did not find the planted drift (exit ${cli.code}, ${report.keysCompared} keys, ${report.differences?.length} differences)`)
    }
    cliRuns.push(cli.ms)
    const raw = timeProcess(process.execPath, [join(root, 'bench/regions/raw-client.mjs'), '--addr', a.address, '--addr', b.address, '--concurrency', String(CONCURRENCY)], {RAW_TOKENS: JSON.stringify([a.token, b.token])})
    const rawReport = JSON.parse(raw.stdout)
    if (rawReport.regions.some((r) => r.keys !== KEYS)) throw new Error('raw client saw a different number of keys')
    rawRuns.push(raw.ms)
    log(`run ${run + 1}: verify regions ${(cli.ms / 1000).toFixed(2)} s, raw client ${(raw.ms / 1000).toFixed(2)} s`)
  }

  // In-process: the library against the raw walk, without any process start-up.
  const region = (s) => regionSchema.parse({name: s.name, clusterSecretStore: 'x', vault: {address: s.address, maxConcurrency: CONCURRENCY}})
  const libRuns = []
  const rawInRuns = []
  for (let run = 0; run < RUNS; run++) {
    const env = {...process.env, ...tokenEnv}
    const [va, vb] = [await connectRegion(region(a), {env}), await connectRegion(region(b), {env})]
    started = performance.now()
    const comparison = await compareRegions(va.store, vb.store, {concurrency: CONCURRENCY})
    libRuns.push(performance.now() - started)
    if (comparison.keysCompared !== KEYS) throw new Error('library compared a different number of keys')
    await va.close()
    await vb.close()
    started = performance.now()
    await Promise.all(servers.map((s) => rawWalk({address: s.address, token: s.token, concurrency: CONCURRENCY})))
    rawInRuns.push(performance.now() - started)
  }

  // The shell loop, on a sample of keys (one bao process per key and region).
  const sample = Array.from({length: Math.min(SAMPLE, KEYS)}, (_, i) => keyOf(Math.floor((i * KEYS) / Math.min(SAMPLE, KEYS))))
  const keysFile = join(work, 'sample-keys.txt')
  writeFileSync(keysFile, sample.join('\n') + '\n')
  const loop = `while IFS= read -r key; do "$BAO" kv get -mount=secret -format=json "$key" >/dev/null; done < "$KEYS_FILE"`
  let loopMs = 0
  for (const s of servers) {
    const timed = timeProcess('bash', ['-c', loop], {BAO, KEYS_FILE: keysFile, VAULT_ADDR: s.address, VAULT_TOKEN: s.token})
    if (timed.code !== 0) throw new Error(`the shell loop failed on ${s.name}`)
    loopMs += timed.ms
  }
  const loopPerKey = loopMs / sample.length
  const loopExtrapolated = loopPerKey * KEYS

  // Memory: the same number of keys with small and with large values.
  const cliArgs = (path) => [join(root, 'bin/run.js'), 'verify', 'regions', '--config', configPath, '--concurrency', String(CONCURRENCY), '--path', path, '--json']
  const small = (i) => ({password: `small-${i}-${'s'.repeat(90)}`})
  const large = (i) => ({password: `large-${i}-${'l'.repeat(MEM_VALUE_BYTES)}`})
  started = performance.now()
  for (const server of servers) {
    await seed(server, MEM_KEYS, small, (i) => `mem-small/k-${i}`)
    await seed(server, MEM_KEYS, large, (i) => `mem-large/k-${i}`)
  }
  log(`seeded the memory trees in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  const rssSmall = peakRss(process.execPath, cliArgs('mem-small'), tokenEnv)
  const rssLarge = peakRss(process.execPath, cliArgs('mem-large'), tokenEnv)
  const rssMain = peakRss(process.execPath, [join(root, 'bin/run.js'), 'verify', 'regions', '--config', configPath, '--concurrency', String(CONCURRENCY), '--path', 'apps', '--json'], tokenEnv)

  const cli = median(cliRuns)
  const raw = median(rawRuns)
  const lib = median(libRuns)
  const rawIn = median(rawInRuns)
  const results = {
    keysPerRegion: KEYS,
    concurrency: CONCURRENCY,
    cpus: cpus().length,
    node: process.version,
    runs: RUNS,
    requestsPerRegion: 'LIST per folder + GET metadata + GET data per key',
    verifyCliMs: cliRuns,
    rawClientProcessMs: rawRuns,
    compareRegionsInProcessMs: libRuns,
    rawWalkInProcessMs: rawInRuns,
    shellLoop: {sampleKeys: sample.length, bothRegionsMs: loopMs, perKeyBothRegionsMs: loopPerKey, extrapolatedMs: loopExtrapolated},
    speedupVsShellLoop: loopExtrapolated / cli,
    fractionOfCeiling: raw / cli,
    fractionOfCeilingInProcess: rawIn / lib,
    peakRssMiB: {[`${KEYS} keys (apps/)`]: rssMain, [`${MEM_KEYS} keys x ~100 B`]: rssSmall, [`${MEM_KEYS} keys x ${MEM_VALUE_BYTES} B`]: rssLarge},
  }
  mkdirSync(join(root, 'bench/results'), {recursive: true})
  writeFileSync(join(root, 'bench/results/regions.json'), JSON.stringify(results, null, 2))
  const s = (ms) => `${(ms / 1000).toFixed(2)} s`
  console.log(`| measured (${KEYS.toLocaleString('en')} secrets per region, 2 regions, ${CONCURRENCY} requests in flight per region, median of ${RUNS}) | wall time | vs \`verify regions\` |
| --- | ---: | ---: |
| \`secrets verify regions --json\` (fresh CLI process: start-up, preflight, walk, classify, JSON report) | ${s(cli)} | 1× |
| shell loop: \`bao kv get -mount=secret -format=json KEY\` per key, both regions (timed on ${sample.length} keys × 2, extrapolated) | ${s(loopExtrapolated)} (${loopPerKey.toFixed(1)} ms per key) | ${(loopExtrapolated / cli).toFixed(0)}× slower |
| ceiling: same LIST/GET requests, minimal keep-alive client (fresh process) | ${s(raw)} | verify reaches ${((raw / cli) * 100).toFixed(0)}% of it |
| in-process: \`compareRegions()\` vs the raw walk (no process start-up) | ${s(lib)} vs ${s(rawIn)} | ${((rawIn / lib) * 100).toFixed(0)}% |

| peak RSS of \`verify regions\` (GNU time %M) | MiB |
| --- | ---: |
| ${KEYS.toLocaleString('en')} keys per region, 3 properties of ~40 B | ${rssMain.toFixed(0)} |
| ${MEM_KEYS.toLocaleString('en')} keys per region, 1 property of ~100 B | ${rssSmall.toFixed(0)} |
| ${MEM_KEYS.toLocaleString('en')} keys per region, 1 property of ${(MEM_VALUE_BYTES / 1024).toFixed(0)} KiB (${((MEM_KEYS * MEM_VALUE_BYTES) / 1048576).toFixed(0)} MiB of values per region) | ${rssLarge.toFixed(0)} |`)
} finally {
  for (const server of servers) server.child.kill('SIGTERM')
  agent.destroy()
}
