import {execFileSync} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {openRegularFile, openRegularFileSync, RegularFileProblem} from '../../../src/lib/files/regular-file.js'

describe('opening regular files only', () => {
  let dir: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'regular-file-'))
    writeFileSync(join(dir, 'plain.yaml'), 'a: 1\n')
    execFileSync('mkfifo', [join(dir, 'pipe.json')])
  })
  afterAll(() => rmSync(dir, {recursive: true, force: true}))

  it('opens a regular file', async () => {
    const {handle, info} = await openRegularFile(join(dir, 'plain.yaml'))
    expect(info.size).toBe(5)
    await handle.close()
  })

  it.each([
    ['a FIFO without a writer (would block a plain open)', 'pipe.json', 'a FIFO (named pipe)'],
    ['a character device that never ends', '/dev/zero', 'a character device'],
    ['a directory', '.', 'a directory'],
  ])('refuses %s at once, saying what it is', async (_what, name, found) => {
    const path = name.startsWith('/') ? name : join(dir, name)
    const problem = await openRegularFile(path).catch((error: unknown) => error)
    expect(problem).toBeInstanceOf(RegularFileProblem)
    expect(problem).toMatchObject({kind: 'not-regular', found})
    expect(() => openRegularFileSync(path)).toThrow(RegularFileProblem)
  })

  it('tells a missing file from an unreadable one by the system code', async () => {
    await expect(openRegularFile(join(dir, 'absent'))).rejects.toMatchObject({kind: 'missing', errno: 'ENOENT'})
    expect(() => openRegularFileSync(join(dir, 'absent'))).toThrow('does not exist')
  })
})
