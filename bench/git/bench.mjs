#!/usr/bin/env node
// Benchmark for `git scan` / `git scrub` (issue 5). Run after `npm run build`:
//   node bench/git/bench.mjs [--commits 20000] [--work /tmp/dir]
// Generates a repository with git fast-import (SOPS files from
// ../shared/fixtures/sops-real scattered through history, a leaked value),
// then measures: raw `git cat-file --batch-all-objects --batch` read time,
// scan time (detection only, and with 50 known values), and scrub time per
// engine on identical fresh clones. Prints a Markdown table of measured numbers.
import {execFileSync, spawn} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const lib = (name) => import(join(root, 'dist/lib/git', name))
const {scanRepository} = await lib('scan.js')
const {buildPatternSet} = await lib('value-patterns.js')
const {newScrubContext, runScrubStages, stagePreflight, stagePlan, stageBackup, stageRewrite, stageCleanup, stageRescan} = await lib('scrub.js')
const {SecretValue} = await import(join(root, 'dist/lib/secret/secret-value.js'))

const argv = process.argv.slice(2)
const opt = (name, fallback) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : fallback)
const COMMITS = Number(opt('commits', '20000'))
const work = opt('work', mkdtempSync(join(tmpdir(), 'git-bench-')))
const fixtures = resolve(root, '../shared/fixtures/sops-real')
const sopsFiles = [
  'fluxcd__kustomize-controller/internal/controller/testdata/sops/algorithms/age.yaml',
  'getsops__sops/example.yaml',
  'getsops__sops/example.json',
  'getsops__sops/functional-tests/res/format.enc.env',
  'humphd__sops-age/tests/data/secret.enc.json',
  'humphd__sops-age/tests/data/secret.enc.yaml',
].map((p) => readFileSync(join(fixtures, p)))
const LEAK = 'bench-leaked-password-0123456789'

// The real detection, the same as `migrate sops` uses.
const detector = (await lib('sops-adapter.js')).sopsDetector()

let seed = 1
// 32-bit LCG (Math.imul keeps it exact), high bits only: deterministic content between runs.
const rand = (n) => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
  return (seed >>> 8) % n
}
const words = 'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau'.split(' ')
const text = (n) => Array.from({length: n}, () => words[rand(words.length)]).join(' ') + '\n'

function generate(dir) {
  execFileSync('git', ['init', '--quiet', '--initial-branch=main', dir])
  const child = spawn('git', ['-C', dir, 'fast-import', '--quiet', '--done'], {stdio: ['pipe', 'inherit', 'inherit']})
  const parts = []
  let size = 0
  const flush = () => {
    child.stdin.write(Buffer.concat(parts))
    parts.length = 0
    size = 0
  }
  const push = (b) => {
    parts.push(typeof b === 'string' ? Buffer.from(b) : b)
    size += b.length
    if (size > 1 << 20) flush()
  }
  const data = (b) => {
    const buf = typeof b === 'string' ? Buffer.from(b) : b
    push(`data ${buf.length}\n`)
    push(buf)
    push('\n')
  }
  for (let i = 1; i <= COMMITS; i++) {
    push(`commit refs/heads/main\nmark :${i}\ncommitter Bench <b@example.com> ${1_600_000_000 + i * 60} +0000\n`)
    data(i % 997 === 0 ? `debug ${LEAK}\n` : `change ${i}\n`)
    if (i > 1) push(`from :${i - 1}\n`)
    const dir = `svc${rand(40)}`
    push(`M 100644 inline ${dir}/file${rand(25)}.txt\n`)
    data(text(600 + rand(1200)))
    if (i % 50 === 0) {
      push(`M 100644 inline ${dir}/secrets/secret${rand(5)}.enc.yaml\n`)
      // A comment line makes each version a distinct blob (as re-encryption would); SOPS ignores it.
      const file = sopsFiles[rand(sopsFiles.length)]
      data(file[0] === 0x7b ? file : Buffer.concat([Buffer.from(`# revision ${i}\n`), file]))
    }
    if (i % 777 === 0) {
      push(`M 100644 inline ${dir}/config.env\n`)
      data(`PASSWORD=${LEAK}\n`)
    }
    if (i % 3001 === 0) {
      push(`M 100644 inline ${dir}/.sops.yaml\n`)
      data(`creation_rules:\n  - age: age1example${i}\n`)
    }
    if (i % 450 === 0) push(`D svc${rand(40)}/secrets/secret${rand(5)}.enc.yaml\n`)
    push('\n')
  }
  push('done\n')
  flush()
  child.stdin.end()
  return new Promise((ok, fail) => child.on('close', (code) => (code === 0 ? ok() : fail(new Error(`fast-import ${code}`)))))
}

const time = async (fn) => {
  const start = process.hrtime.bigint()
  const result = await fn()
  return {ms: Number(process.hrtime.bigint() - start) / 1e6, result}
}

function rawCatFileDevNull(repo) {
  return new Promise((ok, fail) => {
    const child = spawn('sh', ['-c', 'git -C "$1" cat-file --batch-all-objects --batch --unordered > /dev/null', 'sh', repo], {stdio: ['ignore', 'ignore', 'inherit']})
    child.on('close', (code) => (code === 0 ? ok(0) : fail(new Error(`cat-file ${code}`))))
  })
}

function rawCatFile(repo) {
  return new Promise((ok, fail) => {
    const child = spawn('git', ['-C', repo, 'cat-file', '--batch-all-objects', '--batch', '--unordered'], {stdio: ['ignore', 'pipe', 'inherit']})
    let bytes = 0
    child.stdout.on('data', (chunk) => (bytes += chunk.length))
    child.on('close', (code) => (code === 0 ? ok(bytes) : fail(new Error(`cat-file ${code}`))))
  })
}

const source = join(work, 'source')
const gen = await time(() => generate(source))
execFileSync('git', ['-C', source, 'gc', '--quiet'])
const objects = execFileSync('git', ['-C', source, 'count-objects', '-v'], {encoding: 'utf8'})
const values = [{source: 'bench', secret: 'bench/app', key: 'password', value: SecretValue.fromString(LEAK)}]
for (let i = 0; i < 49; i++) values.push({source: 'bench', secret: `bench/svc${i}`, key: 'token', value: SecretValue.fromString(`token-${i}-${'x'.repeat(20)}-${i * 7919}`)})
const patterns = buildPatternSet(values)

const rows = []
const best = async (label, runs, fn) => {
  let min = Infinity
  let last
  for (let r = 0; r < runs; r++) {
    const {ms, result} = await time(fn)
    min = Math.min(min, ms)
    last = result
  }
  return {label, ms: min, result: last}
}
const devnull = await best('raw cat-file > /dev/null', 3, () => rawCatFileDevNull(source))
const raw = await best('raw cat-file read by Node (bytes counted)', 3, () => rawCatFile(source))
const mb = raw.result / 1e6
rows.push([devnull.label, devnull.ms, mb])
rows.push([raw.label, raw.ms, mb])
const scanDetect = await best('scan (SOPS detection)', 3, () => scanRepository(source, {detector}))
rows.push([scanDetect.label, scanDetect.ms, mb])
const scanValues = await best('scan (detection + 50 values x forms)', 3, () => scanRepository(source, {detector, patterns}))
rows.push([scanValues.label, scanValues.ms, mb])
const report = scanValues.result.report

const scrubRows = []
for (const engine of ['builtin', 'filter-repo']) {
  const clone = join(work, `clone-${engine}`)
  execFileSync('git', ['clone', '--quiet', '--no-local', source, clone])
  const ctx = newScrubContext({repo: clone, detector, patterns, replaceValues: true, engine, force: false, backup: join(work, `${engine}.bundle`)})
  const stageTimes = {}
  const timed = (name, run) => ({name, run: async (c) => (stageTimes[name] = (await time(() => run(c))).ms)})
  await runScrubStages(ctx, [timed('preflight', stagePreflight), timed('plan', stagePlan), timed('backup', stageBackup), timed('rewrite', stageRewrite), timed('cleanup', stageCleanup), timed('rescan', stageRescan)])
  const total = Object.values(stageTimes).reduce((a, b) => a + b, 0)
  scrubRows.push({engine, rewrite: stageTimes.rewrite, total, clean: ctx.after.clean, stageTimes, tree: execFileSync('git', ['-C', clone, 'rev-parse', 'main^{tree}'], {encoding: 'utf8'}).trim()})
}

const fmt = (ms) => (ms / 1000).toFixed(2)
console.log(`Repository: ${COMMITS} commits, generated in ${fmt(gen.ms)} s; ${objects.replace(/\n/g, '; ')}`)
console.log(`Findings before scrub: ${report.sopsBlobs.length} SOPS blobs, ${report.sopsConfigs.length} .sops.yaml blobs, ${report.valueFindings.length} objects with known values`)
console.log(`Node ${process.version}, git ${execFileSync('git', ['--version'], {encoding: 'utf8'}).trim()}, git-filter-repo ${execFileSync('git', ['filter-repo', '--version'], {encoding: 'utf8'}).trim()}\n`)
console.log('| read | time (s, best of 3) | MB (batch output) | MB/s | vs cat-file > /dev/null |\n| --- | --- | --- | --- | --- |')
for (const [label, ms, size] of rows) console.log(`| ${label} | ${fmt(ms)} | ${size.toFixed(1)} | ${(size / (ms / 1000)).toFixed(0)} | ${(ms / devnull.ms).toFixed(2)}x |`)
console.log('\n| engine | rewrite (s) | whole scrub (s) | stages (s) | rescan clean | main^{tree} |\n| --- | --- | --- | --- | --- | --- |')
for (const r of scrubRows) console.log(`| ${r.engine} | ${fmt(r.rewrite)} | ${fmt(r.total)} | ${Object.entries(r.stageTimes).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')} | ${r.clean} | ${r.tree.slice(0, 12)} |`)
if (!argv.includes('--keep')) rmSync(work, {recursive: true, force: true})
