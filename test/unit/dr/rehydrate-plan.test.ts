// The decisions of `dr rehydrate`'s plan, on in-memory stores: conflicts
// between regions, --from, whole-Secret JSON pushes, the missing record.
import {planRehydrate} from '../../../src/lib/dr/rehydrate.js'
import type {RehydrateMap} from '../../../src/lib/dr/rehydrate-map.js'
import {pushMappingOf} from '../../../src/lib/eso/push-map.js'
import {buildPushSecret} from '../../../src/lib/eso/push-secret.js'
import type {KubeClient, KubeObject, ObservedSecret} from '../../../src/lib/kube/client.js'
import {SecretValue} from '../../../src/lib/secret/secret-value.js'
import {MemoryStore} from '../../helpers/memory-store.js'

const configRegions = [
  {name: 'region1', clusterSecretStore: 'vault-region1'},
  {name: 'region2', clusterSecretStore: 'vault-region2'},
] as never

/** The Kubernetes side the plan reads: namespaces and Secrets that exist (a stand-in for the API server's answers). */
function cluster(secrets: Record<string, Record<string, string>> = {}): KubeClient {
  return {
    server: 'https://kube.test',
    namespaceExists: async (name: string) => name !== 'absent',
    getSecret: async (namespace: string, name: string): Promise<ObservedSecret | undefined> => {
      const data = secrets[`${namespace}/${name}`]
      return data ? {namespace, name, type: 'Opaque', labels: {}, annotations: {}, data: new Map(Object.entries(data).map(([k, v]) => [k, SecretValue.fromString(v)]))} : undefined
    },
    read: async () => undefined,
  } as unknown as KubeClient
}

function mapOf(...objects: KubeObject[]): RehydrateMap {
  return {mappings: objects.map((object) => pushMappingOf(object, 'test')), generated: [], skipped: [], origin: 'test'}
}

const recorded = (name: string, keys: string[], namespace = 'apps') =>
  buildPushSecret({namespace, name, keys}, configRegions, {remoteKeyTemplate: '{namespace}/{name}', deletionPolicy: 'None', refreshInterval: '1h', labels: {}, record: {type: 'kubernetes.io/basic-auth', labels: {app: name}, annotations: {}}}) as unknown as KubeObject

describe('dr rehydrate plan', () => {
  test('regions that disagree are a conflict naming key and regions; --from takes one region and notes the other', async () => {
    const r1 = new MemoryStore('region1').put('apps/db', {username: 'u', password: 'one'})
    const r2 = new MemoryStore('region2').put('apps/db', {username: 'u', password: 'two'})
    const regions = [
      {name: 'region1', clusterSecretStore: 'vault-region1', store: r1},
      {name: 'region2', clusterSecretStore: 'vault-region2', store: r2},
    ]
    const map = mapOf(recorded('db', ['username', 'password']))
    const both = await planRehydrate({kube: cluster(), regions}, map, {overwrite: false})
    expect(both.plan.conflicts).toBe(1)
    expect(both.plan.items[0]).toMatchObject({action: 'conflict', conflicts: [{key: 'password', regions: ['region1', 'region2']}]})
    expect(JSON.stringify(both.plan)).not.toMatch(/"one"|"two"/)

    const from = await planRehydrate({kube: cluster(), regions}, map, {from: 'region1', overwrite: false})
    expect(from.plan.items[0]).toMatchObject({action: 'create', from: ['region1'], type: 'kubernetes.io/basic-auth', recorded: true, regionNotes: [{key: 'password', region: 'region2', state: 'differs'}]})
    expect(from.resolved[0].values.get('password')?.revealString()).toBe('one')
  })

  test('a key in one region only is taken from it and noted missing in the other; an equal Secret is unchanged, another differs', async () => {
    const r1 = new MemoryStore('region1').put('apps/db', {username: 'u', password: 'p'})
    const r2 = new MemoryStore('region2')
    const regions = [
      {name: 'region1', clusterSecretStore: 'vault-region1', store: r1},
      {name: 'region2', clusterSecretStore: 'vault-region2', store: r2},
    ]
    const map = mapOf(recorded('db', ['username', 'password']))
    const planned = await planRehydrate({kube: cluster({'apps/db': {username: 'u', password: 'p'}}), regions}, map, {overwrite: false})
    expect(planned.plan.items[0]).toMatchObject({action: 'unchanged', from: ['region1']})
    expect(planned.plan.items[0].regionNotes).toEqual([
      {key: 'password', region: 'region2', state: 'missing'},
      {key: 'username', region: 'region2', state: 'missing'},
    ])
    const differs = await planRehydrate({kube: cluster({'apps/db': {username: 'u', password: 'other'}}), regions}, map, {overwrite: false})
    expect(differs.plan.items[0].action).toBe('differs')
    expect((await planRehydrate({kube: cluster({'apps/db': {username: 'u', password: 'other'}}), regions}, map, {overwrite: true})).plan.items[0].action).toBe('overwrite')
  })

  test('a whole Secret pushed as JSON into one property is read back key by key; no record means Opaque, said in the notes', async () => {
    const r1 = new MemoryStore('region1').put('apps/whole', {blob: JSON.stringify({a: '1', b: '2'})})
    const object = {
      apiVersion: 'external-secrets.io/v1alpha1',
      kind: 'PushSecret',
      metadata: {name: 'whole', namespace: 'apps'},
      spec: {secretStoreRefs: [{name: 'vault-region1', kind: 'ClusterSecretStore'}], selector: {secret: {name: 'whole'}}, data: [{match: {remoteRef: {remoteKey: 'apps/whole', property: 'blob'}}}]},
    } as unknown as KubeObject
    const planned = await planRehydrate({kube: cluster(), regions: [{name: 'region1', clusterSecretStore: 'vault-region1', store: r1}]}, mapOf(object), {overwrite: false})
    expect(planned.plan.items[0]).toMatchObject({action: 'create', keys: ['a', 'b'], type: 'Opaque', recorded: false})
    expect(planned.plan.items[0].notes.join(' ')).toMatch(/restored as type Opaque/)
    expect(planned.resolved[0].values.get('b')?.revealString()).toBe('2')
  })

  test('a key in no region makes the Secret incomplete (nothing written for it)', async () => {
    const r1 = new MemoryStore('region1').put('absent/db', {username: 'u'})
    const planned = await planRehydrate({kube: cluster(), regions: [{name: 'region1', clusterSecretStore: 'vault-region1', store: r1}]}, mapOf(recorded('db', ['username', 'password'], 'absent')), {overwrite: false})
    expect(planned.plan.items[0].action).toBe('incomplete')
    expect(planned.plan.items[0].notes.join(' ')).toMatch(/key password is in no region/)
  })
})
