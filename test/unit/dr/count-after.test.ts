import {nothingWrittenSinceFirstCount} from '../../../src/lib/dr/save.js'

describe('nothingWrittenSinceFirstCount: when dr snapshot may skip its second key walk', () => {
  test('the snapshot at the index the active node had applied before the first walk: nothing was written', () => {
    expect(nothingWrittenSinceFirstCount(1234, 1234)).toBe(true)
  })

  test('any other index, or one not known, means walking again', () => {
    expect(nothingWrittenSinceFirstCount(1234, 1235)).toBe(false)
    // Lower: the first index was not the leader's, or another node snapshotted.
    expect(nothingWrittenSinceFirstCount(1234, 1200)).toBe(false)
    // Not read from the active node itself (a standby, a load balancer): undefined.
    expect(nothingWrittenSinceFirstCount(undefined, 1234)).toBe(false)
    expect(nothingWrittenSinceFirstCount(1234, undefined)).toBe(false)
    expect(nothingWrittenSinceFirstCount(0, 0)).toBe(false)
  })
})
