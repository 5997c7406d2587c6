import {execFileSync} from 'node:child_process'
import {readdirSync, rmSync} from 'node:fs'
import {join} from 'node:path'

import {runCli} from '../../helpers/cli.js'
import {fixture, SOPS} from '../git/fixture-repo.js'
import {commitAll, freshCloneOf, newRepo, sh, workDir, write} from '../git/hardening-fixtures.js'

// A scan cannot vouch for
// objects that are not in the repository; shallow, partial and damaged
// repositories are refused with exit 2 and the fix, never "Clean".
describe('git scan/scrub refuse repositories whose objects are not all present', () => {
  const work = workDir('git-incomplete-')
  let source: string

  beforeAll(() => {
    source = newRepo(join(work.dir, 'source'))
    // The SOPS file lives only in the first commits: a shallow clone of the tip does not have it.
    write(source, 'deploy/secret.enc.yaml', fixture(SOPS.humphdYaml))
    commitAll(source, 'add a SOPS file')
    sh(source, 'rm', '--quiet', 'deploy/secret.enc.yaml')
    commitAll(source, 'remove it')
    write(source, 'README.md', '# app\n')
    commitAll(source, 'docs')
    sh(source, 'config', 'uploadpack.allowFilter', 'true')
  })

  afterAll(() => work.cleanup())

  test('a --depth 1 clone: scan and scrub exit 2, say it is shallow and how to fix it', async () => {
    const clone = join(work.dir, 'shallow')
    execFileSync('git', ['clone', '--quiet', '--depth', '1', `file://${source}`, clone], {stdio: 'ignore'})
    const scan = await runCli(['git', 'scan', clone])
    expect(scan.code).toBe(2)
    expect(scan.stderr).toMatch(/shallow clone/)
    expect(scan.stderr).toContain('git fetch --unshallow')
    expect(scan.stdout).not.toContain('Clean')
    const scrub = await runCli(['git', 'scrub', clone, '--yes', '--force', '--engine', 'builtin'])
    expect(scrub.code).toBe(2)
    expect(scrub.stderr).toMatch(/shallow clone/)
    // Nothing was rewritten: still the one cut commit, no backup made.
    expect(sh(clone, 'rev-list', '--all').split('\n')).toHaveLength(1)
    expect(readdirSync(work.dir).filter((name) => name.includes('pre-scrub'))).toEqual([])
  })

  test('a --filter=blob:none clone: refused as partial, with the full-clone fix', async () => {
    const clone = join(work.dir, 'partial')
    execFileSync('git', ['clone', '--quiet', '--no-checkout', '--filter=blob:none', `file://${source}`, clone], {stdio: 'ignore'})
    const scan = await runCli(['git', 'scan', clone, '--json'])
    expect(scan.code).toBe(2)
    const error = JSON.parse(scan.stdout).error
    expect(error.code).toBe('PARTIAL_CLONE')
    expect(error.hint).toContain('git clone --mirror')
    const scrub = await runCli(['git', 'scrub', clone, '--dry-run'])
    expect(scrub.code).toBe(2)
    expect(scrub.stderr).toMatch(/partial clone/)
  })

  test('a repository missing an object: refused as such, naming the object (not "is this a Git repository?")', async () => {
    const damaged = freshCloneOf(source, join(work.dir, 'damaged'))
    // Unpack, then lose the SOPS blob: the history still reaches it.
    const blob = sh(damaged, 'rev-parse', 'HEAD~2:deploy/secret.enc.yaml')
    const packDir = join(damaged, '.git/objects/pack')
    const pack = readdirSync(packDir).find((name) => name.endsWith('.pack'))!
    execFileSync('bash', ['-c', `mv "${join(packDir, pack)}" "${join(work.dir, 'saved.pack')}" && rm -f "${packDir}"/* && git -C "${damaged}" unpack-objects -q < "${join(work.dir, 'saved.pack')}"`])
    rmSync(join(damaged, '.git/objects', blob.slice(0, 2), blob.slice(2)))
    const scan = await runCli(['git', 'scan', damaged])
    expect(scan.code).toBe(2)
    expect(scan.stderr).toMatch(/missing objects/)
    expect(scan.stderr).toContain(blob)
    expect(scan.stderr).not.toMatch(/UNEXPECTED|This is a bug/)
    const scrub = await runCli(['git', 'scrub', damaged, '--yes', '--force', '--engine', 'builtin'])
    expect(scrub.code).toBe(2)
    expect(scrub.stderr).toMatch(/missing objects/)
    expect(scrub.stderr).not.toMatch(/is this a Git repository|Check that the path is a Git repository/)
  })

  test('a backup that cannot be written is named as such, with nothing rewritten', async () => {
    const clone = freshCloneOf(source, join(work.dir, 'backup-fails'))
    const before = sh(clone, 'rev-parse', 'main')
    const result = await runCli(['git', 'scrub', clone, '--yes', '--engine', 'builtin', '--backup', join(work.dir, 'no-such-dir', 'x.bundle')])
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/backup bundle .*no-such-dir\/x\.bundle could not be written/)
    expect(result.stderr).not.toMatch(/Check that the path is a Git repository/)
    expect(sh(clone, 'rev-parse', 'main')).toBe(before)
  })

  test('a path that does not exist is a usage error naming it', async () => {
    const missing = join(work.dir, 'no-such-repo')
    for (const command of ['scan', 'scrub']) {
      const result = await runCli(['git', command, missing])
      expect(result.code).toBe(2)
      expect(result.stderr).toContain(`${missing} does not exist`)
      expect(result.stderr).not.toMatch(/UNEXPECTED|This is a bug/)
    }
  })
})
