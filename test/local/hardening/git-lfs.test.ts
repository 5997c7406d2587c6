import {createHash} from 'node:crypto'
import {cpSync, mkdirSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {runCli, type CliResult} from '../../helpers/cli.js'
import {FIXTURES, fixture, LEAKED_VALUE, SOPS} from '../git/fixture-repo.js'
import {commitAll, freshCloneOf, newRepo, sh, workDir, write} from '../git/hardening-fixtures.js'

/** What `git lfs track` + `git add` would commit and store, without the git-lfs binary. */
function addLfsFile(repo: string, path: string, content: Buffer): string {
  const oid = createHash('sha256').update(content).digest('hex')
  write(repo, path, `version https://git-lfs.github.com/spec/v1\noid sha256:${oid}\nsize ${content.length}\n`)
  storeLfsObject(repo, oid, content)
  return oid
}

function storeLfsObject(repo: string, oid: string, content: Buffer): void {
  const dir = join(repo, '.git/lfs/objects', oid.slice(0, 2), oid.slice(2, 4))
  mkdirSync(dir, {recursive: true})
  writeFileSync(join(dir, oid), content)
}

// A SOPS file stored through Git LFS is scanned from
// .git/lfs/objects; an LFS object that is not there is a finding, never "Clean".
describe('git scan/scrub and Git LFS (pointers read directly; git-lfs not needed)', () => {
  const work = workDir('git-lfs-')
  const outputs: CliResult[] = []
  const humphdKey = join(FIXTURES, SOPS.humphdKey)
  const cli = async (args: string[]) => {
    const result = await runCli(args, {env: {SOPS_AGE_KEY_FILE: humphdKey}})
    outputs.push(result)
    return result
  }
  let source: string
  let sopsOid: string
  let pointerBlob: string

  beforeAll(() => {
    source = newRepo(join(work.dir, 'source'))
    write(source, '.gitattributes', '*.yaml filter=lfs diff=lfs merge=lfs -text\n*.bin filter=lfs diff=lfs merge=lfs -text\n')
    addLfsFile(source, 'assets/logo.bin', Buffer.from('not a secret, just a large asset\n'.repeat(100)))
    sopsOid = addLfsFile(source, 'secrets/db.yaml', fixture(SOPS.humphdYaml))
    write(source, 'app/config.txt', `db_password=${LEAKED_VALUE}\n`)
    commitAll(source, 'app with LFS-tracked secrets')
    pointerBlob = sh(source, 'rev-parse', 'HEAD:secrets/db.yaml')
  })

  afterAll(() => {
    for (const output of outputs) {
      expect(output.stdout).not.toContain(LEAKED_VALUE)
      expect(output.stderr).not.toContain(LEAKED_VALUE)
    }
    work.cleanup()
  })

  test('a SOPS file in an LFS object present locally is found under its path', async () => {
    const result = await cli(['git', 'scan', source, '--json'])
    expect(result.code).toBe(1)
    const report = JSON.parse(result.stdout)
    expect(report.sopsBlobs).toEqual([expect.objectContaining({blob: pointerBlob, format: 'yaml', lfsObject: sopsOid, paths: ['secrets/db.yaml']})])
    expect(report.objects.lfsObjects).toBe(2)
    expect(report.uncheckedBlobs).toEqual([])
  })

  test('--values-from sops decrypts the SOPS file held in LFS and finds its leaked value', async () => {
    const result = await cli(['git', 'scan', source, '--values-from', 'sops', '--json'])
    expect(result.code).toBe(1)
    const report = JSON.parse(result.stdout)
    expect(report.valueFindings.map((finding: {paths: string[]}) => finding.paths)).toContainEqual(['app/config.txt'])
  })

  test('an LFS object that is not present is a finding (exit 1), never Clean', async () => {
    const repo = newRepo(join(work.dir, 'missing'))
    write(repo, 'notes/readme.txt', 'plain\n')
    const oid = addLfsFile(repo, 'secrets/maybe.yaml', fixture(SOPS.humphdYaml))
    commitAll(repo, 'pointer only')
    rmSync(join(repo, '.git/lfs'), {recursive: true, force: true})
    const result = await cli(['git', 'scan', repo])
    expect(result.code).toBe(1)
    expect(result.stdout).toContain('LFS object not present, cannot be checked')
    expect(result.stdout).toContain('secrets/maybe.yaml')
    expect(result.stdout).not.toContain('Clean')
    const json = JSON.parse((await cli(['git', 'scan', repo, '--json'])).stdout)
    expect(json.uncheckedBlobs).toEqual([expect.objectContaining({reason: 'lfs-object-missing', lfsObject: oid, paths: ['secrets/maybe.yaml']})])
    // Scrub cannot plan around what it cannot read.
    const clone = freshCloneOf(repo, join(work.dir, 'missing-clone'))
    const scrub = await cli(['git', 'scrub', clone, '--dry-run'])
    expect(scrub.code).toBe(2)
    expect(scrub.stderr).toContain('git lfs fetch --all')
  })

  test('a present LFS object without secrets is clean', async () => {
    const repo = newRepo(join(work.dir, 'clean'))
    addLfsFile(repo, 'assets/logo.bin', Buffer.from('pixels\n'.repeat(50)))
    commitAll(repo, 'asset')
    const result = await cli(['git', 'scan', repo])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('1 LFS objects')
  })

  test('scrub removes the pointer of a SOPS file stored in LFS and says the object stays on the LFS server', async () => {
    const clone = freshCloneOf(source, join(work.dir, 'clone'))
    cpSync(join(source, '.git/lfs'), join(clone, '.git/lfs'), {recursive: true})
    const result = await cli(['git', 'scrub', clone, '--yes', '--engine', 'builtin'])
    expect({code: result.code, stderr: result.stderr}).toMatchObject({code: 0})
    expect(result.stdout).toContain('LFS')
    expect(sh(clone, 'ls-tree', '-r', '--name-only', 'main').split('\n').sort()).toEqual(['.gitattributes', 'app/config.txt', 'assets/logo.bin'])
  })
})
