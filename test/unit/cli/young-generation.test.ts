import {execFileSync} from 'node:child_process'

import {YOUNG_GENERATION_FLAG} from '../../../src/lib/cli/young-generation.js'

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

describe('keepYoungGenerationSmall', () => {
  it('stops V8 from growing the young generation under a fast allocation rate, on this Node', () => {
    const grown = youngGenerationMbAfterChurn()
    const kept = youngGenerationMbAfterChurn(YOUNG_GENERATION_FLAG)
    expect(grown).toBeGreaterThanOrEqual(16)
    expect(kept).toBeLessThanOrEqual(4)
  })
})
