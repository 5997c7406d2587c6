import {manifestPathFor, parseSnapshotFileName, snapshotName, timestampForName, timestampFromName} from '../../../src/lib/dr/manifest.js'

describe('snapshot names', () => {
  const at = new Date('2025-01-31T02:15:00.042Z')

  test('start with the UTC time, then the region; safety snapshots are marked', () => {
    expect(snapshotName('region1', at, 'snapshot')).toBe('20250131T021500.042Z-region1')
    expect(snapshotName('eu-west-2', at, 'safety')).toBe('20250131T021500.042Z-eu-west-2.safety')
  })

  test('parse back, plain and encrypted, with dashes in the region', () => {
    expect(parseSnapshotFileName('/x/20250131T021500.042Z-eu-west-2.snap')).toEqual({name: '20250131T021500.042Z-eu-west-2', createdAt: at, region: 'eu-west-2', kind: 'snapshot', encrypted: false})
    expect(parseSnapshotFileName('20250131T021500.042Z-region1.safety.snap.age')).toEqual({name: '20250131T021500.042Z-region1.safety', createdAt: at, region: 'region1', kind: 'safety', encrypted: true})
  })

  test.each(['20250131T021500.042Z-region1.json', '.20250131T021500.042Z-region1.snap.1-ab.partial', 'backup.snap', '20251331T021500.042Z-region1.snap', '20250131T021500.042Z-Region1.snap', '20250131T021500.042Z-.snap'])('%s is not a snapshot file name', (name) => {
    expect(parseSnapshotFileName(name)).toBeUndefined()
  })

  test('timestamps round-trip and sort as text in time order', () => {
    expect(timestampFromName(timestampForName(at))).toEqual(at)
    const times = ['2024-12-31T23:59:59.999Z', '2025-01-01T00:00:00.000Z', '2025-01-01T00:00:00.001Z', '2025-10-02T08:00:00.000Z', '2031-01-01T00:00:00.000Z']
    const names = times.map((t) => snapshotName('region1', new Date(t), 'snapshot'))
    expect([...names].reverse().sort()).toEqual(names)
  })

  test('the manifest sits beside the archive as <name>.json', () => {
    expect(manifestPathFor('/b/20250131T021500.042Z-region1.snap')).toBe('/b/20250131T021500.042Z-region1.json')
    expect(manifestPathFor('/b/20250131T021500.042Z-region1.safety.snap.age')).toBe('/b/20250131T021500.042Z-region1.safety.json')
    expect(manifestPathFor('/b/vault-operator.snapshot')).toBe('/b/vault-operator.json')
  })
})
