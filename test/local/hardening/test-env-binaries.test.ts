// scripts/test-env/binaries.sh chooses the ESO release with TEST_ESO_VERSION,
// keeps each release under its own cache name, lists Flux's controllers, and
// refuses a missing or altered ESO source archive with a message that says
// what to do — before anything is built. Every case runs against a temporary
// cache and vendor directory, so nothing here builds or touches the real cache.
import {spawnSync} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'

import {DEFAULT_ESO_VERSION, PROJECT_ROOT} from '../../helpers/binaries.js'

const SCRIPT = resolve(PROJECT_ROOT, 'scripts/test-env/binaries.sh')

describe('scripts/test-env/binaries.sh', () => {
  let scratch: string
  let cache: string
  let vendor: string

  beforeEach(() => {
    scratch = mkdtempSync(join(tmpdir(), 'test-env-binaries-'))
    cache = join(scratch, 'cache')
    vendor = join(scratch, 'vendor-src')
    mkdirSync(vendor, {recursive: true})
  })
  afterEach(() => rmSync(scratch, {recursive: true, force: true}))

  function run(args: string[], env: Record<string, string> = {}) {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.endsWith('_BIN') && name !== 'TEST_ESO_VERSION'))
    const result = spawnSync(SCRIPT, args, {
      encoding: 'utf8',
      env: {...clean, SECRETS_TOOLKIT_CACHE: cache, SECRETS_TOOLKIT_VENDOR_SRC: vendor, ...env},
      timeout: 60_000,
    })
    return {status: result.status, stdout: result.stdout, stderr: result.stderr}
  }

  function fakeBinary(name: string): string {
    const path = join(cache, 'testbin', name)
    mkdirSync(join(cache, 'testbin'), {recursive: true})
    writeFileSync(path, '#!/bin/sh\n')
    chmodSync(path, 0o755)
    return path
  }

  test('TEST_ESO_VERSION picks the cached ESO of that release, v2.9.0 by default; each release has its own cache name', () => {
    const v2 = fakeBinary('eso-v2.9.0')
    const v0 = fakeBinary('eso-v0.20.4')
    expect(run(['paths', 'eso'], {TEST_ESO_VERSION: 'v2.9.0'}).stdout).toBe(`eso=${v2}\n`)
    expect(run(['paths', 'eso'], {TEST_ESO_VERSION: 'v0.20.4'}).stdout).toBe(`eso=${v0}\n`)
    // The default is the current release line.
    expect(run(['paths', 'eso']).stdout).toBe(`eso=${v2}\n`)
    expect(DEFAULT_ESO_VERSION).toBe('v2.9.0')
  })

  test('an unknown TEST_ESO_VERSION is refused with the versions it accepts', () => {
    const result = run(['paths', 'eso'], {TEST_ESO_VERSION: 'v1.0.0'})
    expect(result.status).toBe(2)
    expect(result.stderr).toContain('TEST_ESO_VERSION must be one of: v2.9.0 v0.20.4 (not v1.0.0)')
  })

  test('Flux source-controller and kustomize-controller are test binaries with their own variables and cache names', () => {
    expect(run(['paths']).stdout).toMatch(/^flux-source-controller=$/m)
    expect(run(['paths']).stdout).toMatch(/^flux-kustomize-controller=$/m)
    const source = fakeBinary('flux-source-controller-v1.9.6')
    const kustomize = fakeBinary('flux-kustomize-controller-v1.9.6')
    expect(run(['paths', 'flux-source-controller', 'flux-kustomize-controller']).stdout).toBe(`flux-source-controller=${source}\nflux-kustomize-controller=${kustomize}\n`)
    expect(run(['ensure', 'flux-kustomize-controller'], {FLUX_KUSTOMIZE_CONTROLLER_BIN: '/opt/flux/kc'}).stdout).toBe('flux-kustomize-controller=/opt/flux/kc\n')
  })

  /**
   * A stand-in for Go whose build fails after recording its arguments: the
   * real module download and compiler are not what these tests are about.
   */
  function failingGo(): {path: string; buildArgs: () => string} {
    const fakeModule = join(scratch, 'module')
    mkdirSync(join(fakeModule, 'config', 'crd', 'bases'), {recursive: true})
    writeFileSync(join(fakeModule, 'go.mod'), 'module example.invalid/controller\n')
    writeFileSync(join(fakeModule, 'config', 'crd', 'bases', 'crd.yaml'), 'kind: CustomResourceDefinition\n')
    const fakeGo = join(scratch, 'fake-go')
    const record = join(scratch, 'go-build-args')
    mkdirSync(fakeGo)
    writeFileSync(
      join(fakeGo, 'go'),
      [
        '#!/bin/sh',
        'case "$1 $2" in',
        '  "env GOVERSION") echo go1.26.8 ;;',
        `  "mod download") printf '{\\n\\t"Dir": "%s",\\n}\\n' '${fakeModule}' ;;`,
        '  "mod edit") ;;',
        `  build*) echo "$@" > '${record}'; echo "compile error" >&2; exit 1 ;;`,
        'esac',
        '',
      ].join('\n'),
    )
    chmodSync(join(fakeGo, 'go'), 0o755)
    return {path: `${fakeGo}:${process.env.PATH ?? ''}`, buildArgs: () => readFileSync(record, 'utf8')}
  }

  test('ESO v2.9.0 is built from the vendored archive with the Vault provider compiled in (its build tag)', () => {
    // The real archive: the integration tests need it anyway (ESO v2.9.0 is their default).
    const go = failingGo()
    const v2 = run(['ensure', 'eso'], {PATH: go.path, TEST_ESO_VERSION: 'v2.9.0', SECRETS_TOOLKIT_VENDOR_SRC: resolve(PROJECT_ROOT, '../shared/vendor-src')})
    expect(v2.status).not.toBe(0)
    expect(go.buildArgs()).toMatch(/(^| )-tags vault( |$)/)
    expect(existsSync(join(cache, 'build', 'eso-v2.9.0', 'src', 'pkg', 'register', 'vault.go'))).toBe(true)
  })

  test('a failed build exits non-zero and reports no binary, instead of "provided"', () => {
    const go = failingGo()
    const result = run(['ensure', 'flux-kustomize-controller'], {PATH: go.path})
    expect(result.status).not.toBe(0)
    expect(result.stdout).toBe('')
    expect(result.stderr).toContain('compile error')
    expect(result.stderr).not.toContain('provided flux-kustomize-controller')
    expect(readdirSync(join(cache, 'testbin'))).toEqual([])
  })

  test('a missing ESO v2.9.0 source archive fails before building, naming the file and the alternatives', () => {
    const result = run(['ensure', 'eso'], {TEST_ESO_VERSION: 'v2.9.0'})
    expect(result.status).toBe(2)
    expect(result.stderr).toContain(`the ESO v2.9.0 source archive is missing: expected ${join(vendor, 'external-secrets-v2.9.0.tar.gz')}`)
    expect(result.stderr).toContain('TEST_ESO_VERSION=v0.20.4')
    expect(existsSync(join(cache, 'testbin')) ? readdirSync(join(cache, 'testbin')) : []).toEqual([])
  })

  test('an ESO source archive with another sha256 is refused before it is extracted', () => {
    writeFileSync(join(vendor, 'external-secrets-v2.9.0.tar.gz'), 'not the release')
    const result = run(['ensure', 'eso'], {TEST_ESO_VERSION: 'v2.9.0'})
    expect(result.status).toBe(2)
    expect(result.stderr).toMatch(/external-secrets-v2\.9\.0\.tar\.gz has sha256 [0-9a-f]{64}, not the cadff23371ddbe00baa65d4d7e9fddbe47a92a7bf450cc3553b0e9e6622e3516 of ESO v2\.9\.0/)
    expect(existsSync(join(cache, 'build', 'eso-v2.9.0', 'src', 'go.mod'))).toBe(false)
    expect(readdirSync(join(cache, 'testbin'))).toEqual([])
  })
})
