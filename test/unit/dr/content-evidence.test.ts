import {ABSENT, compareEvidence, evidenceConfirms, evidenceForManifest, keyId, versionDigest, type Survey} from '../../../src/lib/dr/content-evidence.js'
import {manifestSchema, summarizeManifest, type SnapshotManifest} from '../../../src/lib/dr/manifest.js'

const meta = (version: number, created: string, extra: {deletion_time?: string; destroyed?: boolean; updated_time?: string} = {}) => ({
  current_version: version,
  updated_time: extra.updated_time ?? created,
  versions: {[String(version)]: {created_time: created, deletion_time: extra.deletion_time ?? '', destroyed: extra.destroyed ?? false}},
})

function survey(mount: string, keys: Record<string, ReturnType<typeof meta>>): Survey {
  const versions = new Map(Object.entries(keys).map(([key, raw]) => [keyId(mount, key), {key, digest: versionDigest(mount, key, raw)}]))
  return {mounts: {[mount]: {count: versions.size, versions}}, notes: []}
}

const T1 = '2025-01-31T02:15:00.123456789Z'
const T2 = '2025-01-31T03:00:00.987654321Z'

describe('content evidence', () => {
  test('the digest changes with every state of the current version, never with anything else', () => {
    const base = versionDigest('secret', 'app/db', meta(3, T1))
    expect(versionDigest('secret', 'app/db', meta(3, T1))).toBe(base)
    for (const changed of [meta(4, T1), meta(3, T2), meta(3, T1, {deletion_time: T2}), meta(3, T1, {destroyed: true}), meta(3, T1, {updated_time: T2})]) {
      expect(versionDigest('secret', 'app/db', changed)).not.toBe(base)
    }
    expect(versionDigest('secret', 'app/other', meta(3, T1))).not.toBe(base)
    expect(versionDigest('kv', 'app/db', meta(3, T1))).not.toBe(base)
    expect(base).toMatch(/^[0-9a-f]{32}$/)
  })

  test('an unchanged state confirms; a changed value (same count), a missing and an extra key do not', () => {
    const snapshot = survey('secret', {'app/db': meta(1, T1), 'app/api': meta(2, T1)})
    const evidence = evidenceForManifest(snapshot, snapshot)!
    expect(evidence.stable).toBe(true)
    expect(manifestSchema.shape.contentEvidence.safeParse(evidence).success).toBe(true)
    expect(evidenceConfirms(compareEvidence(evidence, snapshot))).toBe(true)

    const sameCountNewValue = compareEvidence(evidence, survey('secret', {'app/db': meta(2, T2), 'app/api': meta(2, T1)}))
    expect(sameCountNewValue).toMatchObject({recorded: 2, matched: 1, changed: ['secret/app/db'], missing: 0, extra: []})
    expect(evidenceConfirms(sameCountNewValue)).toBe(false)

    const swapped = compareEvidence(evidence, survey('secret', {'app/db': meta(1, T1), 'app/new': meta(1, T2)}))
    expect(swapped).toMatchObject({matched: 1, missing: 1, extra: ['secret/app/new']})
    expect(evidenceConfirms(swapped)).toBe(false)

    const mountGone = compareEvidence(evidence, {mounts: {}, notes: ['mount secret: the token may not list it']})
    expect(mountGone.unreadable).toEqual(['secret'])
    expect(evidenceConfirms(mountGone)).toBe(false)
  })

  test('keys written during the snapshot accept either state; a failed second walk marks the evidence unstable', () => {
    const before = survey('secret', {'app/db': meta(1, T1), 'app/gone': meta(1, T1)})
    const after = survey('secret', {'app/db': meta(2, T2), 'app/new': meta(1, T2)})
    const evidence = evidenceForManifest(before, after)!
    const recorded = evidence.mounts.secret
    expect(recorded[keyId('secret', 'app/db')]).toHaveLength(2)
    expect(recorded[keyId('secret', 'app/gone')]).toContain(ABSENT)
    expect(recorded[keyId('secret', 'app/new')]).toContain(ABSENT)
    expect(evidenceConfirms(compareEvidence(evidence, before))).toBe(true)
    expect(evidenceConfirms(compareEvidence(evidence, after))).toBe(true)

    const unstable = evidenceForManifest(before, {mounts: {}, notes: ['counting again after the download failed']})!
    expect(unstable.stable).toBe(false)
  })

  test('the manifest holds no key name and nothing of a value', () => {
    const evidence = evidenceForManifest(survey('secret', {'apps/payments/db': meta(1, T1)}), undefined)!
    const text = JSON.stringify(evidence)
    expect(text).not.toContain('payments')
    expect(text).not.toContain(T1)
  })

  test('no evidence gathered: none recorded', () => {
    expect(evidenceForManifest({mounts: {secret: {count: 3}}, notes: []}, {mounts: {secret: {count: 3}}, notes: []})).toBeUndefined()
  })

  test('reports sum the evidence up as keys per mount', () => {
    const evidence = evidenceForManifest(survey('secret', {a: meta(1, T1), b: meta(1, T1)}), undefined)!
    const summary = summarizeManifest({contentEvidence: evidence} as unknown as SnapshotManifest)
    expect(summary.contentEvidence).toEqual({method: evidence.method, stable: false, keys: {secret: 2}, notes: evidence.notes})
  })
})
