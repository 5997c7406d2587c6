#!/usr/bin/env node
// Benchmark of `dr snapshot --out s3://…` (issue 19). Run after `npm run build`,
// against a server that bench/dr/bench.mjs filled and keeps up:
//   node bench/dr/bench.mjs --size-mb 500 --serve --work DIR &     # fill once, keep serving
//   node bench/dr/s3-bench.mjs --work DIR [--runs 2] [--cli COPY/bin/run.js]
// Starts versitygw (scripts/test-env/binaries.sh ensure versitygw) on a POSIX
// directory under DIR and compares, alternating the order in every round:
//   baseline: `bao operator raft snapshot save FILE`, then an upload of FILE with
//             the AWS SDK (@aws-sdk/lib-storage, the same part size and queue)
//   toolkit:  `secrets dr snapshot --region bench --out s3://bench/snapshots --no-key-counts`
//             (streamed through the integrity checker into a multipart upload)
// Each process runs under /usr/bin/time -v for its peak RSS. Prints a Markdown
// table and writes bench/results/dr-s3-<size>mb.json.
import {execFileSync, spawn} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {cpus, loadavg} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {fileURLToPath} from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const argv = process.argv.slice(2)
const opt = (name, fallback) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : fallback)
const RUNS = Number(opt('runs', '2'))
// --cli: a frozen copy of the built CLI (a concurrent `npm run build` empties dist/ for a moment).
const CLI = resolve(opt('cli', join(root, 'bin/run.js')))
const work = resolve(opt('work', ''))
const log = (message) => process.stderr.write(`[dr-s3-bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`)
const {server, filled} = JSON.parse(readFileSync(join(work, 'server.json'), 'utf8'))

const ensure = (name) => execFileSync(join(root, 'scripts/test-env/binaries.sh'), ['ensure', name], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit']}).split('\n').find((l) => l.startsWith(`${name}=`)).slice(name.length + 1)
const freePort = () => new Promise((res) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const {port} = probe.address()
    probe.close(() => res(port))
  })
})

// versitygw with made-up root credentials, passed in its environment.
const s3Root = join(work, 's3')
rmSync(s3Root, {recursive: true, force: true})
mkdirSync(join(s3Root, 'data', 'bench'), {recursive: true})
mkdirSync(join(s3Root, 'meta'), {recursive: true})
const port = await freePort()
const credentials = {AWS_ACCESS_KEY_ID: `AKIA${randomBytes(8).toString('hex').toUpperCase()}`, AWS_SECRET_ACCESS_KEY: randomBytes(24).toString('base64url')}
const gateway = spawn(ensure('versitygw'), ['--port', `127.0.0.1:${port}`, '--quiet', 'posix', '--sidecar', join(s3Root, 'meta'), join(s3Root, 'data')], {
  env: {...process.env, ROOT_ACCESS_KEY_ID: credentials.AWS_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY: credentials.AWS_SECRET_ACCESS_KEY},
  stdio: ['ignore', openSync(join(work, 'versitygw.log'), 'a'), openSync(join(work, 'versitygw.log'), 'a')],
})
process.on('exit', () => gateway.kill())
await sleep(1500)
const s3Env = {...credentials, AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${port}`, AWS_REGION: 'us-east-1'}

const configPath = join(work, 'secrets-toolkit.yaml')
writeFileSync(configPath, `regions:\n  - name: bench\n    clusterSecretStore: vault-bench\n    vault:\n      address: "${server.address}"\n      requestTimeoutMs: 600000\n`)
const env = {...process.env, ...s3Env, SECRETS_TOOLKIT_CONFIG: configPath, SECRETS_TOOLKIT_BENCH_VAULT_TOKEN: server.token, NO_COLOR: '1'}
const bao = ensure('bao')

/** Runs a command under /usr/bin/time -v: wall seconds, peak RSS (MB), CPU seconds. */
function timed(command, args, extraEnv = {}) {
  return new Promise((res, rej) => {
    const started = process.hrtime.bigint()
    const child = spawn('/usr/bin/time', ['-v', command, ...args], {env: {...env, ...extraEnv}, stdio: ['ignore', 'pipe', 'pipe']})
    let stderr = ''
    let stdout = ''
    child.stdout.on('data', (c) => (stdout += c))
    child.stderr.on('data', (c) => (stderr += c))
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9
      const rssMb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1] ?? NaN) / 1024
      const cpu = Number(/User time \(seconds\): ([\d.]+)/.exec(stderr)?.[1] ?? 0) + Number(/System time \(seconds\): ([\d.]+)/.exec(stderr)?.[1] ?? 0)
      if (code !== 0) rej(new Error(`${command} ${args.join(' ')} exited ${code}:\n${stderr.slice(-2000)}`))
      else res({seconds, rssMb, cpu, stdout})
    })
  })
}

// The baseline's upload: the AWS SDK's managed upload of the saved file, as `aws s3 cp` does it.
const uploader = join(work, 'sdk-upload.mjs')
writeFileSync(uploader, `
import {createReadStream} from 'node:fs'
import {S3Client} from '${join(root, 'node_modules/@aws-sdk/client-s3/dist-cjs/index.js')}'
import {Upload} from '${join(root, 'node_modules/@aws-sdk/lib-storage/dist-cjs/index.js')}'
const client = new S3Client({endpoint: process.env.AWS_ENDPOINT_URL_S3, forcePathStyle: true, region: 'us-east-1'})
await new Upload({client, params: {Bucket: 'bench', Key: process.argv[3], Body: createReadStream(process.argv[2])}, partSize: 8 * 1024 * 1024, queueSize: 3}).done()
client.destroy()
`)

const results = {baoSave: [], sdkUpload: [], toolkit: []}
const baselineFile = join(work, 'bao-save.snap')
const loadBefore = loadavg()[0]
for (let round = 0; round < RUNS; round++) {
  const baseline = async () => {
    rmSync(baselineFile, {force: true})
    results.baoSave.push(await timed(bao, ['operator', 'raft', 'snapshot', 'save', baselineFile], {VAULT_ADDR: server.address, VAULT_TOKEN: server.token, BAO_ADDR: server.address, BAO_TOKEN: server.token}))
    results.sdkUpload.push(await timed(process.execPath, [uploader, baselineFile, `baseline/${round}.snap`]))
    log(`baseline: ${(statSync(baselineFile).size / 1e6).toFixed(0)} MB saved ${results.baoSave.at(-1).seconds.toFixed(1)} s, uploaded ${results.sdkUpload.at(-1).seconds.toFixed(1)} s`)
  }
  const toolkit = async () => {
    results.toolkit.push(await timed(process.execPath, [CLI, 'dr', 'snapshot', '--region', 'bench', '--out', 's3://bench/snapshots', '--no-key-counts', '--json']))
    log(`toolkit: ${results.toolkit.at(-1).seconds.toFixed(1)} s, peak RSS ${results.toolkit.at(-1).rssMb.toFixed(0)} MB`)
  }
  if (round % 2 === 0) {
    await baseline()
    await toolkit()
  } else {
    await toolkit()
    await baseline()
  }
}
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
const row = (name, runs) => `| ${name} | ${median(runs.map((r) => r.seconds)).toFixed(1)} s | ${Math.max(...runs.map((r) => r.rssMb)).toFixed(0)} MB | ${median(runs.map((r) => r.cpu)).toFixed(1)} s |`
const sum = results.baoSave.map((r, i) => ({seconds: r.seconds + results.sdkUpload[i].seconds, rssMb: Math.max(r.rssMb, results.sdkUpload[i].rssMb), cpu: r.cpu + results.sdkUpload[i].cpu}))
const snapshotBytes = statSync(baselineFile).size
const table = [
  `${filled.secrets} secrets, snapshot ${(snapshotBytes / 1e6).toFixed(0)} MB, ${RUNS} round(s), ${cpus().length} cores, load average ${loadBefore.toFixed(1)} → ${loadavg()[0].toFixed(1)}`,
  '',
  '| contender | wall (median) | peak RSS (max) | CPU (median) |',
  '| --- | --- | --- | --- |',
  row('`bao operator raft snapshot save`', results.baoSave),
  row('AWS SDK upload of that file (lib-storage, 8 MiB parts, 3 in flight)', results.sdkUpload),
  row('both, one after the other', sum),
  row('`secrets dr snapshot --out s3://… --no-key-counts` (checked while streaming)', results.toolkit),
].join('\n')
console.log(table)
mkdirSync(join(root, 'bench/results'), {recursive: true})
writeFileSync(join(root, `bench/results/dr-s3-${Math.round(snapshotBytes / 1e6)}mb.json`), JSON.stringify({snapshotBytes, filled, results, loadBefore, loadAfter: loadavg()[0]}, null, 2))
gateway.kill()
