import {existsSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {abortOnInterrupt, removeOnInterrupt} from '../../../src/lib/cli/interrupt.js'

describe('removeOnInterrupt', () => {
  it('watches SIGINT, SIGTERM and exit only while a file is pending, and a release keeps the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'interrupt-'))
    try {
      const file = join(dir, '.partial')
      writeFileSync(file, 'x')
      const before = {int: process.listenerCount('SIGINT'), term: process.listenerCount('SIGTERM'), exit: process.listenerCount('exit')}
      const releaseA = removeOnInterrupt(file)
      const releaseB = removeOnInterrupt(join(dir, '.other'))
      expect(process.listenerCount('SIGINT')).toBe(before.int + 1)
      expect(process.listenerCount('SIGTERM')).toBe(before.term + 1)
      expect(process.listenerCount('exit')).toBe(before.exit + 1)
      releaseA()
      expect(process.listenerCount('SIGINT')).toBe(before.int + 1)
      releaseB()
      releaseB()
      expect(process.listenerCount('SIGINT')).toBe(before.int)
      expect(process.listenerCount('exit')).toBe(before.exit)
      expect(existsSync(file)).toBe(true)
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })
})

describe('abortOnInterrupt', () => {
  it('watches SIGINT and SIGTERM only while an upload is pending; a release never calls the abort', () => {
    const before = {int: process.listenerCount('SIGINT'), term: process.listenerCount('SIGTERM')}
    let aborted = 0
    const abort = async () => {
      aborted++
    }
    const releaseA = abortOnInterrupt(abort)
    const releaseB = abortOnInterrupt(async () => undefined)
    expect(process.listenerCount('SIGINT')).toBe(before.int + 1)
    expect(process.listenerCount('SIGTERM')).toBe(before.term + 1)
    releaseA()
    expect(process.listenerCount('SIGTERM')).toBe(before.term + 1)
    releaseB()
    releaseB()
    expect(process.listenerCount('SIGINT')).toBe(before.int)
    expect(process.listenerCount('SIGTERM')).toBe(before.term)
    expect(aborted).toBe(0)
  })
})
