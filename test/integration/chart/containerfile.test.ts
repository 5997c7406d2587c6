// The Containerfile, checked with what runs on this machine (no container
// builder works here: docs/operations.md#the-container-image): hadolint, its
// pins (sops' version the tests use, and its module checksum as the Go module
// proxy and checksum database serve it), the sops stage's own commands run
// with the local Go, the non-root user the chart expects, and what the build
// context leaves out. `npm run image` refuses clearly where no builder works.
import {execFileSync, spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, symlinkSync, mkdirSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {parse as parseYaml} from 'yaml'

import {PROJECT_ROOT} from '../../helpers/binaries.js'
import {CHART, goCommand} from './chart-helpers.js'
import {requireHadolint} from './hadolint.js'

const CONTAINERFILE = join(PROJECT_ROOT, 'Containerfile')

/** Instructions, with continuation lines joined and comments dropped. */
function instructions(text: string): Array<{keyword: string; rest: string; stage: number}> {
  const out: Array<{keyword: string; rest: string; stage: number}> = []
  let stage = -1
  let pending = ''
  for (const line of text.split('\n')) {
    if (/^\s*#/.test(line) && pending === '') continue
    pending += line.replace(/\\$/, '')
    if (line.endsWith('\\')) continue
    const match = /^\s*([A-Z]+)\s+(.*)$/.exec(pending)
    pending = ''
    if (!match) continue
    if (match[1] === 'FROM') stage++
    out.push({keyword: match[1], rest: match[2].trim(), stage})
  }
  return out
}

function argDefault(text: string, name: string): string {
  const match = new RegExp(`^ARG ${name}=(\\S+)$`, 'm').exec(text)
  if (!match) throw new Error(`the Containerfile has no ARG ${name}=…`)
  return match[1]
}

describe('the container image (Containerfile, npm run image)', () => {
  const text = readFileSync(CONTAINERFILE, 'utf8')
  const steps = instructions(text)

  test('hadolint finds nothing (every ignore carries its reason)', () => {
    const result = spawnSync(requireHadolint(), ['--no-color', CONTAINERFILE], {encoding: 'utf8'})
    expect(`${result.stdout}${result.stderr}`).toBe('')
    expect(result.status).toBe(0)
    for (const [index, line] of text.split('\n').entries()) {
      if (line.startsWith('# hadolint ignore=')) expect(text.split('\n')[index - 1]).toMatch(/^#/)
    }
  })

  test('base images are pinned to a release, never a floating tag', () => {
    const froms = steps.filter((step) => step.keyword === 'FROM').map((step) => step.rest.split(/\s+/)[0])
    expect(froms).toEqual(['${GO_IMAGE}', '${NODE_IMAGE}', '${NODE_IMAGE}'])
    expect(argDefault(text, 'NODE_IMAGE')).toMatch(/^docker\.io\/library\/node:22\.\d+\.\d+-bookworm-slim$/)
    expect(argDefault(text, 'GO_IMAGE')).toMatch(/^docker\.io\/library\/golang:1\.\d+\.\d+-bookworm$/)
  })

  test('sops is pinned to the version the tests run and to its module checksum, which the Go module proxy confirms', () => {
    const version = argDefault(text, 'SOPS_VERSION')
    const binaries = readFileSync(join(PROJECT_ROOT, 'scripts/test-env/binaries.sh'), 'utf8')
    expect(version).toBe(/^SOPS_VERSION=(\S+)$/m.exec(binaries)?.[1])
    const served = JSON.parse(goCommand(['mod', 'download', '-json', `github.com/getsops/sops/v3@${version}`], {cwd: tmpdir()})) as {Sum: string}
    expect(argDefault(text, 'SOPS_MODULE_SUM')).toBe(served.Sum)
  })

  test("the sops stage's own commands build and check sops with the local Go (and refuse a wrong checksum)", () => {
    const sopsStep = steps.find((step) => step.stage === 0 && step.keyword === 'RUN')!
    const dir = mkdtempSync(join(tmpdir(), 'secrets-image-sops-'))
    try {
      const script = sopsStep.rest.replaceAll('/build', dir)
      const run = (sum: string) =>
        spawnSync('bash', ['-o', 'pipefail', '-c', script], {
          cwd: dir,
          encoding: 'utf8',
          timeout: 1_200_000,
          env: {
            ...process.env,
            SOPS_VERSION: argDefault(text, 'SOPS_VERSION'),
            SOPS_MODULE_SUM: sum,
            CGO_ENABLED: '0',
            GOTOOLCHAIN: 'local',
            GOFLAGS: '-trimpath -modcacherw',
            GOMODCACHE: join(process.env.SECRETS_TOOLKIT_CACHE ?? join(process.env.HOME ?? '/root', '.cache/secrets-toolkit'), 'gomod'),
            GOCACHE: join(process.env.SECRETS_TOOLKIT_CACHE ?? join(process.env.HOME ?? '/root', '.cache/secrets-toolkit'), 'gocache'),
          },
        })
      const wrong = run('h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=')
      expect(wrong.status).not.toBe(0)
      const good = run(argDefault(text, 'SOPS_MODULE_SUM'))
      if (good.status !== 0) throw new Error(`the sops stage failed:\n${good.stderr}`)
      expect(execFileSync(join(dir, 'sops'), ['--version', '--disable-version-check'], {encoding: 'utf8'})).toContain(argDefault(text, 'SOPS_VERSION').slice(1))
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  }, 1_500_000)

  test('the image runs as the non-root user the chart runs it as, with the CLI as its entrypoint', () => {
    const final = Math.max(...steps.map((step) => step.stage))
    const users = steps.filter((step) => step.stage === final && step.keyword === 'USER')
    expect(users.map((step) => step.rest)).toEqual(['10001:10001'])
    expect(steps.filter((step) => step.stage === final).at(-2)).toEqual({keyword: 'ENTRYPOINT', rest: '["secrets"]', stage: final})
    const values = parseYaml(readFileSync(join(CHART, 'values.yaml'), 'utf8'))
    expect(values.podSecurityContext).toMatchObject({runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001})
    expect(readFileSync(join(CHART, 'templates/_helpers.tpl'), 'utf8')).toContain('command: ["secrets"]')
    // The chart mounts /tmp writable; HOME and TMPDIR point there in the image too.
    expect(steps.find((step) => step.stage === final && step.keyword === 'ENV' && step.rest.includes('HOME='))?.rest).toMatch(/HOME=\/tmp .*TMPDIR=\/tmp/)
  })

  test('the build context leaves out what the image does not copy, and keeps what it does', () => {
    const copied = steps.filter((step) => step.keyword === 'COPY' && !step.rest.startsWith('--from')).flatMap((step) => step.rest.split(/\s+/).slice(0, -1))
    expect(copied.sort()).toEqual(['LICENSE', 'README.md', 'bin', 'package-lock.json', 'package.json', 'src', 'tsconfig.build.json', 'tsconfig.json'].sort())
    for (const file of ['.containerignore', '.dockerignore']) {
      const ignored = readFileSync(join(PROJECT_ROOT, file), 'utf8').split('\n').filter((line) => line && !line.startsWith('#'))
      expect(ignored).toEqual(expect.arrayContaining(['.git', 'node_modules', 'dist', 'test-output']))
      for (const path of copied) expect(ignored).not.toContain(path)
    }
  })

  test('npm run image without a working builder exits 2 and says what to install', () => {
    // A PATH with node and git only: no buildah, podman or docker.
    const bin = mkdtempSync(join(tmpdir(), 'secrets-image-path-'))
    mkdirSync(join(bin, 'b'))
    for (const tool of ['node', 'git', 'bash', 'dirname']) symlinkSync(execFileSync('bash', ['-c', `command -v ${tool}`], {encoding: 'utf8'}).trim(), join(bin, 'b', tool))
    const result = spawnSync(join(PROJECT_ROOT, 'scripts/image.sh'), [], {encoding: 'utf8', env: {PATH: join(bin, 'b'), HOME: bin}})
    rmSync(bin, {recursive: true, force: true})
    expect(result.status).toBe(2)
    expect(result.stderr).toContain('no container builder works here (installed: none')
    expect(result.stderr).toContain('apt-get install -y buildah')
  })
})
