import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {parseAllDocuments} from 'yaml'

import {clusterGeneratedObjects, generatorNames, writeClusterManifests} from '../../../src/lib/bootstrap/manifests.js'
import {parseSpec} from '../../../src/lib/bootstrap/spec.js'
import type {RegionConfig} from '../../../src/lib/config/schema.js'
import {buildPushSecret} from '../../../src/lib/eso/push-secret.js'
import {BOOTSTRAP_PUSH_OPTIONS} from '../../../src/lib/bootstrap/apply.js'

const regions = [
  {name: 'region1', clusterSecretStore: 'vault-region1'},
  {name: 'region2', clusterSecretStore: 'vault-region2'},
] as RegionConfig[]

const spec = parseSpec(
  `secrets:
  - namespace: flux-system
    name: receiver
    type: Opaque
    generatedInCluster: true
    keys:
      - {key: token, source: generate, generate: {length: 40, digits: 10, symbols: 0}}
      - {key: Token_2, source: generate}
  - namespace: app
    name: typed
    keys:
      - {key: k, prompt: K}
`,
  'test.yaml',
)

describe('--output-dir manifests', () => {
  test('a Password generator per key, a generate-once ExternalSecret, and the wizard\'s PushSecret', () => {
    const objects = clusterGeneratedObjects(spec.secrets[0], regions) as any[]
    expect(objects.map((o) => `${o.apiVersion} ${o.kind} ${o.metadata.name}`)).toEqual([
      'generators.external-secrets.io/v1alpha1 Password receiver-token',
      'generators.external-secrets.io/v1alpha1 Password receiver-token-2',
      'external-secrets.io/v1 ExternalSecret receiver',
      'external-secrets.io/v1alpha1 PushSecret receiver',
    ])
    expect(objects[0].spec).toEqual({length: 40, digits: 10, symbols: 0, symbolCharacters: '~!@#$%^&*()_+`-={}|[]\\:"<>?,./', noUpper: false, allowRepeat: false})
    expect(objects[1].spec).toMatchObject({length: 24, digits: 6, symbols: 6})
    const es = objects[2]
    expect(es.spec.refreshInterval).toBe('0')
    // Generated once and kept: a restored value survives (see buildGeneratedExternalSecret).
    expect(es.spec.refreshPolicy).toBe('CreatedOnce')
    expect(es.spec.target).toEqual({name: 'receiver', creationPolicy: 'Orphan', deletionPolicy: 'Retain'})
    expect(es.spec.dataFrom).toEqual([
      {sourceRef: {generatorRef: {apiVersion: 'generators.external-secrets.io/v1alpha1', kind: 'Password', name: 'receiver-token'}}, rewrite: [{regexp: {source: '^password$', target: 'token'}}]},
      {sourceRef: {generatorRef: {apiVersion: 'generators.external-secrets.io/v1alpha1', kind: 'Password', name: 'receiver-token-2'}}, rewrite: [{regexp: {source: '^password$', target: 'Token_2'}}]},
    ])
    // The wizard's PushSecret, recording the Secret's type for `dr rehydrate`.
    expect(objects[3]).toEqual(
      buildPushSecret({namespace: 'flux-system', name: 'receiver', keys: ['token', 'Token_2']}, regions, {...BOOTSTRAP_PUSH_OPTIONS, record: {type: 'Opaque', labels: {}, annotations: {}}}),
    )
  })

  test('generator names stay distinct when keys differ only in case or punctuation', () => {
    const clash = parseSpec('secrets:\n  - {namespace: a, name: s, generatedInCluster: true, keys: [{key: a_b, source: generate}, {key: A-B, source: generate}]}\n', 't')
    expect([...generatorNames(clash.secrets[0]).values()]).toEqual(['s-a-b', 's-a-b-2'])
  })

  test('writes one YAML file per cluster-generated secret, and reports an identical rewrite as unchanged', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bootstrap-manifests-'))
    try {
      const first = await writeClusterManifests(join(dir, 'out'), spec.secrets, regions, 'test.yaml')
      expect(first).toEqual([{id: 'flux-system/receiver', path: join(dir, 'out', 'flux-system-receiver.yaml'), status: 'written'}])
      const documents = parseAllDocuments(readFileSync(first[0].path, 'utf8')).map((d) => d.toJS())
      expect(documents.map((d) => d.kind)).toEqual(['Password', 'Password', 'ExternalSecret', 'PushSecret'])
      expect(documents[2].spec.refreshInterval).toBe('0')
      const again = await writeClusterManifests(join(dir, 'out'), spec.secrets, regions, 'test.yaml')
      expect(again[0].status).toBe('unchanged')
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })

  test('a spec without cluster-generated secrets is a clear error', async () => {
    await expect(writeClusterManifests('/nonexistent', [spec.secrets[1]], regions, 't')).rejects.toThrow(/no secret with generatedInCluster: true/)
  })
})
