import {watch, readdirSync, mkdirSync} from 'node:fs'
import {join} from 'node:path'

import {runCli} from '../../helpers/cli.js'
import {FIXTURES, fixture, LEAKED_VALUE, SOPS} from '../git/fixture-repo.js'
import {commitAll, freshCloneOf, newRepo, sh, workDir, write} from '../git/hardening-fixtures.js'

// `git scan --values-from sops` wrote each SOPS blob to a
// secrets-scan-* temporary file for the decryptor; an interrupted scan left
// ciphertext copies behind. Now nothing is written: the built-in engine takes
// the bytes, the sops binary reads them from its stdin.
describe('git scan --values-from sops writes no temporary files', () => {
  const work = workDir('git-no-temp-')
  let repo: string

  beforeAll(() => {
    repo = newRepo(join(work.dir, 'repo'))
    write(repo, 'secrets/db.enc.yaml', fixture(SOPS.humphdYaml))
    write(repo, 'secrets/db.enc.json', fixture(SOPS.humphdJson))
    write(repo, 'app/config.txt', `password=${LEAKED_VALUE}\n`)
    commitAll(repo, 'app')
  })

  afterAll(() => work.cleanup())

  test.each([
    ['the sops binary (stdin)', {}],
    ['the built-in engine', {SOPS_BIN: ''}],
  ])('%s: values are found and the temporary directory sees no file at all', async (_name, engineEnv) => {
    const tmp = join(work.dir, `tmp-${Object.keys(engineEnv).length}`)
    mkdirSync(tmp)
    const created: string[] = []
    // Watching catches files that were removed again before the run ended.
    const watcher = watch(tmp, (_event, name) => created.push(String(name)))
    try {
      const result = await runCli(['git', 'scan', repo, '--values-from', 'sops', '--json'], {env: {TMPDIR: tmp, SOPS_AGE_KEY_FILE: join(FIXTURES, SOPS.humphdKey), ...engineEnv}})
      expect({code: result.code, stderr: result.stderr}).toMatchObject({code: 1})
      const report = JSON.parse(result.stdout)
      expect(report.valueFindings.map((finding: {paths: string[]}) => finding.paths)).toContainEqual(['app/config.txt'])
      expect(result.stdout + result.stderr).not.toContain(LEAKED_VALUE)
    } finally {
      watcher.close()
    }
    expect(created.filter((name) => name.startsWith('secrets-scan-'))).toEqual([])
    expect(readdirSync(tmp)).toEqual([])
  })

  // The same class in scrub: git-filter-repo got the replacement list (the
  // plaintext values) from a temporary file that an interrupted run left behind.
  test('scrub --replace-values with git-filter-repo hands it the values through a pipe, not a file', async () => {
    const clone = freshCloneOf(repo, join(work.dir, 'clone'))
    const tmp = join(work.dir, 'tmp-scrub')
    mkdirSync(tmp)
    const created: string[] = []
    const watcher = watch(tmp, (_event, name) => created.push(String(name)))
    try {
      const result = await runCli(['git', 'scrub', clone, '--values-from', 'sops', '--replace-values', '--yes', '--engine', 'filter-repo'], {env: {TMPDIR: tmp, SOPS_AGE_KEY_FILE: join(FIXTURES, SOPS.humphdKey)}})
      expect({code: result.code, stderr: result.stderr}).toMatchObject({code: 0})
      expect(result.stdout + result.stderr).not.toContain(LEAKED_VALUE)
    } finally {
      watcher.close()
    }
    expect(sh(clone, 'show', 'HEAD:app/config.txt')).toBe('password=***REMOVED***')
    expect(created).toEqual([])
    expect(readdirSync(tmp)).toEqual([])
  })
})
