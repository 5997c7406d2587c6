import {FastExportFilter} from '../../../src/lib/git/fast-export-filter.js'
import {pathKeyFromBytes} from '../../../src/lib/git/history-index.js'
import {firstChangedCommits} from '../../../src/lib/git/scrub.js'

const SOPS_BLOB = '1'.repeat(40)
const stream = (message: string) =>
  Buffer.from(
    [
      'feature done',
      'blob',
      'mark :1',
      `original-oid ${SOPS_BLOB}`,
      'data 9',
      'sops: yes',
      'blob',
      'mark :2',
      `original-oid ${'2'.repeat(40)}`,
      'data 15',
      'pw=hunter2-long',
      'reset refs/heads/main',
      'commit refs/heads/main',
      'mark :3',
      `original-oid ${'3'.repeat(40)}`,
      'author A <a@x> 1 +0000',
      'committer A <a@x> 1 +0000',
      `data ${Buffer.byteLength(message)}`,
      message + 'M 100644 :1 secret.yaml',
      'M 100644 :1 "na\\303\\257ve.yaml"',
      'M 100644 :2 app/config.txt',
      'M 100644 :2 "dir/s\\303\\251cret.yaml"',
      'M 160000 4444444444444444444444444444444444444444 vendor/lib',
      '',
      'tag blob-tag',
      'mark :4',
      'from :1',
      `original-oid ${'5'.repeat(40)}`,
      'tagger A <a@x> 1 +0000',
      'data 3',
      'tagdone',
      '',
    ].join('\n'),
  )

describe('FastExportFilter', () => {
  const rules = {paths: new Set([pathKeyFromBytes(Buffer.from('dir/sécret.yaml'))]), blobIds: new Set([SOPS_BLOB]), replacements: [Buffer.from('hunter2-long')]}

  test.each([1, 5, 64, 100000])('drops stripped blobs, their M lines, listed paths and tags of dropped blobs (%i-byte chunks)', (size) => {
    const filter = new FastExportFilter(rules)
    const input = stream('leak hunter2-long\n')
    const parts: Buffer[] = []
    for (let i = 0; i < input.length; i += size) parts.push(filter.push(input.subarray(i, i + size)))
    parts.push(filter.end())
    const out = Buffer.concat(parts).toString('utf8')
    expect(out).not.toContain('sops: yes')
    expect(out).not.toContain(':1 ')
    expect(out).not.toContain('s\\303\\251cret')
    expect(out).not.toContain('hunter2-long')
    expect(out).toContain('data 16\npw=***REMOVED***\n')
    expect(out).toContain('M 160000 4444444444444444444444444444444444444444 vendor/lib')
    expect(out).toContain('M 100644 :2 app/config.txt')
    expect(out).not.toContain('tag blob-tag')
    expect(out).toContain('data 19\nleak ***REMOVED***\n')
    expect(filter.stats).toMatchObject({blobsDropped: 1, blobsRewritten: 1, fileChangesDropped: 3, messagesRewritten: 1, tagsDropped: 1, commits: 1})
    expect([...filter.importedRefs].sort()).toEqual(['refs/heads/main'])
    expect(filter.commitMarks.get(':3')).toBe('3'.repeat(40))
  })
})

describe('firstChangedCommits', () => {
  test('reports changed commits whose parents are unchanged', () => {
    const parents = new Map([
      ['a', []],
      ['b', ['a']],
      ['c', ['b']],
      ['d', ['a']],
      ['m', ['c', 'd']],
    ])
    const map = new Map([
      ['a', 'a'],
      ['b', 'B'],
      ['c', 'C'],
      ['d', 'd'],
      ['m', 'M'],
    ])
    expect(firstChangedCommits(map, parents)).toEqual(['b'])
  })
})
