import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {inspect} from 'node:util'

import {includesDeep} from '../../../src/lib/migrate/apply.js'
import {findCollisions, loadMappingFile, mapSopsFile, MIGRATED_FROM_LABEL, SOURCE_ANNOTATION, type MappingOptions} from '../../../src/lib/migrate/mapping.js'
import {remoteTargets} from '../../../src/lib/migrate/plan.js'
import {SecretValue} from '../../../src/lib/secret/secret-value.js'
import type {DecryptedSops, SopsFormat, SopsTree} from '../../../src/lib/sops/decrypt.js'

const s = (value: string | number | boolean) => SecretValue.fromJsonScalar(value)
const CANARY = 'canary-mapping-5e1d'
const cwd = '/repo'
const options: MappingOptions = {cwd}

function decrypted(path: string, format: SopsFormat, ...documents: SopsTree[]): DecryptedSops {
  return {path, format, engine: 'builtin', documents}
}

function secretManifest(extra: Record<string, SopsTree>): SopsTree {
  return {apiVersion: s('v1'), kind: s('Secret'), ...extra}
}

const valuesOf = (data: Map<string, SecretValue>) => Object.fromEntries([...data].map(([key, value]) => [key, value.revealString()]))

describe('mapping SOPS files to Secrets', () => {
  test('a Secret manifest keeps name, namespace, type, labels and annotations; data is base64-decoded; stringData wins', () => {
    const [planned] = mapSopsFile(
      decrypted(
        'apps/db.sops.yaml',
        'yaml',
        secretManifest({
          metadata: {
            name: s('db'),
            namespace: s('payments'),
            labels: {app: s('db'), 'kustomize.toolkit.fluxcd.io/name': s('apps')},
            annotations: {note: s('x'), 'kubectl.kubernetes.io/last-applied-configuration': s('{}')},
          },
          type: s('kubernetes.io/basic-auth'),
          data: {username: s(Buffer.from('admin').toString('base64')), password: s(Buffer.from('old').toString('base64'))},
          stringData: {password: s(CANARY)},
        }),
      ),
      options,
    )
    expect(planned.origin).toBe('manifest')
    expect(planned.spec).toMatchObject({namespace: 'payments', name: 'db', type: 'kubernetes.io/basic-auth'})
    expect(planned.spec.labels).toEqual({app: 'db', [MIGRATED_FROM_LABEL]: 'apps_db.sops.yaml'})
    expect(planned.spec.annotations).toEqual({note: 'x', [SOURCE_ANNOTATION]: 'apps/db.sops.yaml'})
    expect(valuesOf(planned.spec.data)).toEqual({username: 'admin', password: CANARY})
    expect(inspect(planned, {depth: 10}) + JSON.stringify(planned)).not.toContain(CANARY)
  })

  test('a multi-document file yields one Secret per document', () => {
    const planned = mapSopsFile(
      decrypted(
        'ingress/secrets.yaml',
        'yaml',
        secretManifest({metadata: {name: s('a'), namespace: s('ingress')}, stringData: {k: s('1')}}),
        secretManifest({metadata: {name: s('b')}, stringData: {k: s('2')}}),
      ),
      {...options, namespace: 'fallback'},
    )
    expect(planned.map((p) => `${p.spec.namespace}/${p.spec.name}#${p.document}`)).toEqual(['ingress/a#0', 'fallback/b#1'])
  })

  test('a plain file becomes one Opaque Secret named after the file; nested values become JSON, types kept', () => {
    const [planned] = mapSopsFile(
      decrypted('apps/Values.SOPS.yml.j2', 'yaml', {api_key: s(CANARY), port: s(5432), debug: s(false), nested: {list: [s('a'), s(1)], flag: s(true)}, empty: null}),
      {...options, namespace: 'apps'},
    )
    expect(planned.spec).toMatchObject({namespace: 'apps', name: 'values', type: 'Opaque'})
    expect(valuesOf(planned.spec.data)).toEqual({api_key: CANARY, port: '5432', debug: 'false', nested: '{"list":["a",1],"flag":true}', empty: ''})
  })

  test('dotenv keys are kept as they are; INI sections become section.key; a binary file is one key named after it', () => {
    const [dotenv] = mapSopsFile(decrypted('grafana.env', 'dotenv', {GF_ADMIN_PASSWORD: s('x')}), {...options, namespace: 'm'})
    expect([...dotenv.spec.data.keys()]).toEqual(['GF_ADMIN_PASSWORD'])
    const [ini] = mapSopsFile(decrypted('app.ini', 'ini', {database: {password: s('p'), user: s('u')}}), {...options, namespace: 'm'})
    expect(valuesOf(ini.spec.data)).toEqual({'database.password': 'p', 'database.user': 'u'})
    const [binary] = mapSopsFile(decrypted('certs/tls key.bin', 'binary', {data: SecretValue.fromBytes(Buffer.from([0xff, 0x00]))}), {...options, namespace: 'm'})
    expect(binary.spec.name).toBe('tls-key')
    expect([...binary.spec.data.keys()]).toEqual(['tls_key.bin'])
    expect([...binary.spec.data.get('tls_key.bin')!.revealBytes()]).toEqual([0xff, 0x00])
  })

  test.each([
    ['no namespace anywhere', decrypted('a.yaml', 'yaml', {k: s('v')}), {}, /no namespace for Secret a/],
    ['invalid Secret name', decrypted('x.yaml', 'yaml', secretManifest({metadata: {name: s('Bad_Name'), namespace: s('n')}, stringData: {k: s('v')}})), {}, /Secret name "Bad_Name" must be lowercase/],
    ['invalid key', decrypted('a.yaml', 'yaml', {'bad key': s('v')}), {namespace: 'n'}, /key "bad key" may contain only/],
    ['over 1 MiB', decrypted('big.yaml', 'yaml', {blob: s('x'.repeat(1024 * 1024 + 1))}), {namespace: 'n'}, /over Kubernetes' 1 MiB Secret limit/],
    ['data that is not base64', decrypted('d.yaml', 'yaml', secretManifest({metadata: {name: s('d'), namespace: s('n')}, data: {k: s('not base64!')}})), {}, /data\.k is not base64/],
    ['multi-document plain file', decrypted('m.yaml', 'yaml', {a: s('1')}, {b: s('2')}), {namespace: 'n'}, /2 YAML documents that are not Secret manifests/],
    ['no keys', decrypted('e.yaml', 'yaml', {}), {namespace: 'n'}, /has no keys/],
  ])('%s is refused with the file named', (_what, input, extra, message) => {
    expect(() => mapSopsFile(input, {...options, ...extra})).toThrow(message)
    try {
      mapSopsFile(input, {...options, ...extra})
    } catch (error) {
      expect((error as Error).message.startsWith(input.path)).toBe(true)
    }
  })

  test('errors never carry a value', () => {
    const input = decrypted('a.yaml', 'yaml', {[`k${CANARY}`]: s(CANARY)})
    expect(() => mapSopsFile(input, {...options})).toThrow()
    try {
      mapSopsFile(input, {...options})
    } catch (error) {
      expect(String((error as Error).message)).not.toContain(`: ${CANARY}`)
    }
  })

  test('two sources mapping to one Secret are a collision naming both', () => {
    const a = mapSopsFile(decrypted('one/db.yaml', 'yaml', {k: s('1')}), {...options, namespace: 'n'})
    const b = mapSopsFile(decrypted('two/db.enc.json', 'json', {k: s('2')}), {...options, namespace: 'n'})
    expect(findCollisions([...a, ...b])?.message).toBe('Secret n/db would come from both one/db.yaml and two/db.enc.json')
    expect(findCollisions(a)).toBeUndefined()
  })

  test('a mapping file names Secrets and namespaces, with paths relative to itself', () => {
    const dir = mkdtempSync(join(tmpdir(), 'secrets-mapping-'))
    const file = join(dir, 'mapping.yaml')
    writeFileSync(file, 'files:\n  - {path: "apps/*.enc.json", name: renamed}\ndirectories:\n  - {path: apps, namespace: apps-ns}\n  - {path: apps/deep, namespace: deep-ns}\n')
    const mapping = loadMappingFile(file)
    const [renamed] = mapSopsFile(decrypted(join(dir, 'apps/x.enc.json'), 'json', {k: s('v')}), {cwd: '/elsewhere', mapping})
    expect(renamed.spec).toMatchObject({name: 'renamed', namespace: 'apps-ns'})
    const [deep] = mapSopsFile(decrypted(join(dir, 'apps/deep/y.yaml'), 'yaml', {k: s('v')}), {cwd: '/elsewhere', mapping})
    expect(deep.spec).toMatchObject({name: 'y', namespace: 'deep-ns'})
    writeFileSync(file, 'files:\n  - {name: missing-path}\n')
    expect(() => loadMappingFile(file)).toThrow(/files\[0\]\.path/)
  })
})

describe('remote targets', () => {
  const spec = {namespace: 'ns', name: 'db', data: new Map([['password', 1], ['user', 2]])}
  const regions = [
    {name: 'region1', clusterSecretStore: 'vault-region1'},
    {name: 'region2', clusterSecretStore: 'vault-region2'},
  ] as never

  test('default template: one Vault secret per Secret, one property per key, in every region', () => {
    expect(remoteTargets(spec, regions, '{namespace}/{name}')).toEqual([
      {region: 'region1', clusterSecretStore: 'vault-region1', remoteKey: 'ns/db', properties: ['password', 'user']},
      {region: 'region2', clusterSecretStore: 'vault-region2', remoteKey: 'ns/db', properties: ['password', 'user']},
    ])
  })

  test('a {key} template puts each key in a Vault secret of its own', () => {
    expect(remoteTargets(spec, regions, 'k8s/{namespace}/{name}/{key}').map((t) => `${t.region}:${t.remoteKey}`)).toEqual([
      'region1:k8s/ns/db/password',
      'region1:k8s/ns/db/user',
      'region2:k8s/ns/db/password',
      'region2:k8s/ns/db/user',
    ])
  })
})

describe('comparing applied objects', () => {
  test('server defaults are not differences; changed or missing fields are', () => {
    const wanted = {refreshInterval: '1h', data: [{match: {secretKey: 'a'}}]}
    expect(includesDeep({...wanted, updatePolicy: 'Replace', data: [{match: {secretKey: 'a'}, conversionStrategy: 'None'}]}, wanted)).toBe(true)
    expect(includesDeep({refreshInterval: '2h', data: [{match: {secretKey: 'a'}}]}, wanted)).toBe(false)
    expect(includesDeep({refreshInterval: '1h', data: []}, wanted)).toBe(false)
  })
})
