import {mkdtempSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {renderNextSteps, renderPlan, renderScanReport} from '../../../src/lib/git/render.js'
import {scanRepository} from '../../../src/lib/git/scan.js'
import {newScrubContext, nextSteps, runScrubStages, stagePreflight} from '../../../src/lib/git/scrub.js'
import {ALL_SCRUB_STAGES} from './hardening-fixtures.js'
import {buildPatternSet, type KnownValue} from '../../../src/lib/git/value-patterns.js'
import {SecretValue} from '../../../src/lib/secret/secret-value.js'
import {sopsDetector} from '../../../src/lib/git/sops-adapter.js'
import {fixture, freshClone, importRepo, SOPS} from './fixture-repo.js'

// A value that must never appear in anything the tool prints, returns, names or leaves behind.
const CANARY = 'canary-9f3b7c1e-never-print-me'
const forms = [CANARY, Buffer.from(CANARY).toString('base64').replace(/=+$/, ''), encodeURIComponent(CANARY)]

function assertNoCanary(text: string, where: string): void {
  for (const form of forms) {
    if (text.includes(form)) throw new Error(`the canary value (or an encoding of it) appeared in ${where}`)
  }
}

describe('canary: a planted value never appears in any output of scan or scrub', () => {
  let work: string
  let source: string
  const values = (): KnownValue[] => [{source: 'test', secret: 'app/db', key: 'password', value: SecretValue.fromString(CANARY)}]

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'canary-'))
    source = join(work, 'source')
    importRepo(
      source,
      [
        {mark: 1, ref: 'refs/heads/main', message: 'init', changes: [{path: 'secret.enc.yaml', content: fixture(SOPS.fluxSecret)}]},
        {mark: 2, ref: 'refs/heads/main', message: `oops ${CANARY}\n`, parents: [1], changes: [{path: 'app/.env', content: `DB_PASSWORD=${CANARY}\nB64=${Buffer.from(CANARY).toString('base64')}\n`}]},
      ],
      [{name: 'v1', mark: 2, message: `release with ${CANARY}\n`}],
    )
  })

  afterAll(() => rmSync(work, {recursive: true, force: true}))

  test('scan: report, JSON and human rendering', async () => {
    const {report} = await scanRepository(source, {detector: sopsDetector(), patterns: buildPatternSet(values())})
    expect(report.valueFindings.length).toBe(3)
    assertNoCanary(JSON.stringify(report), 'the scan JSON')
    assertNoCanary(renderScanReport(report), 'the scan report')
  })

  test.each(['builtin', 'filter-repo'] as const)('scrub (%s): plan, stages, backup name, next steps, rescan; no temp files left', async (engine) => {
    const clone = freshClone(source, join(work, `clone-${engine}`))
    const before = new Set(readdirSync(tmpdir()).filter((name) => name.startsWith('secrets-scrub-')))
    const ctx = newScrubContext({repo: clone, detector: sopsDetector(), patterns: buildPatternSet(values()), replaceValues: true, engine, force: false})
    const stageLog: string[] = []
    await runScrubStages(
      ctx,
      ALL_SCRUB_STAGES,
      (name, state) => stageLog.push(`${name} ${state}`),
    )
    expect(ctx.after?.clean).toBe(true)
    assertNoCanary(stageLog.join('\n'), 'stage output')
    assertNoCanary(renderPlan(ctx.plan!), 'the plan')
    assertNoCanary(renderNextSteps(nextSteps(ctx)), 'the next steps')
    assertNoCanary(JSON.stringify({plan: ctx.plan, preflight: ctx.preflight, after: ctx.after, next: nextSteps(ctx), engine: ctx.rewrite?.engine}), 'the scrub JSON')
    assertNoCanary(ctx.backupPath!, 'the backup path')
    const after = new Set(readdirSync(tmpdir()).filter((name) => name.startsWith('secrets-scrub-')))
    expect([...after].filter((name) => !before.has(name))).toEqual([])
  })

  test('errors name objects and refs, not values', async () => {
    const ctx = newScrubContext({repo: source, detector: sopsDetector(), patterns: buildPatternSet(values()), replaceValues: true, engine: 'builtin', force: false})
    const error = await stagePreflight(ctx).then(
      () => undefined,
      (e: Error) => e,
    )
    expect(error).toBeDefined()
    assertNoCanary(`${error!.message} ${(error as {hint?: string}).hint ?? ''}`, 'an error message')
  })
})
