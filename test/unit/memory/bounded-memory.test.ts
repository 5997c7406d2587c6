import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {pathToFileURL} from 'node:url'

import ts from 'typescript'

import {SYNCHRONOUS_BUFFER_SWEEP_FLAG, YOUNG_GENERATION_FLAG} from '../../../src/lib/memory/bounded-memory.js'

// V8 reads the growth factor each time it grows the young generation; if a
// Node release stopped honouring it at run time, `dr snapshot` would quietly
// go back to 16 MB semi-spaces. Each case runs in a fresh Node (this one's
// heap has already grown under jest), allocating as a key walk does.
function youngGenerationMbAfterChurn(flag?: string): number {
  const script = `
    const v8 = require('node:v8')
    ${flag ? `v8.setFlagsFromString(${JSON.stringify(flag)})` : ''}
    // Responses in flight stay alive across scavenges, which is what makes V8 grow the space.
    const inFlight = new Array(500)
    for (let i = 0; i < 50000; i++) {
      inFlight[i % 500] = JSON.parse(JSON.stringify({data: {versions: {1: {created_time: new Date().toISOString(), destroyed: false}}, padding: 'x'.repeat(2000 + (i % 7))}}))
    }
    const space = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')
    process.stdout.write(String(space.space_size / 1048576))
  `
  return Number(execFileSync(process.execPath, ['-e', script], {encoding: 'utf8'}))
}

/**
 * Streams 400 MB through fresh 64 KiB buffers, one per event-loop turn, as a
 * download does, in a fresh Node running this very module (transpiled: it
 * imports only Node's own modules), and returns how far the memory held by
 * buffers rose above where it started (MB). In jest's own process other
 * tests' garbage decides when V8 collects.
 */
function bufferMemoryRiseMb(bound: boolean): number {
  const script = `
    const {boundMemory, noteStreamedBytes} = await import(${JSON.stringify(pathToFileURL(module).href)})
    if (${bound}) boundMemory()
    const start = process.memoryUsage().arrayBuffers
    let highest = start
    for (let i = 0; i < 6400; i++) {
      const block = Buffer.allocUnsafe(64 * 1024)
      block[0] = i
      noteStreamedBytes(block.length)
      await new Promise((resolve) => setImmediate(resolve))
      if (i % 16 === 0) highest = Math.max(highest, process.memoryUsage().arrayBuffers)
    }
    process.stdout.write(String((highest - start) / 1048576))
  `
  return Number(execFileSync(process.execPath, ['--input-type=module', '-e', script], {encoding: 'utf8'}))
}

let workDir: string
let module: string
beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), 'bounded-memory-'))
  module = join(workDir, 'bounded-memory.mjs')
  const source = readFileSync(resolve('src/lib/memory/bounded-memory.ts'), 'utf8')
  writeFileSync(module, ts.transpileModule(source, {compilerOptions: {module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022}}).outputText)
})
afterAll(() => rmSync(workDir, {recursive: true, force: true}))

describe('boundMemory', () => {
  it('stops V8 from growing the young generation under a fast allocation rate, on this Node', () => {
    const grown = youngGenerationMbAfterChurn()
    const kept = youngGenerationMbAfterChurn(YOUNG_GENERATION_FLAG)
    expect(grown).toBeGreaterThanOrEqual(16)
    expect(kept).toBeLessThanOrEqual(4)
  })

  it('keeps the dead buffers of a stream to a few MB, where V8 alone lets tens of MB pile up, on this Node', () => {
    // Without boundMemory(), noteStreamedBytes does nothing: this is V8 on its own.
    const alone = bufferMemoryRiseMb(false)
    const bounded = bufferMemoryRiseMb(true)
    expect(alone).toBeGreaterThanOrEqual(24)
    expect(bounded).toBeLessThanOrEqual(12)
  })

  it('names flags this Node knows (an unknown one would be ignored without a word)', () => {
    const known = execFileSync(process.execPath, ['--v8-options'], {encoding: 'utf8'})
    for (const flag of [YOUNG_GENERATION_FLAG, SYNCHRONOUS_BUFFER_SWEEP_FLAG]) {
      const name = flag.replace(/^--(no-)?/, '').replace(/=.*$/, '')
      expect(known).toContain(`--${name} `)
    }
  })
})
