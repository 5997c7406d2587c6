import {join} from 'node:path'

import {runCli} from '../../helpers/cli.js'
import {fixture, importRepo, SOPS} from '../git/fixture-repo.js'
import {freshCloneOf, workDir} from '../git/hardening-fixtures.js'

// Paths and tag names come from the repository; with
// control characters they could clear the screen or forge report lines.
describe('git scan/scrub show Git names with control characters escaped', () => {
  const work = workDir('git-display-')
  afterAll(() => work.cleanup())

  test('an ANSI escape and a newline in a SOPS file path reach the terminal escaped', async () => {
    const repo = join(work.dir, 'repo')
    const evil = 'deploy/\x1b[2J\x1b[31mevil\nClean: nothing here.yaml'
    importRepo(repo, [{mark: 1, ref: 'refs/heads/main', message: 'evil path', changes: [{path: evil, content: fixture(SOPS.humphdYaml)}, {path: 'README.md', content: '# app\n'}]}])
    const scan = await runCli(['git', 'scan', repo])
    expect(scan.code).toBe(1)
    expect(scan.stdout).not.toContain('\x1b')
    expect(scan.stdout).toContain('deploy/\\x1b[2J\\x1b[31mevil\\nClean: nothing here.yaml')
    const clone = freshCloneOf(repo, join(work.dir, 'clone'))
    const plan = await runCli(['git', 'scrub', clone, '--dry-run'])
    expect(plan.code).toBe(1)
    expect(plan.stdout + plan.stderr).not.toContain('\x1b')
    expect(plan.stdout).toContain('evil\\nClean')
    // --json keeps the exact name (JSON escapes it).
    const json = JSON.parse((await runCli(['git', 'scan', repo, '--json'])).stdout)
    expect(json.sopsBlobs[0].paths).toEqual([evil])
  })
})
