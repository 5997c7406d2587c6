import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {runCli, type CliResult} from '../../helpers/cli.js'
import {decryptSopsFile} from '../../../src/lib/sops/decrypt.js'
import {commitAll, DEMO_KEY_FILE, EXAMPLE_REPO, exampleRepo, freshCloneOf, sh, workDir, write} from '../git/hardening-fixtures.js'

// Only values sops encrypted are known values; ordinary
// words from the clear fields of a SOPS file (namespace: payments, kind,
// metadata.name) must survive a scrub with --replace-values.
describe('git scan/scrub --values-from sops take only what sops encrypted (bundled example, real sops)', () => {
  const work = workDir('git-known-values-')
  const outputs: CliResult[] = []
  let leaked: string
  let source: string
  const cli = async (args: string[]) => {
    const result = await runCli(args, {env: {SOPS_AGE_KEY_FILE: DEMO_KEY_FILE}})
    outputs.push(result)
    return result
  }

  beforeAll(async () => {
    const identity = readFileSync(DEMO_KEY_FILE, 'utf8').split('\n').find((line) => line.startsWith('AGE-SECRET-KEY-'))!
    const decrypted = await decryptSopsFile(join(EXAMPLE_REPO, 'clusters/prod/payments/db-credentials.sops.yaml'), {ageKeys: [identity], engine: 'builtin'})
    leaked = String((decrypted.documents[0] as {stringData: {password: string}}).stringData.password)
    source = exampleRepo(join(work.dir, 'source'))
    write(source, 'apps/payments/deployment.yaml', 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: db-credentials-reader\n  namespace: payments\n')
    commitAll(source, 'deploy payments into namespace payments')
    write(source, 'debug.txt', `password=${leaked}\n`)
    commitAll(source, 'debug the payments database')
  })

  afterAll(() => {
    for (const output of outputs) {
      expect(output.stdout).not.toContain(leaked)
      expect(output.stderr).not.toContain(leaked)
    }
    work.cleanup()
  })

  test('scan finds the leaked encrypted value, never the clear fields, and names the values it left out', async () => {
    const result = await cli(['git', 'scan', source, '--values-from', 'sops', '--json'])
    expect(result.code).toBe(1)
    const report = JSON.parse(result.stdout)
    const keys = report.valueFindings.flatMap((finding: {matches: {key: string}[]}) => finding.matches.map((match) => match.key))
    expect(keys).toEqual(['stringData.password'])
    expect(report.valueFindings[0].paths).toEqual(['debug.txt'])
    // 'payments' (8 bytes) would pass the length rule: only the ENC[...] rule keeps it out.
    expect(JSON.stringify(report)).not.toMatch(/"key":"metadata\.(namespace|name)"/)
    expect(report.skippedValues.map((skip: {key: string}) => skip.key).sort()).toEqual(['GF_SECURITY_ADMIN_USER', 'retries'])
  })

  test('the plan shows, per secret/key name, how many blobs and messages each value would rewrite', async () => {
    const clone = freshCloneOf(source, join(work.dir, 'plan-clone'))
    const human = await cli(['git', 'scrub', clone, '--values-from', 'sops', '--replace-values', '--dry-run'])
    expect(human.code).toBe(1)
    expect(human.stdout).toMatch(/clusters\/prod\/payments\/db-credentials\.sops\.yaml\s+stringData\.password\s+1\s+0/)
    expect(human.stdout).toMatch(/2 values shorter than 8 bytes are left out/)
    const json = JSON.parse((await cli(['git', 'scrub', clone, '--values-from', 'sops', '--replace-values', '--dry-run', '--json'])).stdout)
    expect(json.plan.valueImpact).toEqual([{source: expect.stringMatching(/^sops:/), secret: 'clusters/prod/payments/db-credentials.sops.yaml', key: 'stringData.password', blobs: 1, messages: 0}])
    const strict = JSON.parse((await cli(['git', 'scrub', clone, '--values-from', 'sops', '--replace-values', '--dry-run', '--json', '--min-value-length', '100'])).stdout)
    expect(strict.plan.valueImpact).toEqual([])
    expect(strict.plan.skippedValues.length).toBeGreaterThan(2)
  })

  test.each(['builtin', 'filter-repo'])('scrub --replace-values (%s) removes the leak and keeps "namespace: payments" in files and messages', async (engine) => {
    const clone = freshCloneOf(source, join(work.dir, `clone-${engine}`))
    const result = await cli(['git', 'scrub', clone, '--values-from', 'sops', '--replace-values', '--yes', '--engine', engine])
    // stderr is part of the compared object so that a failure shows it.
    expect({code: result.code, stderr: result.stderr}).toMatchObject({code: 0})
    expect(sh(clone, 'show', 'HEAD:apps/payments/deployment.yaml')).toContain('namespace: payments')
    expect(sh(clone, 'show', 'HEAD:apps/payments/deployment.yaml')).toContain('name: db-credentials-reader')
    expect(sh(clone, 'log', '--format=%B', 'main')).toContain('deploy payments into namespace payments')
    expect(sh(clone, 'show', 'HEAD:debug.txt')).toBe('password=***REMOVED***')
    expect(sh(clone, 'log', '--all', '--format=%B')).not.toContain('***REMOVED***')
  })
})
