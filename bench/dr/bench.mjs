#!/usr/bin/env node
// Benchmark for `dr snapshot` / `dr restore` (issue 6). Run after `npm run build`:
//   node bench/dr/bench.mjs [--size-mb 500] [--value-kb 512] [--runs 3] [--work DIR] [--serve | --reuse]
// Starts its own Vault-API server with Raft storage (BAO_BIN, else
// scripts/test-env/binaries.sh ensure bao), fills it with KV v2 secrets
// holding random values until the data written reaches --size-mb (Vault
// encrypts every entry, so the snapshot does not compress below that), then,
// rotating the order of the contenders in every round:
//   snapshot: `bao operator raft snapshot save FILE` (the CLI an operator would
//             otherwise run: it also inflates the archive to check that
//             SHA256SUMS.sealed arrived), curl -o FILE GET /v1/sys/storage/raft/snapshot
//             vs `secrets dr snapshot --region bench --out DIR`
//   restore:  `bao operator raft snapshot restore FILE` and curl -T FILE -X POST
//             /v1/sys/storage/raft/snapshot, each then a lookup-self that returns
//             once the server has applied it
//             vs `secrets dr restore FILE --region bench --yes --no-safety-snapshot`
// Each process runs under /usr/bin/time -v for its peak RSS. Prints a
// Markdown table and writes bench/results/dr-<size>mb.json.
import {execFileSync, spawn} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {cpus, loadavg, tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {fileURLToPath} from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const argv = process.argv.slice(2)
const opt = (name, fallback) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : fallback)
const SIZE_MB = Number(opt('size-mb', '500'))
const VALUE_KB = Number(opt('value-kb', '512'))
const RUNS = Number(opt('runs', '3'))
const work = resolve(opt('work', mkdtempSync(join(tmpdir(), 'dr-bench-'))))
mkdirSync(work, {recursive: true})
const log = (message) => process.stderr.write(`[dr-bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`)

function baoBinary() {
  if (process.env.BAO_BIN) return process.env.BAO_BIN
  const out = execFileSync(join(root, 'scripts/test-env/binaries.sh'), ['ensure', 'bao'], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit']})
  return out.split('\n').find((l) => l.startsWith('bao=')).slice(4)
}

async function freePort() {
  const {createServer} = await import('node:net')
  return new Promise((res) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const {port} = server.address()
      server.close(() => res(port))
    })
  })
}

async function api(address, token, method, path, body) {
  const response = await fetch(`${address}/v1/${path}`, {method, headers: {...(token ? {'X-Vault-Token': token} : {}), 'Content-Type': 'application/json'}, body: body === undefined ? undefined : JSON.stringify(body)})
  const text = await response.text()
  return {status: response.status, body: text ? JSON.parse(text) : undefined}
}

async function startServer() {
  const binary = baoBinary()
  const [port, clusterPort] = [await freePort(), await freePort()]
  const dataDir = join(work, 'raft')
  mkdirSync(dataDir, {recursive: true})
  const config = join(work, 'config.hcl')
  writeFileSync(
    config,
    `storage "raft" {\n  path = "${dataDir}"\n  node_id = "bench"\n  performance_multiplier = 1\n}\nlistener "tcp" {\n  address = "127.0.0.1:${port}"\n  cluster_address = "127.0.0.1:${clusterPort}"\n  tls_disable = 1\n}\napi_addr = "http://127.0.0.1:${port}"\ncluster_addr = "https://127.0.0.1:${clusterPort}"\ncluster_name = "bench"\ndisable_mlock = true\nlog_level = "warn"\n`,
  )
  const { openSync } = await import('node:fs')
  const child = spawn(binary, ['server', `-config=${config}`], {stdio: ['ignore', openSync(join(work, 'server.log'), 'a'), openSync(join(work, 'server.log'), 'a')], detached: true})
  process.on('exit', () => {
    try {
      process.kill(-child.pid, 'SIGTERM')
    } catch {}
  })
  const address = `http://127.0.0.1:${port}`
  for (let i = 0; ; i++) {
    try {
      await api(address, undefined, 'GET', 'sys/health')
      break
    } catch {
      if (i > 300) throw new Error(`server did not start; see ${work}/server.log`)
      await sleep(100)
    }
  }
  const init = await api(address, undefined, 'POST', 'sys/init', {secret_shares: 1, secret_threshold: 1})
  const token = init.body.root_token
  await api(address, undefined, 'POST', 'sys/unseal', {key: init.body.keys_base64[0]})
  for (;;) {
    const health = await api(address, undefined, 'GET', 'sys/health')
    if (health.body?.initialized && !health.body.sealed && !health.body.standby) break
    await sleep(100)
  }
  await api(address, token, 'POST', 'sys/mounts/secret', {type: 'kv', options: {version: '2'}})
  while ((await api(address, token, 'GET', 'secret/config')).status !== 200) await sleep(100)
  return {address, token, version: execFileSync(binary, ['version'], {encoding: 'utf8'}).trim(), pid: child.pid}
}

async function fill(server) {
  const target = SIZE_MB * 1024 * 1024
  const valueBytes = Math.floor((VALUE_KB * 1024 * 3) / 4)
  let written = 0
  let next = 0
  const started = Date.now()
  const worker = async () => {
    while (written < target) {
      const key = `bench/${String(next++).padStart(6, '0')}`
      const value = randomBytes(valueBytes).toString('base64')
      written += value.length
      const response = await api(server.address, server.token, 'POST', `secret/data/${key}`, {data: {blob: value}})
      if (response.status !== 200) throw new Error(`write ${key} failed: HTTP ${response.status} ${JSON.stringify(response.body?.errors)}`)
    }
  }
  await Promise.all(Array.from({length: 4}, worker))
  log(`filled ${next} secrets, ${(written / 1e6).toFixed(0)} MB of values in ${((Date.now() - started) / 1000).toFixed(0)} s`)
  return {secrets: next, bytes: written}
}

/** CPU seconds the server process has used so far (utime + stime from /proc). */
function serverCpuSeconds() {
  try {
    const fields = readFileSync(`/proc/${server.pid}/stat`, 'utf8').split(') ')[1].split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return NaN
  }
}

/** Runs a command under /usr/bin/time -v: wall seconds, peak RSS (MB), its CPU seconds and the server's meanwhile. */
function timed(command, args, env = {}) {
  return new Promise((res, rej) => {
    const started = process.hrtime.bigint()
    const serverBefore = serverCpuSeconds()
    const child = spawn('/usr/bin/time', ['-v', command, ...args], {env: {...process.env, ...env}, stdio: ['ignore', 'pipe', 'pipe']})
    let stderr = ''
    let stdout = ''
    child.stdout.on('data', (c) => (stdout += c))
    child.stderr.on('data', (c) => (stderr += c))
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9
      const rss = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1] ?? NaN) / 1024
      const cpu = Number(/User time \(seconds\): ([\d.]+)/.exec(stderr)?.[1] ?? NaN) + Number(/System time \(seconds\): ([\d.]+)/.exec(stderr)?.[1] ?? NaN)
      const serverCpu = serverCpuSeconds() - serverBefore
      if (code !== 0) rej(new Error(`${command} ${args.join(' ')} exited ${code}\n${stdout}\n${stderr.slice(-2000)}`))
      else res({seconds, rssMb: rss, cpu, serverCpu, stdout})
    })
  })
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

// --serve: fill, then keep the server up (work/server.json) for later runs with --reuse.
const reuse = argv.includes('--reuse')
const serverFile = join(work, 'server.json')
let server
let filled
if (reuse) {
  ;({server, filled} = JSON.parse(readFileSync(serverFile, 'utf8')))
  log(`reusing server ${server.address} (${filled.secrets} secrets)`)
} else {
  server = await startServer()
  log(`server ${server.version} at ${server.address}; work dir ${work}`)
  filled = await fill(server)
  writeFileSync(serverFile, JSON.stringify({server, filled}))
  if (argv.includes('--serve')) {
    log(`serving until killed (pid ${process.pid}); run again with --work ${work} --reuse`)
    await new Promise(() => {})
  }
}
const configPath = join(work, 'secrets-toolkit.yaml')
writeFileSync(configPath, `regions:\n  - name: bench\n    clusterSecretStore: vault-bench\n    vault:\n      address: "${server.address}"\n      requestTimeoutMs: 600000\n`)
const cliEnv = {SECRETS_TOOLKIT_CONFIG: configPath, SECRETS_TOOLKIT_BENCH_VAULT_TOKEN: server.token, NO_COLOR: '1'}
const cli = [join(root, 'bin/run.js')]
const snapDir = join(work, 'snapshots')
mkdirSync(snapDir, {recursive: true})
const curlFile = join(work, 'curl.snap')
const header = `X-Vault-Token: ${server.token}`

const baoEnv = {BAO_ADDR: server.address, BAO_TOKEN: server.token, VAULT_ADDR: server.address, VAULT_TOKEN: server.token}
const bao = baoBinary()
const baoFile = join(work, 'bao.snap')
/** The order of the contenders in round `round`: each goes first, second and last in turn. */
const rotate = (names, round) => names.map((_, i) => names[(i + round) % names.length])

const loadBefore = loadavg()[0]
const cpuBefore = process.cpuUsage()
const results = {snapshotCurl: [], snapshotBao: [], snapshotCli: [], snapshotShell: [], restoreCurl: [], restoreBao: [], restoreCli: [], restoreCurlUploadOnly: []}
// The same guarantees with shell tools: the archive's SHA-256, and state.bin inflated and hashed.
const shellChecks = (file) => `sha256sum ${file} >/dev/null && tar -xzOf ${file} state.bin | sha256sum >/dev/null`
let cliFile
for (let round = 0; round < RUNS; round++) {
  for (const who of rotate(['curl', 'bao', 'cli'], round)) {
    if (who === 'bao') {
      rmSync(baoFile, {force: true})
      results.snapshotBao.push(await timed(bao, ['operator', 'raft', 'snapshot', 'save', baoFile], baoEnv))
      log(`snapshot bao: ${results.snapshotBao.at(-1).seconds.toFixed(1)} s`)
    } else if (who === 'curl') {
      rmSync(curlFile, {force: true})
      results.snapshotCurl.push(await timed('curl', ['-sf', '-H', header, '-o', curlFile, `${server.address}/v1/sys/storage/raft/snapshot`]))
      log(`snapshot curl: ${results.snapshotCurl.at(-1).seconds.toFixed(1)} s`)
      rmSync(curlFile, {force: true})
      results.snapshotShell.push(await timed('bash', ['-c', `curl -sf -H '${header}' -o ${curlFile} ${server.address}/v1/sys/storage/raft/snapshot && ${shellChecks(curlFile)}`]))
      log(`snapshot curl + shell checks: ${results.snapshotShell.at(-1).seconds.toFixed(1)} s`)
    } else {
      for (const name of readdirSync(snapDir)) rmSync(join(snapDir, name))
      results.snapshotCli.push(await timed('node', [...cli, 'dr', 'snapshot', '--region', 'bench', '--out', snapDir, '--json'], cliEnv))
      cliFile = JSON.parse(results.snapshotCli.at(-1).stdout).file
      log(`snapshot cli: ${results.snapshotCli.at(-1).seconds.toFixed(1)} s`)
    }
  }
}
const snapshotBytes = statSync(cliFile).size
log(`snapshot size ${(snapshotBytes / 1e6).toFixed(0)} MB`)

/**
 * Uploads with `command`, then waits until the server has applied the
 * snapshot: it answers the upload, then applies it holding its state lock,
 * and a lookup-self waits behind that lock. The pause (the same as dr
 * restore's) lets the server take the lock first; the apply runs on during
 * it, so nothing is subtracted.
 */
async function uploadAndWait(command, args, env) {
  const started = process.hrtime.bigint()
  const serverBefore = serverCpuSeconds()
  const upload = await timed(command, args, env)
  await sleep(250)
  await timed('curl', ['-sf', '-o', '/dev/null', '-H', header, `${server.address}/v1/auth/token/lookup-self`])
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  return {upload, applied: {seconds, rssMb: upload.rssMb, cpu: upload.cpu, serverCpu: serverCpuSeconds() - serverBefore}}
}

for (let round = 0; round < RUNS; round++) {
  for (const who of rotate(['curl', 'bao', 'cli'], round)) {
    if (who === 'bao') {
      const {applied} = await uploadAndWait(bao, ['operator', 'raft', 'snapshot', 'restore', cliFile], baoEnv)
      results.restoreBao.push(applied)
      log(`restore bao: applied after ${applied.seconds.toFixed(1)} s`)
    } else if (who === 'curl') {
      const {upload, applied} = await uploadAndWait('curl', ['-sf', '-H', header, '-X', 'POST', '-T', cliFile, `${server.address}/v1/sys/storage/raft/snapshot`])
      results.restoreCurlUploadOnly.push(upload)
      results.restoreCurl.push(applied)
      log(`restore curl: upload ${upload.seconds.toFixed(1)} s, applied after ${applied.seconds.toFixed(1)} s`)
    } else {
      results.restoreCli.push(await timed('node', [...cli, 'dr', 'restore', cliFile, '--region', 'bench', '--yes', '--no-safety-snapshot', '--json'], cliEnv))
      const out = JSON.parse(results.restoreCli.at(-1).stdout)
      if (!out.ok) throw new Error(`restore did not confirm: ${JSON.stringify(out.checks)}`)
      log(`restore cli: ${results.restoreCli.at(-1).seconds.toFixed(1)} s`)
    }
  }
}

const withSafety = await timed('node', [...cli, 'dr', 'restore', cliFile, '--region', 'bench', '--yes', '--json'], cliEnv)
log(`restore cli with safety snapshot: ${withSafety.seconds.toFixed(1)} s`)

const ratio = (xs, ref) => (ref ? `${(median(xs.map((x) => x.seconds)) / median(ref.map((x) => x.seconds))).toFixed(2)}×` : '—')
const row = (label, xs, anchor) => {
  const s = median(xs.map((x) => x.seconds))
  const rss = Math.max(...xs.map((x) => x.rssMb))
  const cpu = median(xs.map((x) => x.cpu))
  const serverCpu = median(xs.map((x) => x.serverCpu))
  const fmt = (n) => (Number.isFinite(n) ? `${n.toFixed(1)} s` : '—')
  return `| ${label} | ${s.toFixed(2)} s | ${(snapshotBytes / 1e6 / s).toFixed(0)} MB/s | ${ratio(xs, anchor)} | ${rss.toFixed(0)} MB | ${fmt(cpu)} | ${fmt(serverCpu)} |`
}
const selfCpu = process.cpuUsage(cpuBefore)
const table = [
  `Snapshot: ${(snapshotBytes / 1e6).toFixed(0)} MB (${filled.secrets} KV v2 secrets of ${VALUE_KB} KiB random text), server ${server.version}, median of ${RUNS} rounds (the contenders' order rotates each round); ${cpus().length} vCPU, 1-minute load average ${loadBefore.toFixed(1)} at the start and ${loadavg()[0].toFixed(1)} at the end; the benchmark process itself used ${((selfCpu.user + selfCpu.system) / 1e6).toFixed(1)} s of CPU.`,
  '',
  '| operation | wall time | throughput | vs the bao CLI | peak RSS | client CPU | server CPU |',
  '| --- | --- | --- | --- | --- | --- | --- |',
  row('`bao operator raft snapshot save FILE`', results.snapshotBao, results.snapshotBao),
  row('`curl` GET snapshot → file (no check at all)', results.snapshotCurl, results.snapshotBao),
  row('`curl`, then `sha256sum` and `tar -xzO state.bin \\| sha256sum` (the same checks with shell tools)', results.snapshotShell, results.snapshotBao),
  row('`secrets dr snapshot` (download + SHA-256 + archive check + key counts before/after + manifest)', results.snapshotCli, results.snapshotBao),
  row('`bao operator raft snapshot restore FILE` + wait until applied', results.restoreBao, results.restoreBao),
  row('`curl -T` POST snapshot (upload only; the server applies it afterwards)', results.restoreCurlUploadOnly, results.restoreBao),
  row('`curl -T` POST snapshot + wait until applied', results.restoreCurl, results.restoreBao),
  row('`secrets dr restore --no-safety-snapshot` (verify + pre-flight + upload + wait + key counts)', results.restoreCli, results.restoreBao),
  `| \`secrets dr restore\` with the safety snapshot (one run) | ${withSafety.seconds.toFixed(2)} s | — | — | ${withSafety.rssMb.toFixed(0)} MB | ${withSafety.cpu.toFixed(1)} s | — |`,
].join('\n')
mkdirSync(join(root, 'bench/results'), {recursive: true})
writeFileSync(join(root, `bench/results/dr-${SIZE_MB}mb.json`), JSON.stringify({snapshotBytes, filled, server: server.version, runs: RUNS, load: [loadBefore, loadavg()[0]], benchCpuSeconds: (selfCpu.user + selfCpu.system) / 1e6, results, withSafety}, null, 2))
process.stdout.write(`${table}\n`)
if (!argv.includes('--work')) {
  // A temporary work dir holds the server's data and several snapshots (GBs): do not leave it behind.
  try {
    process.kill(-server.pid, 'SIGTERM')
  } catch {}
  await sleep(1000)
  rmSync(work, {recursive: true, force: true})
}
process.exit(0)
