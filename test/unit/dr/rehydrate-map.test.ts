import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {readMapFromDirectory} from '../../../src/lib/dr/rehydrate-map.js'
import {keepsRestoredValue} from '../../../src/lib/eso/generated.js'
import {buildGeneratedExternalSecret} from '../../../src/lib/eso/external-secret.js'
import {generatedTargetOf, pushMappingOf} from '../../../src/lib/eso/push-map.js'
import {buildPushSecret} from '../../../src/lib/eso/push-secret.js'
import type {KubeObject} from '../../../src/lib/kube/client.js'

const regions = [
  {name: 'region1', clusterSecretStore: 'vault-region1'},
  {name: 'region2', clusterSecretStore: 'vault-region2'},
] as never

describe('the PushSecret map dr rehydrate reads', () => {
  test('a PushSecret built by migrate: per-key entries, both stores, the recorded type/labels/annotations', () => {
    const pushSecret = buildPushSecret({namespace: 'apps', name: 'registry', keys: ['.dockerconfigjson']}, regions, {
      remoteKeyTemplate: '{namespace}/{name}/{key}',
      deletionPolicy: 'None',
      refreshInterval: '1h',
      labels: {},
      record: {type: 'kubernetes.io/dockerconfigjson', labels: {app: 'registry'}, annotations: {'kubectl.kubernetes.io/last-applied-configuration': '{"data":"x"}', note: 'kept'}},
    })
    const mapping = pushMappingOf(pushSecret as unknown as KubeObject, 'cluster')
    expect(mapping).toMatchObject({
      namespace: 'apps',
      secret: 'registry',
      stores: ['vault-region1', 'vault-region2'],
      entries: [{kind: 'key', secretKey: '.dockerconfigjson', remoteKey: 'apps/registry/.dockerconfigjson', property: '.dockerconfigjson'}],
      recorded: {type: 'kubernetes.io/dockerconfigjson', labels: {app: 'registry'}, annotations: {note: 'kept'}},
    })
    expect(mapping.unsupported).toBeUndefined()
  })

  test('a whole-Secret push (no secretKey), a template, a SecretStore ref', () => {
    const object = {
      apiVersion: 'external-secrets.io/v1alpha1',
      kind: 'PushSecret',
      metadata: {name: 'whole', namespace: 'ns'},
      spec: {secretStoreRefs: [{name: 'local'}], selector: {secret: {name: 'app'}}, data: [{match: {remoteRef: {remoteKey: 'ns/app'}}}], template: {data: {x: '{{ .y }}'}}},
    } as unknown as KubeObject
    const mapping = pushMappingOf(object, 'file.yaml')
    expect(mapping.entries).toEqual([{kind: 'whole', remoteKey: 'ns/app'}])
    expect(mapping.stores).toEqual(['SecretStore/local'])
    expect(mapping.recorded).toBeUndefined()
    expect(mapping.unsupported).toMatch(/spec.template/)
  })

  test('bootstrap\'s ExternalSecret keeps a restored value; an Owner one does not', () => {
    const es = buildGeneratedExternalSecret({name: 'db', namespace: 'ns', labels: {}}, 'Opaque', [{key: 'password', generator: 'db-password'}])
    const target = generatedTargetOf(es as unknown as KubeObject)!
    expect(target).toMatchObject({secret: 'db', creationPolicy: 'Orphan', refreshPolicy: 'CreatedOnce', synced: false})
    expect(keepsRestoredValue(target)).toBe(true)
    expect(keepsRestoredValue({...target, creationPolicy: 'Owner'})).toBe(false)
    expect(keepsRestoredValue({...target, refreshPolicy: undefined, refreshInterval: '1h'})).toBe(false)
  })

  test('a GitOps directory: multi-document files, kustomize namespace, unparsable files named by line, never quoted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rehydrate-map-'))
    mkdirSync(join(dir, 'apps'))
    writeFileSync(join(dir, 'apps/kustomization.yaml'), 'namespace: payments\nresources: [push.yaml]\n')
    writeFileSync(
      join(dir, 'apps/push.yaml'),
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\napiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {name: db}\nspec:\n  secretStoreRefs: [{name: vault-region1, kind: ClusterSecretStore}]\n  selector: {secret: {name: db}}\n  data: [{match: {secretKey: password, remoteRef: {remoteKey: payments/db, property: password}}}]\n`,
    )
    writeFileSync(join(dir, 'broken.yaml'), 'kind: PushSecret\nspec: {a: [secret-text-here\n')
    const map = await readMapFromDirectory(dir)
    expect(map.mappings).toHaveLength(1)
    expect(map.mappings[0]).toMatchObject({namespace: 'payments', secret: 'db', origin: 'apps/push.yaml'})
    expect(map.skipped).toHaveLength(1)
    expect(map.skipped[0].path).toBe('broken.yaml')
    expect(map.skipped[0].reason).toMatch(/does not parse as YAML \(line \d+, column \d+\)/)
    expect(JSON.stringify(map)).not.toContain('secret-text-here')
  })
})
