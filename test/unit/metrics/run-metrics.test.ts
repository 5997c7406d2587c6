import {mkdtempSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import parsePrometheusTextFormat from 'parse-prometheus-text-format'

import {recordDrift, recordMigrateVerify} from '../../../src/lib/metrics/families.js'
import {RunMetrics, resultOf} from '../../../src/lib/metrics/run-metrics.js'

type Family = {name: string; type: string; metrics: {value: string; labels?: Record<string, string>}[]}
const parse = (text: string) => parsePrometheusTextFormat(text) as Family[]
const series = (families: Family[], name: string) => families.find((family) => family.name === name)?.metrics ?? []

describe('RunMetrics', () => {
  test('gauges under secrets_toolkit_, booleans as 1/0, the run\'s own families, OpenMetrics text ending in # EOF', async () => {
    const metrics = new RunMetrics('status')
    metrics.set('vault_sealed', {region: 'region1'}, true)
    metrics.set('vault_sealed', {region: 'region2'}, false)
    metrics.finish(1, 1_700_000_000_000)
    const text = await metrics.openMetrics()
    expect(text.trimEnd().endsWith('# EOF')).toBe(true)
    const families = parse(text)
    expect(families.every((family) => family.name.startsWith('secrets_toolkit_') && family.type === 'GAUGE')).toBe(true)
    expect(series(families, 'secrets_toolkit_vault_sealed')).toEqual([
      {value: '1', labels: {region: 'region1'}},
      {value: '0', labels: {region: 'region2'}},
    ])
    expect(series(families, 'secrets_toolkit_last_run_timestamp_seconds')).toEqual([{value: '1700000000', labels: {command: 'status', result: 'findings'}}])
    expect(series(families, 'secrets_toolkit_last_run_exit_code')).toEqual([{value: '1', labels: {command: 'status'}}])
  })

  test('a secret\'s name is written only with withNames', async () => {
    const without = new RunMetrics('status')
    without.set('pushsecret_not_ready', {namespace: 'payments', name: 'db', store: 'vault-region1'}, 1)
    expect(await without.openMetrics()).not.toContain('payments')
    const named = new RunMetrics('status', {withNames: true})
    named.set('pushsecret_not_ready', {namespace: 'payments', name: 'db', store: 'vault-region1'}, 1)
    expect(series(parse(await named.openMetrics()), 'secrets_toolkit_pushsecret_not_ready')).toEqual([{value: '1', labels: {namespace: 'payments', name: 'db', store: 'vault-region1'}}])
  })

  test('writeFile replaces the file atomically and leaves no temporary file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'metrics-'))
    const file = join(dir, 'sub', 'status.prom')
    const first = new RunMetrics('status')
    first.set('vault_up', {region: 'a'}, 1)
    await first.writeFile(file)
    const second = new RunMetrics('status')
    second.set('vault_up', {region: 'a'}, 0)
    await second.writeFile(file)
    expect(series(parse(readFileSync(file, 'utf8')), 'secrets_toolkit_vault_up')).toEqual([{value: '0', labels: {region: 'a'}}])
    expect(readdirSync(join(dir, 'sub'))).toEqual(['status.prom'])
  })

  test('an unwritable path is a clear error naming the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'metrics-'))
    writeFileSync(join(dir, 'a-file'), '')
    const metrics = new RunMetrics('status')
    const target = join(dir, 'a-file', 'status.prom')
    const error = await metrics.writeFile(target).catch((caught: unknown) => caught)
    expect(error).toMatchObject({code: 'METRICS_WRITE_FAILED'})
    // Node 20 says EEXIST for a path through a file, later releases ENOTDIR: the reason is the system's.
    expect((error as Error).message).toMatch(new RegExp(`^cannot write the metrics file ${target} \\((EEXIST|ENOTDIR)\\)$`))
  })

  test('resultOf follows the exit-code contract', () => {
    expect([0, 1, 2].map(resultOf)).toEqual(['ok', 'findings', 'error'])
  })
})

describe('report families', () => {
  test('drift: one-sided classes per region, symmetric classes per pair, in-sync from the counts', async () => {
    const metrics = new RunMetrics('verify regions')
    recordDrift(metrics, {regions: ['region1', 'region2'], counts: {'only-in-region1': 2, 'value-differs': 1}, keysCompared: 10, keysWithDrift: 3})
    const drift = series(parse(await metrics.openMetrics()), 'secrets_toolkit_drift_keys')
    expect(drift).toEqual(
      expect.arrayContaining([
        {value: '7', labels: {class: 'in-sync', region: 'region1,region2'}},
        {value: '2', labels: {class: 'only-in', region: 'region1'}},
        {value: '0', labels: {class: 'only-in', region: 'region2'}},
        {value: '1', labels: {class: 'value-differs', region: 'region1,region2'}},
        {value: '0', labels: {class: 'metadata-differs', region: 'region1,region2'}},
      ]),
    )
  })

  test('migrate verify: counts always, the Secret\'s name only with names', async () => {
    const report = {counts: {'in-sync': 3, missing: 1}, inSync: false, completeness: {proven: true, missing: []}, rows: [{secret: 'apps/db', where: 'region1', status: 'missing'}]}
    const metrics = new RunMetrics('migrate verify')
    recordMigrateVerify(metrics, report)
    const text = await metrics.openMetrics()
    expect(text).not.toContain('apps/db')
    expect(series(parse(text), 'secrets_toolkit_migrate_complete')).toEqual([{value: '0'}])
    const named = new RunMetrics('migrate verify', {withNames: true})
    recordMigrateVerify(named, report)
    expect(series(parse(await named.openMetrics()), 'secrets_toolkit_migrate_problem')).toEqual([{value: '1', labels: {secret: 'apps/db', where: 'region1', status: 'missing'}}])
  })
})
