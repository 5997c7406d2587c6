// `dr list` and `dr verify` through the built CLI on hostile directory
// entries: no server is needed, only files.
import {execFileSync} from 'node:child_process'
import {constants, writeFileSync} from 'node:fs'
import {open} from 'node:fs/promises'
import {join} from 'node:path'

import {archiveOf, validMembers} from '../../unit/dr/synthetic-snapshot.js'
import {cli, requireBuiltCli, workDir, writeConfig} from './fixture.js'

const ESC = '\u001b'
const fifos: string[] = []

afterAll(async () => {
  // Had a command blocked on a FIFO, opening the other end would release it.
  for (const fifo of fifos) {
    await open(fifo, constants.O_WRONLY | constants.O_NONBLOCK)
      .then((handle) => handle.close())
      .catch(() => undefined)
  }
})

describe('dr list / dr verify on special files and hostile names (built CLI)', () => {
  let dir: string
  let config: string

  beforeAll(async () => {
    requireBuiltCli()
    dir = workDir('special')
    ;({config} = writeConfig(dir, [{name: 'unused', address: 'http://127.0.0.1:9', token: 'unused'}]))
    const snapshots = join(dir, 'snapshots')
    execFileSync('mkdir', ['-p', snapshots])
    writeFileSync(join(snapshots, '20250131T021500.000Z-region1.snap'), await archiveOf(validMembers({stateSize: 10_000})))
    writeFileSync(join(snapshots, `20250131T021600.000Z-region1${ESC}[2J${ESC}[31m.snap`), await archiveOf([...validMembers({stateSize: 10_000}), {name: `${ESC}]0;owned\u0007`, content: Buffer.from('x')}]))
    for (const name of ['evil.json', '20250131T021700.000Z-region1.snap']) {
      fifos.push(join(snapshots, name))
      execFileSync('mkfifo', [join(snapshots, name)])
    }
  })

  test('dr list: FIFOs are named as strays and skipped; names with escapes are shown escaped; it does not hang', async () => {
    const snapshots = join(dir, 'snapshots')
    const result = await cli(['dr', 'list', snapshots], {}, config)
    // One snapshot fails (an unexpected member): exit 1, within the default runCli time.
    expect(result.code).toBe(1)
    expect(result.stdout).toMatch(/stray: .*evil\.json: a FIFO \(named pipe\), not a regular file/)
    expect(result.stdout).toMatch(/stray: .*20250131T021700\.000Z-region1\.snap: a FIFO/)
    expect(`${result.stdout}${result.stderr}`).not.toContain(ESC)
    expect(`${result.stdout}${result.stderr}`).not.toContain('\u0007')
    expect(result.stdout).toContain('\\x1b[2J')
  }, 60_000)

  test('dr verify naming a FIFO or a device: exit 2, named, without hanging', async () => {
    for (const path of [join(dir, 'snapshots', '20250131T021700.000Z-region1.snap'), join(dir, 'snapshots', 'evil.json'), '/dev/zero']) {
      const result = await cli(['dr', 'verify', path, '--json'], {}, config)
      expect([path, result.code, result.json?.error?.code]).toEqual([path, 2, 'NOT_A_REGULAR_FILE'])
    }
  }, 60_000)
})
