import {join} from 'node:path'

import {newScrubContext, runScrubStages} from '../../../src/lib/git/scrub.js'
import {sopsDetector} from '../../../src/lib/git/sops-adapter.js'
import {blobId, fixture, SOPS} from '../git/fixture-repo.js'
import {ALL_SCRUB_STAGES, commitAll, freshCloneOf, newRepo, sh, workDir, write} from '../git/hardening-fixtures.js'

function treeEntries(repo: string, commit: string): string[] {
  return sh(repo, 'ls-tree', '-r', '--full-tree', commit).split('\n').filter(Boolean).sort()
}

// A path that held a SOPS file once (README.md, here on a
// branch and in one commit of main) keeps every other version; only the SOPS
// blobs and .sops.yaml go, from the commits that hold them.
describe('git scrub removes SOPS blobs by id, keeping every other version of their paths (both engines)', () => {
  const work = workDir('git-scrub-versions-')
  let source: string
  const strip = new Set<string>()

  beforeAll(() => {
    source = newRepo(join(work.dir, 'source'))
    write(source, 'README.md', '# app v1\n')
    write(source, 'app.yaml', 'kind: Deployment\n')
    commitAll(source, 'v1')
    write(source, 'README.md', fixture(SOPS.humphdYaml))
    commitAll(source, 'oops: SOPS content pasted into the README')
    write(source, 'README.md', '# app v2\n')
    commitAll(source, 'v2')
    sh(source, 'checkout', '--quiet', '-b', 'side')
    write(source, 'README.md', fixture(SOPS.dotenv))
    write(source, '.sops.yaml', fixture(SOPS.fluxSopsYaml))
    commitAll(source, 'side: SOPS again, and creation rules')
    sh(source, 'checkout', '--quiet', 'main')
    write(source, 'app.yaml', 'kind: Deployment\nreplicas: 2\n')
    commitAll(source, 'scale')
    sh(source, 'merge', '--quiet', '--no-ff', '--no-commit', 'side')
    write(source, 'README.md', '# app v3\n')
    commitAll(source, 'merge side, README v3')
    for (const content of [fixture(SOPS.humphdYaml), fixture(SOPS.dotenv), fixture(SOPS.fluxSopsYaml)]) strip.add(blobId(content))
  })

  afterAll(() => work.cleanup())

  test.each(['builtin', 'filter-repo'] as const)('%s: every commit keeps exactly its non-SOPS files', async (engine) => {
    const clone = freshCloneOf(source, join(work.dir, `clone-${engine}`))
    const ctx = newScrubContext({repo: clone, detector: sopsDetector(), replaceValues: false, engine, force: false})
    await runScrubStages(ctx, ALL_SCRUB_STAGES)
    expect(ctx.after!.clean).toBe(true)
    expect(new Set(ctx.plan!.blobsToStrip)).toEqual(strip)
    const oldCommits = sh(source, 'rev-list', '--all').split('\n')
    for (const old of oldCommits) {
      const now = ctx.rewrite!.commitMap.get(old)
      expect(now).toMatch(/^[0-9a-f]{40}$/)
      const expected = treeEntries(source, old).filter((entry) => !strip.has(entry.split(/\s+/)[2]))
      expect({commit: old, tree: treeEntries(clone, now!)}).toEqual({commit: old, tree: expected})
    }
    expect(sh(clone, 'show', 'main:README.md')).toBe('# app v3')
    expect(sh(clone, 'show', 'main~1:README.md')).toBe('# app v2')
    expect(sh(clone, 'log', '--format=%s', '--', 'README.md').split('\n')).toEqual(expect.arrayContaining(['v1', 'v2', 'merge side, README v3']))
  })
})
