// PushSecrets: built typed, parsed back from whatever the cluster returns, and the one push request annotation.
import {PUSH_SECRET_API_VERSION} from '../../../src/lib/eso/api.js'
import {PUSH_REQUESTED_ANNOTATION, withPushRequest} from '../../../src/lib/eso/apply.js'
import {buildPushSecret, pushEntries, pushStores} from '../../../src/lib/eso/push-secret.js'
import {isReady, readyCondition} from '../../../src/lib/eso/status.js'
import type {RegionConfig} from '../../../src/lib/config/schema.js'
import type {KubeObject} from '../../../src/lib/kube/client.js'

const regions = [{name: 'region1', clusterSecretStore: 'vault-region1'}, {name: 'region2', clusterSecretStore: 'vault-region2'}] as RegionConfig[]
const options = {remoteKeyTemplate: '{namespace}/{name}', deletionPolicy: 'None' as const, refreshInterval: '1h', labels: {a: 'b'}}

test('what is built parses back to the same pushes and stores', () => {
  const pushSecret = buildPushSecret({namespace: 'apps', name: 'db', keys: ['user', 'password']}, regions, options)
  expect(pushSecret.apiVersion).toBe(PUSH_SECRET_API_VERSION)
  expect(pushEntries(pushSecret as KubeObject)).toEqual([
    {secretKey: 'password', remoteKey: 'apps/db', property: 'password'},
    {secretKey: 'user', remoteKey: 'apps/db', property: 'user'},
  ])
  expect(pushStores(pushSecret as KubeObject)).toEqual(new Set(['vault-region1', 'vault-region2']))
})

test('parsing tolerates what others wrote: entries without a remote key and namespaced stores are not pushes to a region', () => {
  const object = {spec: {data: [{match: {secretKey: 'a'}}, {match: {secretKey: 'b', remoteRef: {remoteKey: 'x/b'}}}], secretStoreRefs: [{name: 'local'}, {name: 'vault-region1', kind: 'ClusterSecretStore'}]}} as KubeObject
  expect(pushEntries(object)).toEqual([{secretKey: 'b', remoteKey: 'x/b', property: undefined}])
  expect(pushStores(object)).toEqual(new Set(['vault-region1']))
  expect(pushEntries(undefined)).toEqual([])
})

test('a push request adds one timestamp annotation and keeps the others', () => {
  const pushSecret = buildPushSecret({namespace: 'apps', name: 'db', keys: ['k']}, regions, options)
  pushSecret.metadata.annotations = {keep: 'me'}
  const requested = withPushRequest(pushSecret, new Date('2030-01-02T03:04:05Z'))
  expect(requested.metadata.annotations).toEqual({keep: 'me', [PUSH_REQUESTED_ANNOTATION]: '2030-01-02T03:04:05.000Z'})
  expect(requested.spec).toBe(pushSecret.spec)
  expect(pushSecret.metadata.annotations).toEqual({keep: 'me'})
})

test('the Ready condition', () => {
  const object = (status?: string) => ({status: status ? {conditions: [{type: 'Other', status: 'True'}, {type: 'Ready', status, reason: 'Synced'}]} : {}}) as KubeObject
  expect(readyCondition(object('False'))).toEqual({type: 'Ready', status: 'False', reason: 'Synced'})
  expect(isReady(object('True'))).toBe(true)
  expect(isReady(object('False'))).toBe(false)
  expect(readyCondition(object())).toBeUndefined()
  expect(isReady(undefined)).toBe(false)
})
