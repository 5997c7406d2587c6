import {execFileSync, spawnSync} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {builtCli} from '../../helpers/cli.js'
import {scanRepository} from '../../../src/lib/git/scan.js'
import {sopsDetector} from '../../../src/lib/git/sops-adapter.js'
import {buildPatternSet} from '../../../src/lib/git/value-patterns.js'
import {SecretValue} from '../../../src/lib/secret/secret-value.js'
import {fixture, SOPS} from '../git/fixture-repo.js'
import {commitAll, newRepo, sh, workDir, write} from '../git/hardening-fixtures.js'

const TIME = '/usr/bin/time'
const HUGE_BYTES = 600 * 1024 * 1024
const RSS_LIMIT_KB = 256 * 1024

// A blob over 512 MiB full of SOPS markers crashed git
// scan ("Cannot create a string longer than …") and memory grew with the
// largest blob. Blobs over 16 MiB are streamed; one that carries SOPS
// markers is reported as a finding ("cannot be checked"), never clean.
describe('git scan on huge blobs: bounded memory, and a finding instead of a crash', () => {
  const work = workDir('git-huge-')
  afterAll(() => work.cleanup())

  test('a 600 MiB blob of SOPS marker text: exit 1, reported by path, peak RSS under 256 MB', () => {
    if (!existsSync(TIME)) throw new Error(`${TIME} (GNU time) is needed to measure peak RSS: apt-get install -y time`)
    const repo = newRepo(join(work.dir, 'huge'))
    // Written straight into the object store (compressed to a few MB): no 600 MB file on disk.
    const blob = execFileSync('bash', ['-c', `yes 'apiVersion: v1 sops: ENC[AES256_GCM,data:abc,iv:x,tag:y,type:str] lastmodified: "2024-01-01T00:00:00Z"' | head -c ${HUGE_BYTES} | git -C "$0" -c core.looseCompression=1 hash-object -w --stdin`, repo], {encoding: 'utf8'}).trim()
    sh(repo, 'update-index', '--add', '--cacheinfo', `100644,${blob},dump/huge.yaml`)
    write(repo, 'README.md', '# app\n')
    sh(repo, 'add', 'README.md')
    sh(repo, 'commit', '--quiet', '-m', 'a huge dump')
    const timeFile = join(work.dir, 'time.txt')
    const result = spawnSync(TIME, ['-v', '-o', timeFile, process.execPath, builtCli(), 'git', 'scan', repo, '--json'], {encoding: 'utf8', env: {...process.env, NO_COLOR: '1'}, maxBuffer: 1 << 26})
    expect({code: result.status, stderr: result.stderr}).toMatchObject({code: 1})
    const report = JSON.parse(result.stdout)
    expect(report.uncheckedBlobs).toEqual([expect.objectContaining({blob, reason: 'too-large-with-sops-markers', size: HUGE_BYTES, paths: ['dump/huge.yaml']})])
    expect(report.clean).toBe(false)
    const peakKb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(readFileSync(timeFile, 'utf8'))?.[1])
    // Measured on the development machine: ~176 MB (the CLI alone, on a tiny repository: ~139 MB).
    expect(peakKb).toBeGreaterThan(0)
    expect(peakKb).toBeLessThan(RSS_LIMIT_KB)
  }, 300_000)

  test('a blob with SOPS markers that is over the detection limit, or that the detector cannot parse, is a finding, not a crash', async () => {
    const repo = newRepo(join(work.dir, 'unparsable'))
    write(repo, 'big/export.yaml', `sops:\n  lastmodified: "2024-01-01T00:00:00Z"\n${'k: v\n'.repeat(1_100_000)}`)
    write(repo, 'deep/nested.yaml', fixture(SOPS.humphdYaml))
    commitAll(repo, 'two odd files')
    // Stands in for a parser that gives up on hostile input (e.g. nesting thousands of levels deep).
    const throwing = {
      ...sopsDetector(),
      detect: (content: Buffer) => {
        if (content.length < 4 * 1024 * 1024) throw new RangeError('Maximum call stack size exceeded')
        return sopsDetector().detect(content)
      },
    }
    const {report} = await scanRepository(repo, {detector: throwing})
    expect(report.uncheckedBlobs.map((finding) => [finding.paths[0], finding.reason]).sort()).toEqual([
      ['big/export.yaml', 'too-large-with-sops-markers'],
      ['deep/nested.yaml', 'unparsable-with-sops-markers'],
    ])
    expect(report.clean).toBe(false)
  })

  test('streamed objects are still searched for values across chunk boundaries, and a streamed SOPS file is not called clean', async () => {
    const repo = newRepo(join(work.dir, 'streamed'))
    const value = 'streamed-canary-value-0123456789'
    write(repo, 'logs/big.log', `${'x'.repeat(70_000)}password=${value}\n${'y'.repeat(70_000)}\n`)
    write(repo, 'secrets/db.enc.yaml', fixture(SOPS.humphdYaml))
    commitAll(repo, `leak ${value} in a big message ${'z'.repeat(3000)}`)
    const patterns = buildPatternSet([{source: 'test', secret: 'db', key: 'password', value: SecretValue.fromString(value)}])
    // Everything over 1 KiB goes through the streaming path here.
    const {report} = await scanRepository(repo, {detector: sopsDetector(), patterns, maxInMemory: 1024})
    expect(report.valueFindings.map((finding) => finding.objectType).sort()).toEqual(['blob', 'commit'])
    expect(report.valueFindings.find((finding) => finding.objectType === 'blob')?.paths).toEqual(['logs/big.log'])
    expect(report.uncheckedBlobs.map((finding) => finding.paths)).toEqual([['secrets/db.enc.yaml']])
    expect(report.clean).toBe(false)
    expect(JSON.stringify(report)).not.toContain(value)
  })
})
