import {execFileSync, spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {probeFilterRepo} from '../../../src/lib/git/engines.js'
import {newScrubContext, runScrubStages, type ScrubContext} from '../../../src/lib/git/scrub.js'
import {sopsDetector} from '../../../src/lib/git/sops-adapter.js'
import {buildPatternSet} from '../../../src/lib/git/value-patterns.js'
import {SecretValue} from '../../../src/lib/secret/secret-value.js'
import {ALL_SCRUB_STAGES} from './hardening-fixtures.js'
import {blobId, fixture, git, importRepo, LEAKED_VALUE, SOPS, type Change, type CommitSpec} from './fixture-repo.js'

/**
 * Built-in engine vs git-filter-repo on a generated history shaped like a
 * hosted GitOps repository: several branches, SOPS files renamed, moved,
 * deleted and re-added, commits that only touch a SOPS file, lightweight and
 * annotated tags, and pull-request refs (refs/pull/N/head) in a mirror clone.
 * The built-in engine exports with `--no-data` (blobs by id); with
 * --replace-values it first rewrites only the blobs the plan found a value
 * in and repoints the history to them. Either way the trees of every ref
 * must be exactly filter-repo's (which reads every blob).
 */

const SOPS_FILES = [SOPS.fluxSecret, SOPS.getsopsYaml, SOPS.dotenv, SOPS.humphdJson, SOPS.humphdYaml].map(fixture)

/** With `leaks`, a value also leaks in several forms, in files that change over time and in messages. */
function generatedHistory(dir: string, leaks: boolean): {sopsBlobs: Set<string>} {
  const commits: CommitSpec[] = []
  const sopsBlobs = new Set<string>()
  const sopsVersion = (n: number): Buffer => {
    const file = SOPS_FILES[n % SOPS_FILES.length]
    // A leading comment makes each version a distinct blob (as re-encryption would); JSON stays as is.
    const content = file[0] === 0x7b ? file : Buffer.concat([Buffer.from(`# revision ${n}\n`), file])
    sopsBlobs.add(blobId(content))
    return content
  }
  let mark = 0
  const tips: Record<string, number> = {}
  const commit = (branch: string, message: string, changes: Change[], merge?: string): number => {
    mark++
    const parents = [tips[branch] ?? tips.main, ...(merge ? [tips[merge]] : [])].filter((parent) => parent !== undefined)
    commits.push({mark, ref: `refs/heads/${branch}`, message, parents, changes})
    tips[branch] = mark
    return mark
  }
  commit('main', 'initial', [{path: 'README.md', content: '# cluster\n'}, {path: 'apps/a/secret.enc.yaml', content: sopsVersion(0)}, {path: 'apps/a/app.yaml', content: 'kind: Deployment\n'}])
  const taggable: number[] = []
  for (let i = 1; i <= 30; i++) {
    const app = `apps/${'abc'[i % 3]}`
    const changes: Change[] = [{path: `${app}/app.yaml`, content: `kind: Deployment\nreplicas: ${i}\n`}]
    if (leaks && i % 4 === 0) changes.push({path: `${app}/config.env`, content: `REPLICAS=${i}\nDB_PASSWORD=${LEAKED_VALUE}\n`})
    if (leaks && i % 6 === 0) changes.push({path: `${app}/leak.yaml`, content: `kind: Secret\ndata:\n  password: ${Buffer.from(LEAKED_VALUE).toString('base64')}\n  n: ${i}\n`})
    if (leaks && i % 10 === 0) changes.push({path: `${app}/config.env`, content: `REPLICAS=${i}\n`})
    if (i % 3 === 0) changes.push({path: `${app}/secret.enc.yaml`, content: sopsVersion(i)})
    if (i % 7 === 0 && i % 3 !== 0) changes.push({delete: `${app}/secret.enc.yaml`})
    taggable.push(commit('main', leaks && i % 8 === 0 ? `change ${i} (password ${LEAKED_VALUE})` : `change ${i}`, changes))
    // A commit whose only change is a SOPS file: empty once that version goes.
    if (i % 5 === 0) taggable.push(commit('main', `rotate secret ${i}`, [{path: `${app}/secret.enc.yaml`, content: sopsVersion(100 + i)}]))
    // Renames: the same SOPS content under a new path, and a plain file moved.
    if (i % 9 === 0) taggable.push(commit('main', `move ${i}`, [{delete: `${app}/secret.enc.yaml`}, {path: `moved/${i}/secret.yaml`, content: sopsVersion(i)}, {delete: 'README.md'}, {path: `docs/README-${i}.md`, content: '# cluster\n'}]))
  }
  for (const branch of ['feature/x', 'release/1']) {
    tips[branch] = tips.main
    for (let i = 0; i < 4; i++) {
      const notes = leaks && i === 1 ? `notes ${i}: postgres://app:${encodeURIComponent(LEAKED_VALUE)}@db/app\n` : `notes ${i}\n`
      commit(branch, `${branch} ${i}`, [{path: `${branch}/notes.txt`, content: notes}, ...(i % 2 === 0 ? [{path: `${branch}/secret.enc.yaml`, content: sopsVersion(200 + i)}] : [])])
    }
  }
  commit('main', 'Merge feature/x', [{path: 'merged.txt', content: 'merged\n'}], 'feature/x')
  importRepo(
    dir,
    commits,
    // Annotated tags, one on a commit that only rotated a secret (it becomes empty).
    [
      {name: 'v1', mark: taggable[5], message: 'v1\n'},
      {name: 'v2', mark: taggable.find((m) => String(commits[m - 1].message).startsWith('rotate'))!, message: 'v2 on a secret-only commit\n'},
    ],
  )
  git(dir, ['tag', 'light-1', 'main~3'])
  git(dir, ['tag', 'light-2', 'release/1~1'])
  // Pull-request refs as a hosted repository has them (a mirror clone fetches refs/*).
  const pulls = [tips['feature/x'], tips['release/1'], taggable[10], taggable[20]]
  const revs = git(dir, ['rev-list', '--all', '--reverse', '--date-order']).trim().split('\n')
  pulls.forEach((_, index) => git(dir, ['update-ref', `refs/pull/${index + 1}/head`, revs[Math.floor(((index + 1) * revs.length) / 5)]]))
  git(dir, ['update-ref', 'refs/pull/9/merge', 'feature/x'])
  return {sopsBlobs}
}

function refTrees(repo: string): Record<string, string> {
  const refs = git(repo, ['for-each-ref', '--format=%(refname)']).split('\n').filter(Boolean)
  return Object.fromEntries(refs.map((ref) => [ref, git(repo, ['rev-parse', `${ref}^{tree}`]).trim()]))
}

/** The sequence of trees of each ref's history (first parents), skipping commits whose tree equals their parent's. */
function treeHistories(repo: string): Record<string, string[]> {
  const refs = git(repo, ['for-each-ref', '--format=%(refname)']).split('\n').filter(Boolean)
  const histories: Record<string, string[]> = {}
  for (const ref of refs) {
    const trees = git(repo, ['log', '--first-parent', '--format=%T', ref]).trim().split('\n')
    histories[ref] = trees.filter((tree, index) => tree !== trees[index + 1])
  }
  return histories
}

const patterns = () => buildPatternSet([{source: 'test', secret: 'app/db', key: 'password', value: SecretValue.fromString(LEAKED_VALUE)}])

describe.each([
  {mode: 'without --replace-values', replaceValues: false},
  {mode: 'with --replace-values', replaceValues: true},
])('built-in engine vs git-filter-repo, $mode: same trees per ref (blobs by id, --no-data)', ({replaceValues}) => {
  let work: string
  let source: string
  let sopsBlobs: Set<string>
  const results: Partial<Record<'builtin' | 'filter-repo', {ctx: ScrubContext; repo: string}>> = {}

  beforeAll(async () => {
    const support = await probeFilterRepo()
    if (!support.installed) throw new Error('git-filter-repo is required for these tests: apt-get install -y git-filter-repo (or pip install git-filter-repo)')
    work = mkdtempSync(join(tmpdir(), 'scrub-equivalence-'))
    source = join(work, 'source')
    sopsBlobs = generatedHistory(source, replaceValues).sopsBlobs
    for (const engine of ['builtin', 'filter-repo'] as const) {
      const repo = join(work, `mirror-${engine}`)
      execFileSync('git', ['clone', '--quiet', '--mirror', '--no-local', source, repo], {stdio: 'ignore'})
      const ctx = newScrubContext({repo, detector: sopsDetector(), ...(replaceValues ? {patterns: patterns()} : {}), replaceValues, engine, force: false, backup: join(work, `${engine}.bundle`)})
      await runScrubStages(ctx, ALL_SCRUB_STAGES)
      results[engine] = {ctx, repo}
    }
  }, 600_000)

  afterAll(() => {
    if (work) rmSync(work, {recursive: true, force: true})
  })

  test('the generated history has what real repositories have: branches, tags, pull refs, SOPS files renamed and deleted', () => {
    const refs = git(source, ['for-each-ref', '--format=%(refname)'])
    for (const ref of ['refs/heads/main', 'refs/heads/feature/x', 'refs/heads/release/1', 'refs/tags/v1', 'refs/tags/v2', 'refs/tags/light-1', 'refs/pull/1/head', 'refs/pull/9/merge']) expect(refs).toContain(ref)
    expect(git(source, ['log', '--all', '--format=%H', '--diff-filter=D', '--', '*secret*']).trim()).not.toBe('')
    expect(git(source, ['log', '--all', '--format=%H', '--', 'moved/*']).trim()).not.toBe('')
    expect(sopsBlobs.size).toBeGreaterThanOrEqual(15)
  })

  test('both engines find the same SOPS blobs, and the rescan is clean', () => {
    const builtin = results.builtin!.ctx
    const filterRepo = results['filter-repo']!.ctx
    expect([...builtin.before!.blobsToStrip].sort()).toEqual([...sopsBlobs].sort())
    expect([...filterRepo.before!.blobsToStrip].sort()).toEqual([...sopsBlobs].sort())
    expect(builtin.after!.clean).toBe(true)
    expect(filterRepo.after!.clean).toBe(true)
  })

  test('with --replace-values, the built-in engine read and rewrote only the blobs that held a value, and none is left', () => {
    const builtin = results.builtin!.ctx
    const valueBlobs = builtin.before!.report.valueFindings.filter((finding) => finding.objectType === 'blob')
    if (!replaceValues) {
      expect(valueBlobs).toEqual([])
      return
    }
    // Every version of config.env that held the value, the base64 leak and the URL-encoded note.
    expect(valueBlobs.length).toBeGreaterThanOrEqual(5)
    expect(builtin.rewrite!.stats!.blobsRewritten).toBe(valueBlobs.length)
    expect(builtin.before!.report.valueFindings.some((finding) => finding.objectType === 'commit')).toBe(true)
    for (const engine of ['builtin', 'filter-repo'] as const) {
      expect(results[engine]!.ctx.after!.valueFindings).toEqual([])
      expect(git(results[engine]!.repo, ['log', '--all', '--format=%B'])).toContain('***REMOVED***')
    }
  })

  test('every ref (branches, tags, pull refs) points at the same tree with either engine', () => {
    const builtin = refTrees(results.builtin!.repo)
    const filterRepo = refTrees(results['filter-repo']!.repo)
    expect(Object.keys(builtin).sort()).toEqual(Object.keys(filterRepo).sort())
    expect(builtin).toEqual(filterRepo)
    expect(Object.keys(builtin)).toEqual(expect.arrayContaining(['refs/pull/1/head', 'refs/pull/9/merge', 'refs/tags/v2', 'refs/tags/light-2']))
  })

  test('the histories match too: the same sequence of trees along every ref', () => {
    // Commits that only held a removed SOPS version become empty: git-filter-repo
    // prunes them, the built-in engine keeps them (docs/runbooks/git-scrub.md); the
    // distinct trees each ref went through are the same.
    expect(treeHistories(results.builtin!.repo)).toEqual(treeHistories(results['filter-repo']!.repo))
  })

  test('after cleanup no removed blob is left in either object store (reachable or not)', () => {
    for (const engine of ['builtin', 'filter-repo'] as const) {
      const repo = results[engine]!.repo
      const check = spawnSync('git', ['-C', repo, 'cat-file', '--batch-check'], {input: [...sopsBlobs].join('\n') + '\n', encoding: 'utf8'})
      expect(check.stdout.trim().split('\n')).toEqual([...sopsBlobs].map((blob) => `${blob} missing`))
      expect(git(repo, ['count-objects', '-v'])).toMatch(/^count: 0$/m)
    }
    // Neither engine paid for a second full gc: the built-in engine repacked once, filter-repo's own gc was enough.
    expect(results.builtin!.ctx.cleanup).toBe('repack')
    expect(results['filter-repo']!.ctx.cleanup).toBe('filter-repo-gc')
  })
})
