// dr's key counts and content evidence read a region through the SecretStore
// interface only: these run them against the in-memory store.
import {compareEvidence, evidenceConfirms, evidenceForManifest, metadataDigest, surveyMounts, versionDigest} from '../../../src/lib/dr/content-evidence.js'
import {compareKeyCounts, keyCountsOf} from '../../../src/lib/dr/key-counts.js'
import {SecretValue} from '../../../src/lib/secret/secret-value.js'
import {StoreError} from '../../../src/lib/vault/secret-store.js'
import {MemoryStore} from '../../helpers/memory-store.js'

/** A region of these stores; `listable: false` plays a token that may not list the mounts. */
function region(stores: Record<string, MemoryStore>, listable = true) {
  return {admin: {kvV2Mounts: async () => (listable ? Object.keys(stores) : undefined)}, storeFor: (mount: string) => stores[mount]}
}

function seeded(): Record<string, MemoryStore> {
  const secret = new MemoryStore('secret').put('app/db', {password: 'pw-1'}).put('app/api', {token: 't-1'}).put('team/x', {k: 'v'})
  const kv = new MemoryStore('kv').put('only', {k: 'v'})
  return {kv, secret}
}

describe('dr survey over a SecretStore', () => {
  it('counts the keys of every mount, and compares counts', async () => {
    const survey = await surveyMounts(region(seeded()), 'secret', {evidence: false, concurrency: 4})
    const counts = keyCountsOf(survey)
    expect(counts).toEqual({mounts: {kv: 1, secret: 3}, notes: []})
    expect(survey.mounts.secret.versions).toBeUndefined()
    expect(compareKeyCounts({kv: 1, secret: 3}, counts.mounts)).toEqual([])
    expect(compareKeyCounts({kv: 1, secret: 4, gone: 2}, counts.mounts)).toEqual([
      {mount: 'secret', expected: 4, actual: 3},
      {mount: 'gone', expected: 2, actual: undefined},
    ])
  })

  it('surveys the configured mount, with a note, when the mounts cannot be listed', async () => {
    const survey = await surveyMounts(region(seeded(), false), 'secret', {evidence: false, concurrency: 4})
    expect(Object.keys(survey.mounts)).toEqual(['secret'])
    expect(survey.notes).toEqual(['the token may not read sys/mounts: surveyed the configured mount secret only'])
  })

  it('names a mount the store refuses to list instead of failing', async () => {
    const stores = seeded()
    stores.kv.failWith = (method) => (method === 'list' ? new StoreError('Denied', 'PERMISSION_DENIED', 'kv: permission denied') : undefined)
    const survey = await surveyMounts(region(stores), 'secret', {evidence: true, concurrency: 4})
    expect(Object.keys(survey.mounts)).toEqual(['secret'])
    expect(survey.notes).toEqual(['mount kv: the token may not list it'])
  })

  it('records evidence that a later write, delete or soft delete is seen, and an untouched store is confirmed', async () => {
    const stores = seeded()
    const before = await surveyMounts(region(stores), 'secret', {evidence: true, concurrency: 4})
    const evidence = evidenceForManifest(before, before)!
    expect(evidence.stable).toBe(true)
    expect(evidenceConfirms(compareEvidence(evidence, await surveyMounts(region(stores), 'secret', {evidence: true, concurrency: 4})))).toBe(true)

    await stores.secret.write('app/db', new Map([['password', SecretValue.fromString('pw-2')]]))
    await stores.secret.delete('team/x')
    stores.kv.softDeleteCurrent('only')
    const after = compareEvidence(evidence, await surveyMounts(region(stores), 'secret', {evidence: true, concurrency: 4}))
    expect(after.changed).toEqual(['kv/only', 'secret/app/db'])
    expect(after.missing).toBe(1)
    expect(after.matched).toBe(1)
    expect(evidenceConfirms(after)).toBe(false)
  })

  it('digests a store\'s metadata as it digests Vault\'s raw answer', async () => {
    const store = new MemoryStore('secret').put('k', {a: '1'})
    const metadata = (await store.readMetadata('k'))!
    const current = metadata.versions![metadata.currentVersion]
    expect(metadataDigest('secret', 'k', metadata)).toBe(
      versionDigest('secret', 'k', {current_version: 1, updated_time: metadata.updatedTime, versions: {'1': {created_time: current.createdTime, deletion_time: '', destroyed: false}}}),
    )
  })
})
