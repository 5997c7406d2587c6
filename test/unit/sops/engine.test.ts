import {mkdirSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {sopsExitError} from '../../../src/lib/sops/engine-sops.js'
import {resolveEngine, SopsError} from '../../../src/lib/sops/decrypt.js'
import {scratchDir} from './fixtures.js'

let scratch: string
let bin: string
beforeAll(() => {
  scratch = scratchDir()
  bin = join(scratch, 'bin')
  mkdirSync(bin)
  writeFileSync(join(bin, 'sops'), '#!/bin/sh\nexit 0\n', {mode: 0o755})
  writeFileSync(join(scratch, 'not-executable'), '', {mode: 0o644})
})
afterAll(() => rmSync(scratch, {recursive: true, force: true}))

describe('resolveEngine', () => {
  test('auto uses SOPS_BIN, else sops on PATH, else the builtin engine, and says why', () => {
    expect(resolveEngine({env: {SOPS_BIN: join(bin, 'sops'), PATH: ''}})).toEqual({engine: 'sops', sopsBinary: join(bin, 'sops'), reason: expect.stringContaining('(SOPS_BIN)')})
    expect(resolveEngine({env: {PATH: `/nonexistent:${bin}`}})).toEqual({engine: 'sops', sopsBinary: join(bin, 'sops'), reason: expect.stringContaining('(PATH)')})
    const fallback = resolveEngine({env: {PATH: join(scratch, 'empty')}})
    expect(fallback.engine).toBe('builtin')
    expect(fallback.sopsBinary).toBeUndefined()
    expect(fallback.reason).toMatch(/age keys only/)
  })

  test('builtin is used when asked, even with sops installed', () => {
    expect(resolveEngine({engine: 'builtin', env: {PATH: bin}}).engine).toBe('builtin')
  })

  test('sops asked for but missing, or SOPS_BIN wrong: a clear error', () => {
    expect(() => resolveEngine({engine: 'sops', env: {PATH: ''}})).toThrow(SopsError)
    expect(() => resolveEngine({engine: 'sops', env: {PATH: ''}})).toThrow(/no sops binary was found/)
    expect(() => resolveEngine({env: {SOPS_BIN: join(scratch, 'not-executable'), PATH: bin}})).toThrow(/SOPS_BIN is set to .*not-executable, which is not an executable file/)
  })
})

describe('sops exit codes', () => {
  test.each([
    [51, 'MAC mismatch. File has no MAC, computed ABC', 'MAC_MISMATCH', /has no MAC/],
    [25, 'Error decrypting tree: Error walking tree: Could not decrypt value: Input string hunter2 does not match sops\' data format', 'AAD_MISMATCH', /is not a sops-encrypted value/],
    [128, 'Failed to get the data key required to decrypt the SOPS file.\n\nGroup 0: FAILED\n  age1l44xcng8dqj32nlv6d930qvvrny05hglzcv9qpc7kxjc6902ma4qufys29: FAILED', 'NO_KEY', /age1l44xcng8dqj32nlv6d930qvvrny05hglzcv9qpc7kxjc6902ma4qufys29/],
    [1, 'sops metadata not found', 'NOT_SOPS', /no sops metadata/],
    [1, "decoding failed due to the following error(s):\n\n'lastmodified' expected type 'string', got unconvertible type 'time.Time'", 'PARSE', /lastmodified is a time\.Time, not a string/],
    [100, 'Error: cannot operate on non-existent file', 'FILE_NOT_FOUND', /does not exist/],
    [203, 'something else: hunter2', 'SOPS_FAILED', /exit code 203/],
  ])('%i → %s', (code, stderr, expected, message) => {
    const error = sopsExitError('/repo/app.enc.yaml', code, stderr)
    expect(error.code).toBe(expected)
    expect(error.file).toBe('/repo/app.enc.yaml')
    expect(error.message).toMatch(message)
    expect(error.message).toContain('/repo/app.enc.yaml')
    expect(`${error.message} ${error.hint}`).not.toContain('hunter2')
  })
})
