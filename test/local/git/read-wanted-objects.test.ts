import {chmodSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {readWantedObjects, type GitObjectType} from '../../../src/lib/git-client/cat-file.js'
import {ToolkitError} from '../../../src/lib/errors/errors.js'
import {git, importRepo, type CommitSpec} from './fixture-repo.js'

/**
 * The object read under `git scan` and the scrub's plan and rescan: a listing
 * pass and several `cat-file --batch` readers fed in blocks. What matters is
 * that every wanted object arrives exactly once, whole, whatever the number
 * of readers, and that a missing object fails the read.
 */
describe('readWantedObjects (listing + parallel cat-file readers)', () => {
  let work: string
  let repo: string
  const expected = new Map<string, Buffer>()

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'read-wanted-'))
    repo = join(work, 'repo')
    const commits: CommitSpec[] = []
    // More than two blocks of 512 blobs per reader, a few large ones, and deltas after a repack.
    for (let i = 1; i <= 300; i++) {
      const changes = Array.from({length: 5}, (_, f) => ({path: `dir${f}/file.txt`, content: `file ${f} version ${i}\n${'line\n'.repeat(f * 40)}`}))
      if (i % 100 === 0) changes.push({path: 'big.bin', content: `${i}`.repeat(300_000)})
      commits.push({mark: i, ref: 'refs/heads/main', message: `commit ${i}\n`, parents: i > 1 ? [i - 1] : [], changes})
    }
    importRepo(repo, commits)
    git(repo, ['repack', '-a', '-d', '-q'])
    const listing = git(repo, ['cat-file', '--batch-all-objects', '--batch-check=%(objectname) %(objecttype)'])
    for (const line of listing.trim().split('\n')) {
      const [oid, type] = line.split(' ')
      if (type === 'blob') expected.set(oid, Buffer.from(git(repo, ['cat-file', 'blob', oid]), 'utf8'))
    }
  })

  afterAll(() => {
    if (work) rmSync(work, {recursive: true, force: true})
  })

  test.each([1, 2, 3])('with %i reader(s), every wanted object arrives once and whole; the others are counted, not read', async (readers) => {
    const seen = new Map<string, number>()
    const types = new Set<GitObjectType>()
    const stats = await readWantedObjects(
      repo,
      {
        wants: (type) => type === 'blob',
        visit: (oid, type, content) => {
          types.add(type)
          seen.set(oid, (seen.get(oid) ?? 0) + 1)
          expect(content.equals(expected.get(oid)!)).toBe(true)
        },
      },
      {readers, maxInMemory: 512 * 1024},
    )
    expect(expected.size).toBeGreaterThan(1100)
    expect([...types]).toEqual(['blob'])
    expect(seen.size).toBe(expected.size)
    expect([...seen.values()].every((count) => count === 1)).toBe(true)
    const all = git(repo, ['count-objects', '-v'])
    expect(stats.objects).toBeGreaterThan(expected.size + 300)
    expect(all).toMatch(/^in-pack: \d+$/m)
    expect(stats.objects).toBe(Number(/^in-pack: (\d+)$/m.exec(all)![1]))
  })

  test('a large wanted object is streamed to visitLarge in pieces, never held whole', async () => {
    const sizes = new Map<string, number>()
    await readWantedObjects(
      repo,
      {
        wants: (type) => type === 'blob',
        visit: () => undefined,
        visitLarge: (oid, _type, size) => {
          let received = 0
          return {write: (chunk) => (received += chunk.length), end: () => sizes.set(oid, received === size ? size : -1)}
        },
      },
      {readers: 2, maxInMemory: 100_000},
    )
    expect(sizes.size).toBe(3)
    expect([...sizes.values()].every((size) => size === 900_000)).toBe(true)
  })

  test('a corrupt object fails the read with a git error (exit 2 in the commands), not a partial result', async () => {
    const damaged = join(work, 'damaged')
    importRepo(damaged, [{mark: 1, ref: 'refs/heads/main', message: 'one\n', changes: [{path: 'a.txt', content: 'a\n'}]}])
    const blob = git(damaged, ['hash-object', '-w', '--stdin'], {input: 'a loose blob\n'}).trim()
    const file = join(damaged, '.git/objects', blob.slice(0, 2), blob.slice(2))
    chmodSync(file, 0o644)
    writeFileSync(file, 'not zlib at all')
    const error = await readWantedObjects(damaged, {wants: () => true, visit: () => undefined}).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(ToolkitError)
    expect((error as ToolkitError).code).toBe('GIT_FAILED')
  })
})
