import {appendFile, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {setTimeout as sleep} from 'node:timers/promises'

import {inspectArchive} from '../../../src/lib/dr/archive.js'
import {checkFileContents, hashFile, hashFileOnWorker, startFileCheck, WrittenSoFar} from '../../../src/lib/dr/file-check.js'
import {archiveOf, sha256, stateBin, validMembers} from './synthetic-snapshot.js'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dr-file-check-'))
})
afterEach(async () => {
  await rm(dir, {recursive: true, force: true})
})

/** Settles to 'pending' if the promise has not settled after a moment. */
const stateOf = (promise: Promise<unknown>) => Promise.race([promise.then(() => 'settled', () => 'settled'), sleep(50).then(() => 'pending')])

describe('checkFileContents', () => {
  test('a finished file: the same findings as the stream checker, the file digest left to the caller', async () => {
    const bytes = await archiveOf(validMembers({stateSize: 3_000_000}))
    const file = join(dir, 'a.snap')
    await writeFile(file, bytes)
    const fromFile = await checkFileContents(file, WrittenSoFar.complete(bytes.length))
    const fromStream = await inspectArchive(Readable.from([bytes]))
    expect(fromFile.ok).toBe(true)
    expect(fromFile).toEqual({...fromStream, sha256: ''})
  })

  test('a file being written: the check follows the writer, waits for it, and ends when told the file is complete', async () => {
    const bytes = await archiveOf(validMembers({stateSize: 3_000_000}))
    const file = join(dir, 'growing.snap')
    await writeFile(file, '')
    const written = new WrittenSoFar()
    const result = checkFileContents(file, written)
    const piece = 700_001
    for (let offset = 0; offset < bytes.length; offset += piece) {
      await appendFile(file, bytes.subarray(offset, offset + piece))
      written.commit(Math.min(bytes.length, offset + piece))
      await sleep(5)
    }
    // Every byte is there, but the writer has not said it is done: the check waits.
    expect(await stateOf(result)).toBe('pending')
    written.finish(bytes.length)
    const inspection = await result
    expect(inspection.problems).toEqual([])
    expect(inspection.size).toBe(bytes.length)
  })

  test('never reads past what the writer committed', async () => {
    const bytes = await archiveOf(validMembers())
    const file = join(dir, 'extra.snap')
    // Bytes past the committed length (a write in flight) would break the gzip stream if read.
    await writeFile(file, Buffer.concat([bytes, Buffer.from('not yet committed')]))
    const inspection = await checkFileContents(file, WrittenSoFar.complete(bytes.length))
    expect(inspection.ok).toBe(true)
    expect(inspection.size).toBe(bytes.length)
  })

  test('a fault in the first bytes settles the check at once, before the writer is done', async () => {
    const file = join(dir, 'garbage.snap')
    await writeFile(file, Buffer.alloc(64 * 1024, 'x'))
    const written = new WrittenSoFar()
    written.commit(64 * 1024)
    const inspection = await checkFileContents(file, written)
    expect(inspection.problems.map((p) => p.code)).toEqual(['NOT_GZIP'])
  })

  test('a file shorter than what was committed is an error, not a finding about the snapshot', async () => {
    const bytes = await archiveOf(validMembers())
    const file = join(dir, 'short.snap')
    await writeFile(file, bytes.subarray(0, 1000))
    await expect(checkFileContents(file, WrittenSoFar.complete(bytes.length))).rejects.toMatchObject({code: 'FILE_SHRANK'})
  })

  test('a writer that fails ends the check with its error', async () => {
    const file = join(dir, 'failed.snap')
    await writeFile(file, '')
    const written = new WrittenSoFar()
    const result = checkFileContents(file, written)
    written.fail(new Error('download cut off'))
    await expect(result).rejects.toThrow('download cut off')
  })
})

describe('startFileCheck', () => {
  test('stop() ends a check that waits for a writer', async () => {
    const file = join(dir, 'stopped.snap')
    await writeFile(file, '')
    const check = startFileCheck(file)
    expect(await stateOf(check.result)).toBe('pending')
    await check.stop()
    expect(await stateOf(check.result)).toBe('settled')
  })
})

describe('hashFile', () => {
  test('the SHA-256 and size of the whole file, across its two read buffers and an uneven tail', async () => {
    for (const length of [0, 1, 1024 * 1024, 3 * 1024 * 1024 + 17]) {
      const bytes = stateBin(length, length)
      const file = join(dir, `data-${length}.bin`)
      await writeFile(file, bytes)
      expect(await hashFile(file)).toEqual({sha256: sha256(bytes), size: length})
    }
  })

  test('a missing file is the read error', async () => {
    await expect(hashFile(join(dir, 'missing.bin'))).rejects.toMatchObject({code: 'ENOENT'})
  })
})

describe('hashFileOnWorker', () => {
  test('the SHA-256 and size of the whole file (larger than its read buffer)', async () => {
    const bytes = stateBin(2_500_000)
    const file = join(dir, 'data.bin')
    await writeFile(file, bytes)
    expect(await hashFileOnWorker(file)).toEqual({sha256: sha256(bytes), size: bytes.length})
  })

  test('an empty file and a missing file', async () => {
    const empty = join(dir, 'empty.bin')
    await writeFile(empty, '')
    expect(await hashFileOnWorker(empty)).toEqual({sha256: sha256(Buffer.alloc(0)), size: 0})
    await expect(hashFileOnWorker(join(dir, 'missing.bin'))).rejects.toMatchObject({code: 'ENOENT'})
  })
})
