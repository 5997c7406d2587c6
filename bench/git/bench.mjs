#!/usr/bin/env node
// Benchmark for `git scan` / `git scrub` at the shape of real GitOps repositories (issue 20).
// Run after `npm run build` (git-filter-repo on PATH):
//   node bench/git/bench.mjs [--commits 40000] [--runs 3] [--replace-values] [--scan-only] [--work /tmp/dir] [--keep] [--reuse]
// Generates, with git fast-import, a history shaped like the public repositories
// measured in issue 20: --commits commits on main plus feature branches, a tag
// every 20 commits (half annotated), a pull-request ref (refs/pull/N/head) every
// 10 commits, ~1 SOPS version (real upstream fixtures, each made distinct)
// every 40 commits, renamed every 400 and deleted every 450, and prints the
// shape. Then --runs interleaved rounds of: raw `cat-file --batch`, `git scan`,
// and `git scrub` per engine on fresh mirror clones (pull refs included).
// Each measurement records wall time, CPU time of this process and of its
// child processes (git, fast-import, filter-repo) and the load average; the
// tables give medians and ratios measured side by side in the same rounds.
import {execFileSync, spawn} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {loadavg, tmpdir} from 'node:os'
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
const COMMITS = Number(opt('commits', '40000'))
const RUNS = Number(opt('runs', '3'))
const REPLACE = argv.includes('--replace-values')
// --scan-only: the read rows only (no scrub).
const SCAN_ONLY = argv.includes('--scan-only')
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
  execFileSync('git', ['init', '--quiet', '--bare', dir])
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
  let time = 1_600_000_000
  let mark = 0
  const sopsPaths = new Set()
  const sopsVersion = (i) => {
    const file = sopsFiles[rand(sopsFiles.length)]
    // A comment line makes each version a distinct blob (as re-encryption would); SOPS ignores it. JSON stays as is.
    return file[0] === 0x7b ? file : Buffer.concat([Buffer.from(`# revision ${i}\n`), file])
  }
  const commit = (ref, parent, i, changes) => {
    mark++
    time += 60
    push(`commit ${ref}\nmark :${mark}\ncommitter Bench <b@example.com> ${time} +0000\n`)
    data(i % 997 === 0 ? `debug ${LEAK}\n` : `change ${i}\n`)
    if (parent) push(`from :${parent}\n`)
    changes()
    push('\n')
    return mark
  }
  const refs = {branches: 1, tags: 0, annotated: 0, pulls: 0}
  let mainTip = 0
  let sopsAdds = 0
  for (let i = 1; i <= COMMITS; i++) {
    mainTip = commit('refs/heads/main', mainTip, i, () => {
      const dir = `svc${rand(40)}`
      push(`M 100644 inline ${dir}/file${rand(25)}.txt\n`)
      data(text(600 + rand(1200)))
      if (i % 40 === 0) {
        const path = `${dir}/secrets/secret${rand(5)}.enc.yaml`
        push(`M 100644 inline ${path}\n`)
        data(sopsVersion(i))
        sopsPaths.add(path)
        sopsAdds++
      }
      if (i % 400 === 0 && sopsPaths.size > 0) {
        // A rename: the last SOPS path moves to another directory (git sees delete + add of the same blob).
        const from = [...sopsPaths][rand(sopsPaths.size)]
        const to = `moved/${i}/${from.split('/').pop()}`
        push(`C ${from} ${to}\nD ${from}\n`)
        sopsPaths.delete(from)
        sopsPaths.add(to)
      }
      if (i % 450 === 0 && sopsPaths.size > 0) {
        const gone = [...sopsPaths][rand(sopsPaths.size)]
        push(`D ${gone}\n`)
        sopsPaths.delete(gone)
      }
      if (i % 777 === 0) {
        push(`M 100644 inline ${dir}/config.env\n`)
        data(`PASSWORD=${LEAK}\n`)
      }
      if (i % 3001 === 0) {
        push(`M 100644 inline ${dir}/.sops.yaml\n`)
        data(`creation_rules:\n  - age: age1example${i}\n`)
      }
    })
    if (i % 20 === 0) {
      if (i % 40 === 0) {
        push(`tag v${i}\nfrom :${mainTip}\ntagger Bench <b@example.com> ${time} +0000\n`)
        data(`release ${i}\n`)
        refs.annotated++
      } else push(`reset refs/tags/light-${i}\nfrom :${mainTip}\n\n`)
      refs.tags++
    }
    if (i % 10 === 0) {
      // A pull request: a short side history (1–3 commits) kept only by refs/pull/N/head.
      let tip = mainTip
      const n = 1 + rand(3)
      for (let k = 0; k < n; k++) {
        tip = commit(`refs/pull/${i / 10}/head`, tip, i + k, () => {
          push(`M 100644 inline pr/${i}/change${k}.txt\n`)
          data(text(50 + rand(200)))
        })
      }
      refs.pulls++
    }
    if (i % 2000 === 0) {
      // A long-lived branch forked here, a few commits ahead (some with SOPS changes).
      let tip = mainTip
      for (let k = 0; k < 5; k++) {
        tip = commit(`refs/heads/release/${i / 2000}`, tip, i + k, () => {
          push(`M 100644 inline release/notes${k}.txt\n`)
          data(text(100))
          if (k % 2 === 0) {
            push(`M 100644 inline release/secret.enc.yaml\n`)
            data(sopsVersion(i + k))
            sopsAdds++
          }
        })
      }
      refs.branches++
    }
  }
  push('done\n')
  flush()
  child.stdin.end()
  return new Promise((ok, fail) => child.on('close', (code) => (code === 0 ? ok({refs, sopsAdds, commits: mark}) : fail(new Error(`fast-import ${code}`)))))
}

/** CPU seconds of this process and of its waited-for children (/proc/self/stat cutime + cstime). */
function cpuNow() {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ')
  const tick = 100
  const usage = process.cpuUsage()
  return {self: (usage.user + usage.system) / 1e6, children: (Number(fields[13]) + Number(fields[14])) / tick}
}

async function measure(fn) {
  const load = loadavg()[0]
  const cpu = cpuNow()
  const start = process.hrtime.bigint()
  const result = await fn()
  const wall = Number(process.hrtime.bigint() - start) / 1e9
  const after = cpuNow()
  return {wall, self: after.self - cpu.self, children: after.children - cpu.children, load, result}
}

function run(cmd, args) {
  return new Promise((ok, fail) => {
    const child = spawn(cmd, args, {stdio: ['ignore', 'ignore', 'inherit']})
    child.on('close', (code) => (code === 0 ? ok(0) : fail(new Error(`${cmd} ${args.join(' ')}: ${code}`))))
  })
}

function rawCatFileNode(repo) {
  return new Promise((ok, fail) => {
    const child = spawn('git', ['-C', repo, 'cat-file', '--batch-all-objects', '--batch', '--unordered'], {stdio: ['ignore', 'pipe', 'inherit']})
    let bytes = 0
    child.stdout.on('data', (chunk) => (bytes += chunk.length))
    child.on('close', (code) => (code === 0 ? ok(bytes) : fail(new Error(`cat-file ${code}`))))
  })
}

const source = join(work, 'source.git')
// --reuse: measure again on the repository a --keep run left in --work (generation takes minutes on a loaded machine).
const reuse = argv.includes('--reuse')
const gen = reuse ? {wall: 0} : await measure(() => generate(source))
if (!reuse) execFileSync('git', ['-C', source, 'gc', '--quiet'])
const refNames = execFileSync('git', ['-C', source, 'for-each-ref', '--format=%(refname) %(objecttype)'], {encoding: 'utf8'}).split('\n').filter(Boolean)
const shape = {
  refs: {
    branches: refNames.filter((r) => r.startsWith('refs/heads/')).length,
    tags: refNames.filter((r) => r.startsWith('refs/tags/')).length,
    annotated: refNames.filter((r) => r.startsWith('refs/tags/') && r.endsWith(' tag')).length,
    pulls: refNames.filter((r) => r.startsWith('refs/pull/')).length,
  },
}
const refCount = refNames.length
const commitCount = Number(execFileSync('git', ['-C', source, 'rev-list', '--all', '--count'], {encoding: 'utf8'}).trim())
const objects = execFileSync('git', ['-C', source, 'count-objects', '-v', '-H'], {encoding: 'utf8'})
const values = [{source: 'bench', secret: 'bench/app', key: 'password', value: SecretValue.fromString(LEAK)}]
for (let i = 0; i < 49; i++) values.push({source: 'bench', secret: `bench/svc${i}`, key: 'token', value: SecretValue.fromString(`token-${i}-${'x'.repeat(20)}-${i * 7919}`)})
const patterns = buildPatternSet(values)

const samples = {}
const record = (label, m) => (samples[label] ??= []).push(m)
let findings
const engines = ['builtin', 'filter-repo']
for (let round = 1; round <= RUNS; round++) {
  record('raw cat-file > /dev/null', await measure(() => run('sh', ['-c', 'git -C "$1" cat-file --batch-all-objects --batch --unordered > /dev/null', 'sh', source])))
  record('raw cat-file read by Node', await measure(() => rawCatFileNode(source)))
  const scan = await measure(() => scanRepository(source, {detector}))
  record('git scan (SOPS detection)', scan)
  findings = scan.result.report
  // Alternate which engine goes first, so neither always runs on a warmer cache.
  for (const engine of SCAN_ONLY ? [] : round % 2 ? engines : [...engines].reverse()) {
    const clone = join(work, `clone-${engine}-${round}.git`)
    execFileSync('git', ['clone', '--quiet', '--mirror', '--no-local', source, clone])
    const ctx = newScrubContext({repo: clone, detector, ...(REPLACE ? {patterns} : {}), replaceValues: REPLACE, engine, force: false, backup: join(work, `${engine}-${round}.bundle`)})
    const stages = {}
    const timed = (name, fn) => ({name, run: async (c) => (stages[name] = await measure(() => fn(c)))})
    const whole = await measure(() =>
      runScrubStages(ctx, [timed('preflight', stagePreflight), timed('plan', stagePlan), timed('backup', stageBackup), timed('rewrite', stageRewrite), timed('cleanup', stageCleanup), timed('rescan', stageRescan)]),
    )
    if (!ctx.after.clean) throw new Error(`${engine}: rescan not clean`)
    whole.stages = stages
    whole.tree = execFileSync('git', ['-C', clone, 'rev-parse', 'main^{tree}'], {encoding: 'utf8'}).trim()
    record(`scrub ${engine}`, whole)
    rmSync(clone, {recursive: true, force: true})
    rmSync(join(work, `${engine}-${round}.bundle`), {force: true})
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const med = (label, key = 'wall') => median(samples[label].map((m) => m[key]))
const f = (x) => x.toFixed(2)
console.log(`Repository shape: ${commitCount} commits (${COMMITS} on main), ${refCount} refs (${shape.refs.branches} branches, ${shape.refs.tags} tags of which ${shape.refs.annotated} annotated, ${shape.refs.pulls} pull refs), a SOPS version every 40 commits, renamed every 400 and deleted every 450 commits; generated in ${f(gen.wall)} s${reuse ? ' (earlier run)' : ''}`)
console.log(`Objects: ${objects.trim().replace(/\n/g, '; ')}`)
console.log(`Findings: ${findings.sopsBlobs.length} SOPS blobs, ${findings.sopsConfigs.length} .sops.yaml blobs; scrub ${REPLACE ? 'with' : 'without'} --replace-values`)
console.log(`Node ${process.version}, ${execFileSync('git', ['--version'], {encoding: 'utf8'}).trim()}, git-filter-repo ${execFileSync('git', ['filter-repo', '--version'], {encoding: 'utf8'}).trim()}; ${RUNS} interleaved rounds, medians; load average (1 min) during the runs: ${f(Math.min(...Object.values(samples).flat().map((m) => m.load)))}–${f(Math.max(...Object.values(samples).flat().map((m) => m.load)))}\n`)
const base = med('raw cat-file > /dev/null')
console.log('| read | wall (s) | CPU self (s) | CPU children (s) | vs cat-file > /dev/null |\n| --- | --- | --- | --- | --- |')
for (const label of ['raw cat-file > /dev/null', 'raw cat-file read by Node', 'git scan (SOPS detection)']) console.log(`| ${label} | ${f(med(label))} | ${f(med(label, 'self'))} | ${f(med(label, 'children'))} | ${f(med(label) / base)}× |`)
if (SCAN_ONLY) engines.length = 0
const anchor = SCAN_ONLY ? 1 : med('scrub filter-repo')
console.log('\n| engine | whole scrub (s) | vs filter-repo | CPU self / children (s) | stages: wall (CPU self + children) | main^{tree} |\n| --- | --- | --- | --- | --- | --- |')
for (const engine of engines) {
  const label = `scrub ${engine}`
  const stageNames = Object.keys(samples[label][0].stages)
  const stageText = stageNames.map((name) => `${name} ${f(median(samples[label].map((m) => m.stages[name].wall)))} (${f(median(samples[label].map((m) => m.stages[name].self + m.stages[name].children)))})`).join(', ')
  console.log(`| ${engine} | ${f(med(label))} | ${f(med(label) / anchor)}× | ${f(med(label, 'self'))} / ${f(med(label, 'children'))} | ${stageText} | ${samples[label][0].tree.slice(0, 12)} |`)
}
console.log(`\nPer round (wall s): ${Object.entries(samples).map(([label, ms]) => `${label}: ${ms.map((m) => f(m.wall)).join(' / ')}`).join('; ')}`)
if (!argv.includes('--keep')) rmSync(work, {recursive: true, force: true})
