// `migrate verify --wait` polls while ESO can still change the answer, and no longer.
import {verifyUntil, type CheckRow, type VerifyReport} from '../../../src/lib/migrate/verify.js'

function report(rows: Partial<CheckRow>[]): VerifyReport {
  const full = rows.map((row) => ({secret: 'a/b', where: 'kubernetes', keys: [], status: 'in-sync', ...row}) as CheckRow)
  return {secrets: 1, rows: full, counts: {}, inSync: full.every((row) => row.status === 'in-sync'), completeness: {basis: ['run-records'], proven: true, runRecords: [], missing: []}, verifiedSources: []}
}

test('a Secret that was never created ends the wait at once: waiting cannot create it', async () => {
  let calls = 0
  const started = Date.now()
  const last = await verifyUntil(async () => (calls++, report([{status: 'secret-missing'}])), 60_000, 10)
  expect(calls).toBe(1)
  expect(last.inSync).toBe(false)
  expect(Date.now() - started).toBeLessThan(5_000)
})

test('a push still on its way is polled until it lands', async () => {
  let calls = 0
  const last = await verifyUntil(async () => (++calls < 3 ? report([{status: 'secret-missing'}, {status: 'missing-in-vault', where: 'region region1'}]) : report([{status: 'in-sync'}])), 60_000, 10)
  expect(calls).toBe(3)
  expect(last.inSync).toBe(true)
})
