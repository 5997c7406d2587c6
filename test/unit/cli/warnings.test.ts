import {Config} from '@oclif/core'
import {jest} from '@jest/globals'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {format} from 'node:util'

import {BaseCommand} from '../../../src/lib/cli/base-command.js'
import {ToolkitError} from '../../../src/lib/errors/errors.js'

// A bare oclif root: loading the project's would read its manifest or command
// files, which a concurrent `npm run build` may be replacing.
const ROOT = mkdtempSync(join(tmpdir(), 'warnings-cli-'))
writeFileSync(join(ROOT, 'package.json'), JSON.stringify({name: 'warnings-cli', version: '0.0.0', type: 'module', oclif: {bin: 'warnings'}}))
afterAll(() => rmSync(ROOT, {recursive: true, force: true}))

class Warns extends BaseCommand<typeof Warns> {
  static override description = 'test command'
  public async run(): Promise<{ok: boolean; warnings?: string[]}> {
    this.warn('first')
    this.warn(new Error('second'))
    if (process.env.WARNS_FAIL) throw new ToolkitError('BROKEN', 'it broke', {hint: 'fix it'})
    return process.env.WARNS_OWN ? {ok: true, warnings: ['own', 'first']} : {ok: true}
  }
}

async function run(argv: string[], env: Record<string, string> = {}): Promise<{stdout: string; stderr: string}> {
  const stdout: string[] = []
  const stderr: string[] = []
  // oclif writes through console under jest, and through the streams otherwise.
  const spies = [
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => stdout.push(String(chunk)) > 0),
    jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => stderr.push(String(chunk)) > 0),
    jest.spyOn(console, 'log').mockImplementation((...args) => void stdout.push(`${format(...args)}\n`)),
    jest.spyOn(console, 'error').mockImplementation((...args) => void stderr.push(`${format(...args)}\n`)),
  ]
  Object.assign(process.env, env)
  const exitCode = process.exitCode
  try {
    const config = await Config.load({root: ROOT})
    await Warns.run(argv, config).catch(() => undefined)
  } finally {
    for (const spy of spies) spy.mockRestore()
    for (const name of Object.keys(env)) delete process.env[name]
    process.exitCode = exitCode
  }
  // Node's own process warnings (the VM modules notice) are not the command's.
  return {stdout: stdout.join(''), stderr: stderr.join('').replace(/^\((node:\d+|Use `node).*\n/gm, '')}
}

describe('BaseCommand warnings', () => {
  it('prints warnings on stderr for a human', async () => {
    const {stdout, stderr} = await run([])
    expect(stderr).toBe('warning: first\nwarning: second\n')
    expect(stdout).toBe('')
  })
  it('puts the same warnings in every --json result', async () => {
    const {stdout, stderr} = await run(['--json'])
    expect(stderr).toBe('')
    expect(JSON.parse(stdout)).toEqual({ok: true, warnings: ['first', 'second']})
  })
  it('keeps a report\'s own warnings first, without repeating one', async () => {
    const {stdout} = await run(['--json'], {WARNS_OWN: '1'})
    expect(JSON.parse(stdout).warnings).toEqual(['own', 'first', 'second'])
  })
  it('puts them in a JSON error too', async () => {
    const {stdout} = await run(['--json'], {WARNS_FAIL: '1'})
    expect(JSON.parse(stdout)).toEqual({error: {code: 'BROKEN', message: 'it broke', hint: 'fix it'}, warnings: ['first', 'second']})
  })
})
