import {execFileSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {errorOutputSchema, jsonSchemaDocuments, outputSchemas} from '../../../src/lib/cli/output-schemas.js'
import type {BootstrapJson} from '../../../src/lib/bootstrap/output-schema.js'
import type {VerifyRegionsJson} from '../../../src/lib/regions/output-schema.js'
import type {MigrateVerifyJson} from '../../../src/lib/migrate/output-schema.js'
import type {DrRestoreOutput, DrSnapshotOutput} from '../../../src/lib/dr/output-schema.js'
import {PROJECT_ROOT} from '../../helpers/binaries.js'
import {runCli} from '../../helpers/cli.js'

// Runs the built CLI (npm run build first) on cases that need no server.

describe('docs/schemas', () => {
  it('are what `npm run schemas` generates from the zod output schemas', () => {
    const documents = jsonSchemaDocuments()
    const directory = join(PROJECT_ROOT, 'docs/schemas')
    expect(readdirSync(directory).filter((name) => name.endsWith('.json')).sort()).toEqual(Object.keys(documents).sort())
    for (const [name, document] of Object.entries(documents)) {
      expect({name, text: readFileSync(join(directory, name), 'utf8')}).toEqual({name, text: `${JSON.stringify(document, null, 2)}\n`})
    }
  })
})

describe('real --json outputs validate against their command\'s schema', () => {
  let scratch: string
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'schemas-'))
  })
  afterAll(() => rmSync(scratch, {recursive: true, force: true}))

  function parsed(stdout: string): unknown {
    return JSON.parse(stdout)
  }

  it('git scan and git scrub --dry-run on a small repository', async () => {
    const repo = join(scratch, 'repo')
    mkdirSync(repo)
    const git = (...args: string[]) => execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], {cwd: repo})
    git('init', '-q')
    writeFileSync(join(repo, 'a.txt'), 'hello\n')
    git('add', 'a.txt')
    git('commit', '-qm', 'first')
    const scan = await runCli(['git', 'scan', repo, '--json'])
    expect(scan.code).toBe(0)
    outputSchemas['git-scan'].parse(parsed(scan.stdout))
    const scrub = await runCli(['git', 'scrub', repo, '--dry-run', '--force', '--json'])
    outputSchemas['git-scrub'].parse(parsed(scrub.stdout))
  }, 120_000)

  it('bootstrap --print-spec --json is one JSON document carrying the spec', async () => {
    const printed = await runCli(['bootstrap', '--print-spec', '--json'])
    expect(printed.code).toBe(0)
    const output = outputSchemas.bootstrap.parse(parsed(printed.stdout))
    expect(output).toMatchObject({mode: 'print-spec', spec: expect.stringContaining('secrets:')})
  }, 60_000)

  it('dr list and dr verify', async () => {
    const list = await runCli(['dr', 'list', scratch, '--json'])
    outputSchemas['dr-list'].parse(parsed(list.stdout))
    const junk = join(scratch, 'junk.snap')
    writeFileSync(junk, 'not a snapshot\n')
    const verify = await runCli(['dr', 'verify', junk, '--json'])
    expect(verify.code).toBe(1)
    outputSchemas['dr-verify'].parse(parsed(verify.stdout))
  }, 120_000)

  it('migrate sops --dry-run on the example repository', async () => {
    const dir = join(PROJECT_ROOT, 'examples/gitops')
    const run = await runCli(['migrate', 'sops', dir, '--config', join(dir, 'secrets-toolkit.yaml'), '--mapping', join(dir, 'mapping.yaml'), '--dry-run', '--json'], {
      env: {SOPS_AGE_KEY_FILE: join(dir, 'DEMO-age-key.txt')},
    })
    expect(run.code).toBe(0)
    outputSchemas['migrate-sops'].parse(parsed(run.stdout))
  }, 120_000)

  it('an error', async () => {
    const error = await runCli(['verify', 'regions', '--deadline', 'soon', '--json'])
    expect(error.code).toBe(2)
    errorOutputSchema.parse(parsed(error.stdout))
  }, 120_000)
})

describe('outputs that need servers: samples typed with the commands\' own result types', () => {
  const comparison: VerifyRegionsJson = {
    regions: ['region1', 'region2'],
    prefix: '',
    exclude: [],
    keysCompared: 2,
    counts: {'value-differs': 1, 'metadata-differs': 0, 'only-in-region1': 0, 'only-in-region2': 0},
    keysWithDrift: 1,
    inSync: false,
    differences: [{key: 'apps/a', classes: ['value-differs']}],
    errors: [],
    durationMs: 12,
  }
  it('verify regions', () => {
    outputSchemas['verify-regions'].parse({...comparison, repair: {dryRun: true, plan: {steps: []}}, warnings: []})
  })
  it('migrate verify', () => {
    const report: MigrateVerifyJson = {
      secrets: 1,
      rows: [{secret: 'ns/a', where: 'region region1', status: 'in-sync', keys: ['k']}],
      counts: {'in-sync': 1},
      inSync: true,
      completeness: {basis: ['run-records'], proven: true, runRecords: [{object: 'ns/run', id: 'r1', state: 'complete', planned: 1}], missing: []},
      verifiedSources: [],
    }
    outputSchemas['migrate-verify'].parse({...report, warnings: []})
  })
  it('dr snapshot and dr restore', () => {
    const snapshot: DrSnapshotOutput = {file: '/b/s.snap', manifestFile: '/b/s.json', manifest: {region: 'region1'}, pruned: []}
    outputSchemas['dr-snapshot'].parse({...snapshot, warnings: []})
    const restore: DrRestoreOutput = {dryRun: false, checkOnly: false, restored: true, ok: true, checks: [], comparison, safetySnapshot: {file: '/b/x.snap', manifestFile: '/b/x.json', verified: true}}
    outputSchemas['dr-restore'].parse({...restore, warnings: []})
  })
  it('bootstrap', () => {
    const samples: BootstrapJson[] = [{mode: 'print-spec'}, {mode: 'manifests', files: [{path: 'push-secrets.yaml'}]}, {mode: 'wizard', result: {written: ['ns/creds']}}]
    for (const sample of samples) outputSchemas.bootstrap.parse({...sample, warnings: []})
  })
  it('a result without its warnings is refused (BaseCommand always adds them)', () => {
    expect(outputSchemas['dr-list'].safeParse({directory: '/b', entries: [], strays: []}).success).toBe(false)
  })
})
