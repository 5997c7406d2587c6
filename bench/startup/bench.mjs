// Measures how long `secrets --help` and `secrets <topic> --help` take to start
// (the oclif manifest is used, so commands are not loaded to list them).
// Usage: npm run build && node bench/startup/bench.mjs [--runs 20]
import {spawnSync} from 'node:child_process'
import {performance} from 'node:perf_hooks'
import {fileURLToPath} from 'node:url'
import {dirname, resolve} from 'node:path'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 20
const cases = [
  ['node -e ""  (Node start-up floor)', ['-e', '']],
  ['secrets --help', [resolve(root, 'bin/run.js'), '--help']],
  ['secrets migrate --help', [resolve(root, 'bin/run.js'), 'migrate', '--help']],
  ['secrets migrate sops --help', [resolve(root, 'bin/run.js'), 'migrate', 'sops', '--help']],
]

const rows = []
for (const [name, args] of cases) {
  const times = []
  for (let i = 0; i < runs + 2; i++) {
    const started = performance.now()
    const result = spawnSync(process.execPath, args, {cwd: root, stdio: 'ignore'})
    if (result.status !== 0) throw new Error(`${name} exited ${result.status}`)
    if (i >= 2) times.push(performance.now() - started) // two warm-up runs fill the OS cache
  }
  times.sort((a, b) => a - b)
  const pick = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))]
  rows.push({name, median: pick(0.5), p90: pick(0.9), min: times[0]})
}
console.log(`| command | median (ms) | p90 (ms) | min (ms) |\n| --- | --- | --- | --- |`)
for (const row of rows) console.log(`| \`${row.name}\` | ${row.median.toFixed(0)} | ${row.p90.toFixed(0)} | ${row.min.toFixed(0)} |`)
