import {execFileSync, spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {probeFilterRepo} from '../../../src/lib/git/engines.js'
import {scanRepository} from '../../../src/lib/git/scan.js'
import {newScrubContext, nextSteps, runScrubStages, stagePreflight, type ScrubContext} from '../../../src/lib/git/scrub.js'
import {ALL_SCRUB_STAGES} from './hardening-fixtures.js'
import {buildPatternSet} from '../../../src/lib/git/value-patterns.js'
import {SecretValue} from '../../../src/lib/secret/secret-value.js'
import {sopsDetector} from '../../../src/lib/git/sops-adapter.js'
import {buildHistoryRepo, freshClone, git, LEAKED_VALUE, throwawayGpg, type HistoryRepo} from './fixture-repo.js'

const patterns = () => buildPatternSet([{source: 'test', secret: 'humphd/secret', key: 'secret', value: SecretValue.fromString(LEAKED_VALUE)}])

function refTrees(repo: string): Record<string, string> {
  const refs = git(repo, ['for-each-ref', '--format=%(refname)']).split('\n').filter(Boolean)
  return Object.fromEntries(refs.map((ref) => [ref, git(repo, ['rev-parse', `${ref}^{tree}`]).trim()]))
}

async function scrub(repo: string, engine: 'builtin' | 'filter-repo'): Promise<ScrubContext> {
  const ctx = newScrubContext({repo, detector: sopsDetector(), patterns: patterns(), replaceValues: true, engine, force: false})
  await runScrubStages(ctx, ALL_SCRUB_STAGES)
  return ctx
}

describe('git scrub on a generated history (real git, real git-filter-repo)', () => {
  let work: string
  let source: HistoryRepo
  let gpg: ReturnType<typeof throwawayGpg>

  beforeAll(async () => {
    const support = await probeFilterRepo()
    if (!support.installed) throw new Error('git-filter-repo is required for these tests: apt-get install -y git-filter-repo (or pip install git-filter-repo)')
    work = mkdtempSync(join(tmpdir(), 'scrub-test-'))
    gpg = throwawayGpg()
    source = buildHistoryRepo(join(work, 'source'), gpg)
  })

  afterAll(() => {
    gpg?.cleanup()
    if (work) rmSync(work, {recursive: true, force: true})
  })

  test('the fixture holds a signed tag, a submodule and a merge', () => {
    expect(git(source.dir, ['cat-file', '-t', 'v3-signed']).trim()).toBe('tag')
    expect(git(source.dir, ['cat-file', 'tag', 'v3-signed'])).toContain('BEGIN PGP SIGNATURE')
    expect(git(source.dir, ['ls-tree', 'main', 'vendor/lib'])).toContain('160000 commit')
    expect(git(source.dir, ['rev-list', '--merges', 'main']).trim()).not.toBe('')
  })

  test('scan finds every SOPS blob, every path it had, .sops.yaml and the leaked value in all its forms', async () => {
    const {report, pathsToRemove} = await scanRepository(source.dir, {detector: sopsDetector(), patterns: patterns()})
    expect(report.clean).toBe(false)
    const sopsBlobIds = report.sopsBlobs.map((finding) => finding.blob).sort()
    expect(sopsBlobIds).toEqual(source.sopsBlobs.slice(0, 5).sort())
    expect(report.sopsConfigs.map((c) => c.paths)).toEqual([['.sops.yaml']])
    expect(new Set([...pathsToRemove].map((p) => Buffer.from(p, 'latin1').toString('utf8')))).toEqual(new Set(source.sopsPaths))
    const moved = report.sopsBlobs.find((finding) => finding.paths.includes('overlays/prod dir/sécret.yaml'))
    expect(moved?.commits.length).toBeGreaterThan(0)
    const forms = report.valueFindings.flatMap((finding) => finding.matches.flatMap((m) => m.forms))
    expect(new Set(forms)).toEqual(new Set(['raw', 'base64', 'url-encoded']))
    const types = new Set(report.valueFindings.map((finding) => finding.objectType))
    expect(types).toEqual(new Set(['blob', 'commit', 'tag']))
    expect(report.valueFindings.find((f) => f.objectType === 'tag')?.tag).toBe('v2')
    expect(JSON.stringify(report)).not.toContain(LEAKED_VALUE)
  })

  test('both engines remove everything, pass the rescan and produce the same trees', async () => {
    const results: Record<string, {trees: Record<string, string>; ctx: ScrubContext}> = {}
    for (const engine of ['builtin', 'filter-repo'] as const) {
      const clone = freshClone(source.dir, join(work, `clone-${engine}`))
      const ctx = await scrub(clone, engine)
      expect(ctx.rewrite?.engine).toBe(engine)
      expect(ctx.after?.clean).toBe(true)
      for (const path of source.sopsPaths) {
        expect(git(clone, ['log', '--all', '--full-history', '--format=%H', '--', path]).trim()).toBe('')
      }
      for (const blob of source.sopsBlobs) {
        expect(spawnSync('git', ['-C', clone, 'cat-file', '-e', blob]).status).not.toBe(0)
      }
      expect(git(clone, ['log', '--all', '--format=%B'])).not.toContain(LEAKED_VALUE)
      expect(git(clone, ['show', 'main:app/config.txt'])).toContain('***REMOVED***')
      expect(git(clone, ['ls-tree', 'main', 'vendor/lib'])).toContain('160000 commit')
      expect(git(clone, ['-c', 'core.quotePath=false', 'ls-tree', '-r', '--name-only', 'main'])).toContain('naïve notes.md')
      const rescan = await scanRepository(clone, {detector: sopsDetector(), patterns: patterns()})
      expect(rescan.report.clean).toBe(true)
      expect(nextSteps(ctx).firstChangedCommits.length).toBeGreaterThan(0)
      expect(git(clone, ['remote']).trim()).toBe('origin')
      results[engine] = {trees: refTrees(clone), ctx}
    }
    expect(Object.keys(results.builtin.trees).sort()).toEqual(Object.keys(results['filter-repo'].trees).sort())
    expect(results.builtin.trees).toEqual(results['filter-repo'].trees)
    expect(results.builtin.trees['refs/tags/v3-signed']).toBeDefined()
    // The backup holds the old history, so it can restore it.
    const restored = join(work, 'restored')
    execFileSync('git', ['clone', '--quiet', '--mirror', results.builtin.ctx.backupPath!, restored], {stdio: 'ignore'})
    expect(spawnSync('git', ['-C', restored, 'cat-file', '-e', source.sopsBlobs[0]]).status).toBe(0)
  })

  test('preflight refuses a repository that is not a fresh clone, unless --force', async () => {
    const ctx = newScrubContext({repo: source.dir, detector: sopsDetector(), replaceValues: false, engine: 'builtin', force: false})
    await expect(stagePreflight(ctx)).rejects.toThrow(/does not look like a fresh clone/)
    const forced = newScrubContext({repo: source.dir, detector: sopsDetector(), replaceValues: false, engine: 'builtin', force: true})
    await stagePreflight(forced)
    expect(forced.preflight?.some((check) => !check.ok)).toBe(true)
  })
})
