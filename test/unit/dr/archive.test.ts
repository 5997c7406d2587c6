import {Readable} from 'node:stream'
import {gzipSync} from 'node:zlib'

import {inspectArchive, parseRaftMeta, parseSha256Sums, type ProblemCode} from '../../../src/lib/dr/archive.js'
import {archiveOf, metaJson, sha256, stateBin, sums, tarOf, validMembers, type Member} from './synthetic-snapshot.js'

/** Feeds the bytes in small chunks, so member boundaries fall inside chunks as they do on a socket. */
const inspect = (bytes: Buffer, chunk = 7_919) => inspectArchive(Readable.from((function* () {
  for (let i = 0; i < bytes.length; i += chunk) yield bytes.subarray(i, i + chunk)
})()))

const codes = (problems: {code: ProblemCode}[]) => problems.map((p) => p.code)

describe('inspectArchive: good snapshots', () => {
  test('a complete archive passes, with member digests, Raft meta and the archive digest', async () => {
    const members = validMembers()
    const bytes = await archiveOf(members)
    const result = await inspect(bytes)
    expect(result.problems).toEqual([])
    expect(result.ok).toBe(true)
    expect(result.size).toBe(bytes.length)
    expect(result.sha256).toBe(sha256(bytes))
    expect(result.members.map((m) => m.name)).toEqual(['meta.json', 'state.bin', 'SHA256SUMS'])
    expect(result.members[1]).toMatchObject({size: 200_000, sha256: sha256(members[1].content), listedSha256: sha256(members[1].content)})
    expect(result.raft).toEqual({id: '2-1234-1700000000000', index: 1234, term: 2, version: 1, size: 200_000})
    expect(result.sealedSums).toBe(false)
  })

  test('SHA256SUMS.sealed is accepted and reported', async () => {
    const result = await inspect(await archiveOf(validMembers({sealed: true})))
    expect(result.ok).toBe(true)
    expect(result.sealedSums).toBe(true)
  })

  test('meta.json Size 0 (unknown) is not compared with state.bin', async () => {
    expect((await inspect(await archiveOf(validMembers({meta: {Size: 0}})))).ok).toBe(true)
  })

  test.each([1, 512, 65_536])('chunking does not matter (%i-byte chunks)', async (chunk) => {
    expect((await inspect(await archiveOf(validMembers({stateSize: 5_000})), chunk)).ok).toBe(true)
  })
})

describe('inspectArchive: damaged or foreign files', () => {
  test('an empty file', async () => {
    const result = await inspect(Buffer.alloc(0))
    expect(result.ok).toBe(false)
    expect(codes(result.problems)).toEqual(['EMPTY'])
  })

  test.each([10, 100, 1_000, 50_000, -30, -1])('a snapshot cut at %i bytes', async (cut) => {
    const bytes = await archiveOf(validMembers())
    const result = await inspect(bytes.subarray(0, cut < 0 ? bytes.length + cut : cut))
    expect(result.ok).toBe(false)
    expect(codes(result.problems)).toEqual(['TRUNCATED'])
  })

  test('a flipped byte inside state.bin (re-packed so gzip and tar are valid) fails its SHA256SUMS line', async () => {
    const members = validMembers()
    const state = Buffer.from(members[1].content)
    state[100_000] ^= 0x01
    const result = await inspect(await archiveOf([members[0], {name: 'state.bin', content: state}, members[2]]))
    expect(result.ok).toBe(false)
    expect(codes(result.problems)).toEqual(['CHECKSUM_MISMATCH'])
    expect(result.problems[0].message).toMatch(/state\.bin/)
  })

  test('a flipped byte in the compressed stream fails the gzip check', async () => {
    const bytes = Buffer.from(await archiveOf(validMembers()))
    bytes[Math.floor(bytes.length / 2)] ^= 0x10
    const result = await inspect(bytes)
    expect(result.ok).toBe(false)
    expect(result.problems[0].code).toMatch(/CORRUPT_GZIP|MALFORMED_TAR|CHECKSUM_MISMATCH/)
  })

  test('a file that is not gzip', async () => {
    const result = await inspect(Buffer.from('{"this": "is a JSON file, not a snapshot"}\n'))
    expect(codes(result.problems)).toEqual(['NOT_GZIP'])
  })

  test('a gzip file that is not a tar', async () => {
    const result = await inspect(gzipSync(Buffer.from('hello, this is plain text that is long enough'.repeat(20))))
    expect(result.ok).toBe(false)
    expect(result.problems[0].code).toMatch(/MALFORMED_TAR|TRUNCATED/)
  })

  test('a tar without SHA256SUMS', async () => {
    const [meta, state] = validMembers()
    const result = await inspect(await archiveOf([meta, state]))
    expect(codes(result.problems)).toEqual(['MISSING_MEMBER'])
  })

  test('a tar without state.bin (SHA256SUMS then lists a missing member)', async () => {
    const [meta, , list] = validMembers()
    expect(codes((await inspect(await archiveOf([meta, list]))).problems).sort()).toEqual(['MALFORMED_SUMS', 'MISSING_MEMBER'])
  })

  test('an extra member', async () => {
    const result = await inspect(await archiveOf([...validMembers(), {name: 'evil.sh', content: Buffer.from('#!/bin/sh\n')}]))
    expect(codes(result.problems)).toEqual(['UNEXPECTED_MEMBER'])
  })

  test('a directory member', async () => {
    const result = await inspect(await archiveOf([{name: 'meta.json', type: 'directory', content: Buffer.alloc(0)}, ...validMembers().slice(1)]))
    expect(codes(result.problems)).toContain('UNEXPECTED_MEMBER')
  })

  test('a duplicated member', async () => {
    const members = validMembers()
    expect(codes((await inspect(await archiveOf([...members, members[0]]))).problems)).toEqual(['DUPLICATE_MEMBER'])
  })

  test('SHA256SUMS with a malformed line', async () => {
    const members = validMembers()
    const list = Buffer.concat([members[2].content, Buffer.from('not a checksum line\n')])
    expect(codes((await inspect(await archiveOf([members[0], members[1], {name: 'SHA256SUMS', content: list}]))).problems)).toEqual(['MALFORMED_SUMS'])
  })

  test('SHA256SUMS that forgets meta.json', async () => {
    const members = validMembers()
    const list = sums([members[1]])
    expect(codes((await inspect(await archiveOf([members[0], members[1], {name: 'SHA256SUMS', content: list}]))).problems)).toEqual(['MALFORMED_SUMS'])
  })

  test('meta.json that is not a Raft snapshot description', async () => {
    const state = stateBin(1000)
    const meta = Buffer.from('{"hello": "world"}')
    const data: Member[] = [
      {name: 'meta.json', content: meta},
      {name: 'state.bin', content: state},
    ]
    expect(codes((await inspect(await archiveOf([...data, {name: 'SHA256SUMS', content: sums(data)}]))).problems)).toEqual(['MALFORMED_META'])
  })

  test('meta.json Size that disagrees with state.bin', async () => {
    const result = await inspect(await archiveOf(validMembers({meta: {Size: 12345}})))
    expect(codes(result.problems)).toEqual(['SIZE_MISMATCH'])
  })

  test('a huge meta.json is refused without holding it all', async () => {
    const meta = Buffer.concat([metaJson(), Buffer.alloc(5 * 1024 * 1024, 0x20)])
    const state = stateBin(100)
    const data: Member[] = [
      {name: 'meta.json', content: meta},
      {name: 'state.bin', content: state},
    ]
    const result = await inspect(await archiveOf([...data, {name: 'SHA256SUMS', content: sums(data)}]))
    expect(codes(result.problems)).toContain('MEMBER_TOO_LARGE')
  })

  test('data after the gzip stream', async () => {
    const bytes = Buffer.concat([await archiveOf(validMembers()), Buffer.from('trailing junk')])
    expect((await inspect(bytes)).ok).toBe(false)
  })

  test('an uncompressed tar (valid members, but not what Vault writes)', async () => {
    expect(codes((await inspect(await tarOf(validMembers()))).problems)).toEqual(['NOT_GZIP'])
  })
})

describe('parsers', () => {
  test('parseSha256Sums reads sha256sum output, text and binary mode', () => {
    const a = 'a'.repeat(64)
    const b = 'B'.repeat(64)
    expect(parseSha256Sums(`${a}  meta.json\n${b} *state.bin\n`)).toEqual({sums: new Map([['meta.json', a], ['state.bin', 'b'.repeat(64)]]), errors: []})
    expect(parseSha256Sums(`${a}  x\n${a}  x\n`).errors).toEqual(['x is listed twice'])
    expect(parseSha256Sums('abc  x\n').errors).toHaveLength(1)
  })

  test('parseRaftMeta needs ID, Index and Term', () => {
    expect(parseRaftMeta(metaJson())).toMatchObject({id: '2-1234-1700000000000', index: 1234, term: 2})
    expect(parseRaftMeta(Buffer.from('not json'))).toBeUndefined()
    expect(parseRaftMeta(metaJson({ID: ''}))).toBeUndefined()
    expect(parseRaftMeta(metaJson({Index: -1}))).toBeUndefined()
    expect(parseRaftMeta(metaJson({Term: '2'}))).toBeUndefined()
  })
})
