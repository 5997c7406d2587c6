import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {indexHistory, startHistoryIndex} from '../../../src/lib/git/history-index.js'
import {buildHistoryRepo, type HistoryRepo} from './fixture-repo.js'

/**
 * The history pass that maps blobs to paths and commits starts beside the
 * object read, before the blobs of interest are known: it must give exactly
 * the index of a pass restricted to those blobs, also when it keeps too much
 * and falls back to that pass (bounded memory).
 */
describe('history index started before the blobs of interest are known', () => {
  let work: string
  let repo: HistoryRepo
  const isSopsYaml = (path: string) => path.endsWith('.sops.yaml')

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'history-index-'))
    repo = buildHistoryRepo(join(work, 'repo'))
  })
  afterAll(() => rmSync(work, {recursive: true, force: true}))

  test.each([
    ['kept in memory', undefined],
    ['over its budget: the restricted pass runs instead', 1],
  ])('%s: the same index as a pass restricted to the blobs', async (_name, maxEntries) => {
    const blobs = new Set(repo.sopsBlobs)
    const expected = await indexHistory(repo.dir, {blobs, selectPath: isSopsYaml})
    const early = await startHistoryIndex(repo.dir, {selectPath: isSopsYaml, maxEntries}).finish(blobs)
    expect(early).toEqual(expected)
    expect(early.byBlob.size).toBe(blobs.size)
    expect(early.selected.size).toBeGreaterThan(0)
  })

  test('aborted (the read beside it failed): nothing is left running and finish falls back', async () => {
    const early = startHistoryIndex(repo.dir, {selectPath: isSopsYaml})
    early.abort()
    const index = await early.finish(new Set(repo.sopsBlobs))
    expect(index.byBlob.size).toBe(repo.sopsBlobs.length)
  })
})
