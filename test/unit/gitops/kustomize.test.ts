import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'

import {fluxKustomizationsIn, KustomizeIndex, parseKustomization, secretReferencesIn} from '../../../src/lib/gitops/kustomize.js'
import {mapSopsFile} from '../../../src/lib/migrate/mapping.js'
import {kustomizeContextOf} from '../../../src/lib/migrate/plan.js'
import {SecretValue} from '../../../src/lib/secret/secret-value.js'

const s = (value: string) => SecretValue.fromJsonScalar(value)

describe('reading kustomize and Flux files (names only)', () => {
  test('a kustomization: namespace, resources, generators, secretGenerator sources and hash options', () => {
    const parsed = parseKustomization('/r/k/kustomization.yaml', `namespace: shop
resources: [../../base, secrets/db.sops.yaml]
generators: [gen.sops.yaml]
secretGenerator:
  - name: tls
    type: kubernetes.io/tls
    files: [tls.key=certs/key.enc, tls.crt]
    options: {disableNameSuffixHash: true, labels: {a: b}}
  - name: env
    env: old.env
    envs: [app.env]
    literals: [x=y]
generatorOptions: {annotations: {team: shop}}
`)!
    expect(parsed.namespace).toBe('shop')
    expect(parsed.resources).toEqual(['../../base', 'secrets/db.sops.yaml'])
    expect(parsed.generators).toEqual(['gen.sops.yaml'])
    expect(parsed.secretGenerators).toEqual([
      {index: 0, name: 'tls', namespace: undefined, type: 'kubernetes.io/tls', envs: [], files: [{key: 'tls.key', path: 'certs/key.enc'}, {key: 'tls.crt', path: 'tls.crt'}], literals: 0, hashSuffix: false, labels: {a: 'b'}, annotations: {team: 'shop'}},
      {index: 1, name: 'env', namespace: undefined, type: undefined, envs: ['app.env', 'old.env'], files: [], literals: 1, hashSuffix: true, labels: {}, annotations: {team: 'shop'}},
    ])
    expect(parseKustomization('/r/kustomization.yaml', '- not a map')).toBeUndefined()
  })

  test('Flux Kustomizations in a multi-document file; other kinds and groups are not', () => {
    const found = fluxKustomizationsIn('f.yaml', `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system}
spec: {path: ./clusters/prod, prune: true, decryption: {provider: sops, secretRef: {name: sops-age}}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1beta2
kind: Kustomization
metadata: {name: infra}
spec: {prune: false}
`)
    expect(found).toEqual([
      {file: 'f.yaml', document: 1, name: 'apps', namespace: 'flux-system', path: './clusters/prod', prune: true, decryption: {provider: 'sops', secretName: 'sops-age'}},
      {file: 'f.yaml', document: 2, name: 'infra', namespace: 'flux-system', path: './', prune: false, decryption: undefined},
    ])
  })

  test('the Secrets a workload names: envFrom, env, volumes, projected volumes, imagePullSecrets (a CronJob too)', () => {
    const refs = secretReferencesIn(`apiVersion: batch/v1
kind: CronJob
metadata: {name: backup, namespace: db}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          imagePullSecrets: [{name: registry}]
          containers:
            - envFrom: [{secretRef: {name: a}}, {configMapRef: {name: not-a-secret}}]
              env: [{name: X, valueFrom: {secretKeyRef: {name: b, key: k}}}]
          volumes:
            - {name: v, secret: {secretName: c}}
            - {name: p, projected: {sources: [{secret: {name: d}}]}}
---
kind: ConfigMap
metadata: {name: x}
`)
    expect(refs.map((ref) => `${ref.kind} ${ref.namespace}/${ref.name} ${ref.how} ${ref.secret}`)).toEqual([
      'CronJob db/backup envFrom a',
      'CronJob db/backup env b',
      'CronJob db/backup volume c',
      'CronJob db/backup projected volume d',
      'CronJob db/backup imagePullSecrets registry',
    ])
  })
})

describe('migrate sops reads the kustomization above a SOPS file', () => {
  const root = mkdtempSync(join(tmpdir(), 'kustomize-'))
  afterAll(() => rmSync(root, {recursive: true, force: true}))
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(root, path)), {recursive: true})
    writeFileSync(join(root, path), text)
  }

  test('a generator\'s SOPS env file becomes the generator\'s Secret under its unhashed name, in the kustomization\'s namespace', async () => {
    write('apps/kustomization.yaml', 'namespace: monitoring\nsecretGenerator:\n  - name: grafana-admin\n    envs: [secrets/grafana.env]\n    options: {labels: {app: grafana}}\n')
    const index = new KustomizeIndex(root)
    const context = kustomizeContextOf(await index.referencesTo(join(root, 'apps/secrets/grafana.env')), root)
    expect(context?.generator).toMatchObject({name: 'grafana-admin', hashSuffix: true, sourceKind: 'envs', sources: 1})
    const [planned] = mapSopsFile({path: 'apps/secrets/grafana.env', format: 'dotenv', engine: 'builtin', documents: [{USER: s('admin'), PASSWORD: s('p')}]}, {cwd: root}, context)
    expect(planned.origin).toBe('generator')
    expect([planned.spec.namespace, planned.spec.name, planned.spec.type]).toEqual(['monitoring', 'grafana-admin', 'Opaque'])
    expect(planned.spec.labels.app).toBe('grafana')
    expect([...planned.spec.data.keys()].sort()).toEqual(['PASSWORD', 'USER'])
  })

  test('a Secret manifest listed in resources takes the kustomization\'s namespace, as kustomize applies it', async () => {
    write('shop/kustomization.yaml', 'namespace: shop\nresources:\n  - db.sops.yaml\n')
    const context = kustomizeContextOf(await new KustomizeIndex(root).referencesTo(join(root, 'shop/db.sops.yaml')), root)
    const manifest = {apiVersion: s('v1'), kind: s('Secret'), metadata: {name: s('db'), namespace: s('default')}, stringData: {password: s('p')}}
    const [planned] = mapSopsFile({path: 'shop/db.sops.yaml', format: 'yaml', engine: 'builtin', documents: [manifest]}, {cwd: root}, context)
    expect(`${planned.spec.namespace}/${planned.spec.name}`).toBe('shop/db')
  })

  test('a generator with several sources, or a YAML file under files:, is refused with what to change', async () => {
    write('multi/kustomization.yaml', 'namespace: a\nsecretGenerator:\n  - name: mixed\n    envs: [one.env]\n    literals: [x=y]\n  - name: text\n    files: [conf.yaml]\n')
    const index = new KustomizeIndex(root)
    const mixed = kustomizeContextOf(await index.referencesTo(join(root, 'multi/one.env')), root)
    expect(() => mapSopsFile({path: 'multi/one.env', format: 'dotenv', engine: 'builtin', documents: [{A: s('1')}]}, {cwd: root}, mixed)).toThrow(/takes 2 sources/)
    const text = kustomizeContextOf(await index.referencesTo(join(root, 'multi/conf.yaml')), root)
    expect(() => mapSopsFile({path: 'multi/conf.yaml', format: 'yaml', engine: 'builtin', documents: [{a: s('1')}]}, {cwd: root}, text)).toThrow(/lists it under files:, and its yaml content/)
  })
})
