import {join} from 'node:path'

import {firstChangedCommits, newScrubContext, nextSteps, runScrubStages} from '../../../src/lib/git/scrub.js'
import {sopsDetector} from '../../../src/lib/git/sops-adapter.js'
import {fixture, SOPS} from '../git/fixture-repo.js'
import {ALL_SCRUB_STAGES, commitAll, freshCloneOf, newRepo, sh, workDir, write} from '../git/hardening-fixtures.js'

// "History changed first at" lists only commits whose
// id changed. git-filter-repo's commit-map leaves out the commits of an
// untouched refs/notes/* history; they are the same commits afterwards.
describe('git scrub lists as first changed only commits whose id changed', () => {
  const work = workDir('git-first-changed-')
  afterAll(() => work.cleanup())

  test('unit: a commit absent from the map, or mapped to itself, did not change; a pruned one did', () => {
    const parents = new Map([
      ['a', []],
      ['b', ['a']],
      ['c', ['b']],
      ['note', []],
    ])
    expect(firstChangedCommits(new Map([['a', 'a'], ['b', 'B'], ['c', 'C']]), parents)).toEqual(['b'])
    expect(firstChangedCommits(new Map([['a', 'a'], ['b', '0'.repeat(40)], ['c', 'C']]), parents)).toEqual(['b'])
    expect(firstChangedCommits(new Map(), parents)).toEqual([])
  })

  test.each(['filter-repo', 'builtin'] as const)('%s: a repository with git notes', async (engine) => {
    const source = newRepo(join(work.dir, `source-${engine}`))
    write(source, 'README.md', '# app\n')
    commitAll(source, 'first')
    write(source, 'deploy/secret.enc.yaml', fixture(SOPS.humphdYaml))
    const sopsCommit = commitAll(source, 'add a SOPS file')
    sh(source, 'notes', 'add', '-m', 'reviewed', 'HEAD~1')
    const noteCommit = sh(source, 'rev-parse', 'refs/notes/commits')
    const clone = freshCloneOf(source, join(work.dir, `clone-${engine}`))
    sh(clone, 'fetch', '--quiet', 'origin', 'refs/notes/*:refs/notes/*')
    const ctx = newScrubContext({repo: clone, detector: sopsDetector(), replaceValues: false, engine, force: true})
    await runScrubStages(ctx, ALL_SCRUB_STAGES)
    expect(ctx.after!.clean).toBe(true)
    // The notes history is untouched...
    expect(sh(clone, 'rev-parse', 'refs/notes/commits')).toBe(noteCommit)
    // ...so only the commit that added the SOPS file is where history changed first.
    expect(nextSteps(ctx).firstChangedCommits).toEqual([sopsCommit])
  })
})
