import {linkSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {setFlagsFromString} from 'node:v8'
import {runInNewContext} from 'node:vm'

import {buildMigrationPlan} from '../../../src/lib/migrate/plan.js'
import {fixture} from '../../unit/sops/fixtures.js'

// `migrate sops --continue-on-error` over many large files
// that carry sops' marks grew without bound (642 MB for 40 × 7.5 MB): every
// file's bytes were kept from discovery to the end. Measured here as what
// stays reachable (after a full garbage collection) while the plan works
// through 20 such files: it must not grow with the number of files.
setFlagsFromString('--expose-gc')
const collectGarbage = runInNewContext('gc') as () => void

const MB = 1024 * 1024

function retainedBytes(): number {
  collectGarbage()
  const usage = process.memoryUsage()
  return usage.heapUsed + usage.external
}

test('memory kept while planning 20 SOPS-marked files of 7.5 MB stays flat, and each fails on its own', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'migrate-memory-'))
  try {
    const real = readFileSync(fixture('humphd__sops-age/tests/data/secret.enc.yaml'), 'utf8')
    // Passes detection, then fails decryption (no key here): a failure under --continue-on-error.
    writeFileSync(join(dir, 'big-00.yaml'), `padding: ${'x'.repeat(7.5 * MB)}\n${real.slice(real.search(/^sops:/m))}`)
    for (let index = 1; index < 20; index++) linkSync(join(dir, 'big-00.yaml'), join(dir, `big-${String(index).padStart(2, '0')}.yaml`))

    const before = retainedBytes()
    const samples: number[] = []
    const plan = await buildMigrationPlan({
      paths: [dir],
      cwd: dir,
      regions: [],
      decrypt: {engine: 'builtin', env: {HOME: dir}},
      mapping: {cwd: dir, namespace: 'apps'},
      push: {remoteKeyTemplate: '{namespace}/{name}', deletionPolicy: 'None', refreshInterval: '1h', labels: {}},
      continueOnError: true,
      concurrency: 16,
      onProgress: () => samples.push(retainedBytes() - before),
    })
    expect(plan.failures).toHaveLength(20)
    expect(samples).toHaveLength(20)
    const peak = Math.max(...samples)
    console.log(`retained while planning 20 × 7.5 MB files: at most ${(peak / MB).toFixed(1)} MB above the start (holding every file would be 150 MB)`)
    // About one file in flight at most; the 150 MB of all files would be far above.
    expect(peak).toBeLessThan(40 * MB)
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
}, 300_000)
