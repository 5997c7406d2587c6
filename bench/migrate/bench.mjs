// `migrate sops` on 1,000 generated SOPS files, in the real environment
// (etcd + kube-apiserver + two Vault servers + the ESO controller, started by
// the integration test environment code):
//   1. the CLI with the built-in engine (decrypt in-process, SSA Secrets + PushSecrets);
//   2. the CLI with the real sops binary as engine;
//   3. the shell loop people write instead, `sops -d | kubectl create --dry-run -o yaml | kubectl apply`,
//      timed on a sample and extrapolated (it does less: no PushSecrets, no pre-flight).
// Usage: npm run build && node bench/migrate/bench.mjs [--files 1000] [--loop-sample 100]
import {execFileSync, spawnSync} from 'node:child_process'
import {cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {performance} from 'node:perf_hooks'
import {fileURLToPath, pathToFileURL} from 'node:url'

import {generateIdentity, identityToRecipient} from 'age-encryption'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const arg = (name, fallback) => (process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : fallback)
const FILES = arg('--files', 1000)
const LOOP_SAMPLE = arg('--loop-sample', 100)
const DISTINCT = 20

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
execFileSync(process.execPath, [tsc, '-p', resolve(root, 'tsconfig.test-env.json')], {cwd: root, stdio: 'inherit'})
const {startEnvironment} = await import(pathToFileURL(resolve(root, 'test-output/.build/test/env/environment.js')).href)

const work = mkdtempSync(join(tmpdir(), 'secrets-bench-migrate-'))
// A frozen copy of the built CLI: a rebuild in the checkout during a long run would otherwise pull dist/ away.
const cli = join(work, 'cli')
mkdirSync(cli)
for (const entry of ['dist', 'bin', 'package.json', 'oclif.manifest.json']) cpSync(join(root, entry), join(cli, entry), {recursive: true})
symlinkSync(join(root, 'node_modules'), join(cli, 'node_modules'))
const running = await startEnvironment()
try {
  const {env} = running
  const sops = env.binaries.sops
  const kubectl = env.binaries.kubectl
  const identity = await generateIdentity()
  const recipient = await identityToRecipient(identity)
  const keyFile = join(work, 'bench-age-key.txt')
  writeFileSync(keyFile, `${identity}\n`, {mode: 0o600})

  // A few distinct real sops outputs, copied under 1,000 names in 50 directories:
  // each file name becomes its own Secret.
  const templates = []
  for (let i = 0; i < DISTINCT; i++) {
    const plain = `username: user${i}\npassword: bench-password-${i}-${'x'.repeat(24)}\napi_key: bench-key-${i}\nport: ${5000 + i}\n`
    // sops reads only paths; `cat` gives it a real pipe as /dev/stdin (Node's stdin to a child is a socket).
    templates.push(execFileSync('bash', ['-c', 'cat | "$0" "$@"', sops, 'encrypt', '--age', recipient, '--input-type', 'yaml', '--output-type', 'yaml', '/dev/stdin'], {input: plain, env: {...process.env, SOPS_DISABLE_VERSION_CHECK: '1'}}))
  }
  const tree = join(work, 'tree')
  const files = []
  for (let i = 0; i < FILES; i++) {
    const dir = join(tree, `team-${String(i % 50).padStart(2, '0')}`)
    mkdirSync(dir, {recursive: true})
    const file = join(dir, `app-${String(i).padStart(4, '0')}.sops.yaml`)
    writeFileSync(file, templates[i % DISTINCT])
    files.push(file)
  }

  const cliEnv = {...process.env, ...env.tokenEnv, KUBECONFIG: env.kubeconfig, SOPS_AGE_KEY_FILE: keyFile, SOPS_DISABLE_VERSION_CHECK: '1', NO_COLOR: '1'}
  const timeCli = (label, args, extraEnv = {}) => {
    const started = performance.now()
    const result = spawnSync(process.execPath, [join(cli, 'bin/run.js'), ...args, '--config', env.configPath], {env: {...cliEnv, ...extraEnv}, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024})
    const seconds = (performance.now() - started) / 1000
    if (result.status !== 0) throw new Error(`${label} exited ${result.status}: ${result.stderr.toString().slice(-2000)}`)
    return seconds
  }
  const rows = []
  rows.push(['CLI, built-in engine, `--dry-run` (find + decrypt + plan)', timeCli('dry', ['migrate', 'sops', tree, '--namespace', 'bench-dry', '--dry-run', '--engine', 'builtin'])])
  rows.push(['CLI, built-in engine (find, decrypt, pre-flight both Vaults, SSA 1,000 Secrets + 1,000 PushSecrets)', timeCli('builtin', ['migrate', 'sops', tree, '--namespace', 'bench-builtin', '--create-namespaces', '--yes', '--engine', 'builtin'])])
  rows.push(['CLI, built-in engine, re-run (everything already in place: nothing changed)', timeCli('rerun', ['migrate', 'sops', tree, '--namespace', 'bench-builtin', '--yes', '--engine', 'builtin'])])
  rows.push(['CLI, sops binary engine (same work)', timeCli('sops', ['migrate', 'sops', tree, '--namespace', 'bench-sops', '--create-namespaces', '--yes', '--engine', 'sops'], {SOPS_BIN: sops})])

  execFileSync(kubectl, ['--kubeconfig', env.kubeconfig, 'create', 'namespace', 'bench-loop'], {stdio: 'ignore'})
  const sample = files.slice(0, LOOP_SAMPLE)
  const script = `set -euo pipefail\nfor f in "$@"; do n=$(basename "$f" .sops.yaml); "$SOPS" -d --output-type dotenv "$f" | "$KUBECTL" create secret generic "$n" -n bench-loop --from-env-file=/dev/stdin --dry-run=client -o yaml | "$KUBECTL" apply -f - >/dev/null; done\n`
  const started = performance.now()
  const loop = spawnSync('bash', ['-c', script, 'loop', ...sample], {env: {...cliEnv, SOPS: sops, KUBECTL: kubectl}, stdio: ['ignore', 'ignore', 'pipe']})
  if (loop.status !== 0) throw new Error(`shell loop failed: ${loop.stderr.toString().slice(-1000)}`)
  const loopSeconds = ((performance.now() - started) / 1000) * (FILES / LOOP_SAMPLE)
  rows.push([`shell loop \`sops -d | kubectl create --dry-run -o yaml | kubectl apply\` (${LOOP_SAMPLE} files timed, ×${FILES / LOOP_SAMPLE})`, loopSeconds])

  console.log(`${FILES} SOPS files (${DISTINCT} distinct real sops outputs, 4 keys each, 50 directories); Secrets and PushSecrets applied to a real kube-apiserver while ESO pushes to two Vault servers.\n`)
  console.log('| run | wall time (s) | files/s |\n| --- | --- | --- |')
  for (const [label, seconds] of rows) console.log(`| ${label} | ${seconds.toFixed(1)} | ${(FILES / seconds).toFixed(0)} |`)
  const builtin = rows[1][1]
  console.log(`\nBuilt-in engine vs shell loop: ${(loopSeconds / builtin).toFixed(1)}× faster.`)
} finally {
  await running.stop()
  rmSync(work, {recursive: true, force: true})
}
