import {CHECK_CLUSTER, CHECK_CONTENT, CHECK_HEALTHY, CHECK_KEY_COUNTS, CHECK_RAFT_INDEX, restoreSucceeded, type PostRestoreCheck, type RestoreContext} from '../../../src/lib/dr/restore.js'

const verdict = (checks: [string, PostRestoreCheck['status']][], state: 'healthy' | 'sealed' = 'healthy') =>
  restoreSucceeded({after: {state, waitedMs: 1}, checks: checks.map(([name, status]) => ({name, status, detail: ''}))} as unknown as RestoreContext)

describe('when a restore counts as confirmed', () => {
  test('healthy with equal key counts and the same cluster id is not enough: the data must be shown to be the snapshot\'s', () => {
    expect(verdict([[CHECK_HEALTHY, 'passed'], [CHECK_CLUSTER, 'passed'], [CHECK_RAFT_INDEX, 'passed'], [CHECK_KEY_COUNTS, 'passed'], [CHECK_CONTENT, 'not-run']])).toBe(false)
    expect(verdict([[CHECK_HEALTHY, 'passed'], [CHECK_KEY_COUNTS, 'passed'], [CHECK_CONTENT, 'passed']])).toBe(true)
  })

  test('any failed check, or a server that is not healthy, is not confirmed', () => {
    expect(verdict([[CHECK_HEALTHY, 'passed'], [CHECK_RAFT_INDEX, 'failed'], [CHECK_KEY_COUNTS, 'passed'], [CHECK_CONTENT, 'passed']])).toBe(false)
    expect(verdict([[CHECK_HEALTHY, 'passed'], [CHECK_KEY_COUNTS, 'passed'], [CHECK_CONTENT, 'failed']])).toBe(false)
    expect(verdict([[CHECK_HEALTHY, 'passed'], [CHECK_CONTENT, 'passed']], 'sealed')).toBe(false)
  })

  test('without key versions in the manifest, a passing key-by-key comparison with another region confirms', () => {
    expect(verdict([[CHECK_HEALTHY, 'passed'], [CHECK_KEY_COUNTS, 'passed'], [CHECK_CONTENT, 'not-run'], ['key-by-key comparison with region2', 'passed']])).toBe(true)
    expect(verdict([[CHECK_HEALTHY, 'passed'], [CHECK_CONTENT, 'not-run'], ['key-by-key comparison with region2', 'failed']])).toBe(false)
  })
})
