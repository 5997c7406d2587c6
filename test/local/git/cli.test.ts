import {execFileSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {runCli, type CliResult} from '../../helpers/cli.js'
import {newAgeKey, sopsEncrypt, type AgeKey} from '../../helpers/sops-files.js'

// The canary is the plaintext of a SOPS value that also leaked in clear text later.
const CANARY = `canary-git-${randomBytes(4).toString('hex')}`

function git(repo: string, ...args: string[]): string {
  return execFileSync('git', ['-C', repo, ...args], {encoding: 'utf8', env: {...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com'}}).trim()
}

describe('secrets git scan / scrub, driven as an operator would (real git, real sops, built CLI)', () => {
  let key: AgeKey
  let work: string
  let origin: string
  const outputs: CliResult[] = []
  const cli = async (args: string[]) => {
    const result = await runCli(args, {env: {SOPS_AGE_KEY: key.identity}})
    outputs.push(result)
    return result
  }

  beforeAll(async () => {
    key = await newAgeKey()
    work = mkdtempSync(join(tmpdir(), 'secrets-git-cli-'))
    origin = join(work, 'origin')
    execFileSync('git', ['init', '--quiet', '--initial-branch=main', origin])
    mkdirSync(join(origin, 'apps'), {recursive: true})
    writeFileSync(join(origin, 'apps/db.sops.yaml'), sopsEncrypt(`password: ${CANARY}\nuser: app\n`, {recipient: key.recipient, type: 'yaml'}))
    writeFileSync(join(origin, '.sops.yaml'), `creation_rules:\n  - age: ${key.recipient}\n`)
    writeFileSync(join(origin, 'README.md'), 'app\n')
    git(origin, 'add', '-A')
    git(origin, 'commit', '--quiet', '-m', 'add encrypted db secret')
    mkdirSync(join(origin, 'moved dir'))
    git(origin, 'mv', 'apps/db.sops.yaml', 'moved dir/db credentials.yaml')
    git(origin, 'commit', '--quiet', '-m', 'rename it')
    writeFileSync(join(origin, 'debug.txt'), `password=${CANARY}\n`)
    git(origin, 'add', 'debug.txt')
    git(origin, 'commit', '--quiet', '-m', `oops: ${Buffer.from(CANARY).toString('base64')}`)
    git(origin, 'tag', '-a', 'v1', '-m', 'release')
  })

  afterAll(() => {
    for (const output of outputs) {
      expect(output.stdout).not.toContain(CANARY)
      expect(output.stderr).not.toContain(CANARY)
      expect(output.stdout).not.toContain(Buffer.from(CANARY).toString('base64'))
    }
  })

  test('scan finds the SOPS blob under both paths, .sops.yaml, and (values from sops) the leaked value in a file and a commit message', async () => {
    const plain = await cli(['git', 'scan', origin, '--json'])
    expect(plain.code).toBe(1)
    const report = JSON.parse(plain.stdout)
    expect(report.sopsBlobs).toHaveLength(1)
    expect(report.sopsBlobs[0].paths.sort()).toEqual(['apps/db.sops.yaml', 'moved dir/db credentials.yaml'])
    expect(report.sopsConfigs).toHaveLength(1)

    const withValues = await cli(['git', 'scan', origin, '--values-from', 'sops', '--json'])
    expect(withValues.code).toBe(1)
    const findings = JSON.parse(withValues.stdout).valueFindings
    const inFile = findings.find((f: {objectType: string}) => f.objectType === 'blob')
    expect(inFile.paths).toEqual(['debug.txt'])
    expect(inFile.matches[0].key).toBe('password')
    expect(findings.some((f: {objectType: string; matches: {forms: string[]}[]}) => f.objectType === 'commit' && f.matches[0].forms.includes('base64'))).toBe(true)

    const human = await cli(['git', 'scan', origin, '--values-from', 'sops'])
    expect(human.code).toBe(1)
    expect(human.stdout).toContain('debug.txt')
    expect(human.stdout).toContain('Findings')
  })

  test('scrub refuses without --yes when stdin is not a terminal, and changes nothing', async () => {
    const clone = join(work, 'clone-refused')
    execFileSync('git', ['clone', '--quiet', '--no-local', origin, clone])
    const before = git(clone, 'rev-parse', 'HEAD')
    const refused = await cli(['git', 'scrub', clone])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain('--yes')
    expect(git(clone, 'rev-parse', 'HEAD')).toBe(before)
  })

  test('scrub on a fresh clone: backup, rewrite, rescan clean; old paths and blobs are gone', async () => {
    const clone = join(work, 'clone')
    execFileSync('git', ['clone', '--quiet', '--no-local', origin, clone])
    const sopsBlob = git(clone, 'rev-parse', 'HEAD~2:apps/db.sops.yaml')
    const dry = await cli(['git', 'scrub', clone, '--values-from', 'sops', '--replace-values', '--dry-run'])
    expect(dry.stdout).toContain('apps/db.sops.yaml')
    expect(git(clone, 'cat-file', '-t', sopsBlob)).toBe('blob')

    const backup = join(work, 'before-scrub.bundle')
    const scrub = await cli(['git', 'scrub', clone, '--values-from', 'sops', '--replace-values', '--engine', 'builtin', '--backup', backup, '--yes'])
    expect(scrub.code).toBe(0)
    expect(scrub.stderr).toContain(`backup written: ${backup}`)
    expect(readdirSync(work)).toContain('before-scrub.bundle')
    expect(git(clone, 'log', '--all', '--full-history', '--format=%H', '--', 'apps/db.sops.yaml', 'moved dir/db credentials.yaml', '.sops.yaml')).toBe('')
    expect(() => git(clone, 'cat-file', '-e', sopsBlob)).toThrow()
    expect(readFileSync(join(clone, 'debug.txt'), 'utf8')).toBe('password=***REMOVED***\n')
    expect(git(clone, 'log', '-1', '--format=%B')).not.toContain(Buffer.from(CANARY).toString('base64'))

    // The scan CI runs afterwards: clean, exit 0 (values from the backup's SOPS file are not needed any more).
    const rescan = await cli(['git', 'scan', clone])
    expect(rescan.code).toBe(0)
    expect(rescan.stdout).toContain('Clean')
  })
})
