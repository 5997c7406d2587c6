import {describeApplied, incompleteError, PUSH_REQUESTED_ANNOTATION, pushSecretFor} from '../../../src/lib/bootstrap/apply.js'
import {planBootstrap, planToJson, renderPlan, type ObservedState} from '../../../src/lib/bootstrap/plan.js'
import {parseSpec} from '../../../src/lib/bootstrap/spec.js'
import type {RegionConfig} from '../../../src/lib/config/schema.js'
import {ToolkitError} from '../../../src/lib/errors/errors.js'
import type {ObservedSecret} from '../../../src/lib/kube/client.js'
import {SecretValue} from '../../../src/lib/secret/secret-value.js'

const CANARY = 'canary-plan-5d1f0b7a'

const spec = parseSpec(
  `secrets:
  - namespace: flux-system
    name: gitea-token
    keys:
      - {key: username, prompt: User}
      - {key: password, prompt: Token}
  - namespace: external-dns
    name: cloudflare-credentials
    keys:
      - {key: api-token, prompt: Token}
  - namespace: kube-system
    name: hcloud
    keys:
      - {key: token, prompt: Token}
      - {key: network, prompt: Network, validate: {required: false}}
  - namespace: app
    name: db
    keys:
      - {key: password, source: generate}
  - namespace: flux-system
    name: receiver
    generatedInCluster: true
    keys:
      - {key: token, source: generate}
`,
  'test.yaml',
)

function existing(namespace: string, name: string, data: Record<string, string>): ObservedSecret {
  return {namespace, name, type: 'Opaque', labels: {}, annotations: {}, data: new Map(Object.entries(data).map(([k, v]) => [k, SecretValue.fromString(v)]))}
}

const observed = new Map<string, ObservedState>([
  ['external-dns/cloudflare-credentials', {secret: existing('external-dns', 'cloudflare-credentials', {'api-token': CANARY}), pushSecretExists: true}],
  ['kube-system/hcloud', {secret: existing('kube-system', 'hcloud', {token: CANARY}), pushSecretExists: false}],
  ['app/db', {secret: existing('app', 'db', {password: CANARY}), pushSecretExists: true}],
])

const regions = [
  {name: 'region1', clusterSecretStore: 'vault-region1'},
  {name: 'region2', clusterSecretStore: 'vault-region2'},
] as RegionConfig[]

describe('bootstrap plan', () => {
  test('one action per secret from what the cluster holds', () => {
    const plan = planBootstrap(spec.secrets, observed, ['app/db'])
    const actions = Object.fromEntries(plan.secrets.map((p) => [p.id, p.action]))
    expect(actions).toEqual({
      'flux-system/gitea-token': 'create',
      'external-dns/cloudflare-credentials': 'keep',
      'kube-system/hcloud': 'push',
      'app/db': 'rotate',
      'flux-system/receiver': 'cluster',
    })
    const hcloud = plan.secrets.find((p) => p.id === 'kube-system/hcloud')!
    expect(hcloud.missingKeys).toEqual(['network'])
    expect(hcloud.remoteKey).toBe('kube-system/hcloud')
  })

  test('--rotate must name a secret the wizard owns', () => {
    expect(() => planBootstrap(spec.secrets, observed, ['app/nope'])).toThrow(ToolkitError)
    expect(() => planBootstrap(spec.secrets, observed, ['app/nope'])).toThrow(/no secret app\/nope/)
    expect(() => planBootstrap(spec.secrets, observed, ['flux-system/receiver'])).toThrow(/generated in the cluster/)
  })

  test('plan, summary and JSON hold names only, never values', () => {
    const plan = planBootstrap(spec.secrets, observed, ['app/db'])
    const collected = new Map([
      ['flux-system/gitea-token', new Map([['username', SecretValue.fromString(CANARY)], ['password', SecretValue.fromString(CANARY)]])],
      ['app/db', new Map([['password', SecretValue.fromString(CANARY)]])],
    ])
    const context = {specSource: 'test.yaml', server: 'https://127.0.0.1:6443', stores: ['vault-region1', 'vault-region2']}
    const before = renderPlan(plan, context)
    const summary = renderPlan(plan, context, collected)
    const json = JSON.stringify(planToJson(plan))
    for (const text of [before, summary, json]) expect(text).not.toContain(CANARY)
    expect(before).toContain('flux-system/gitea-token')
    expect(before).toContain('username, password')
    expect(before).toContain('password (generated)')
    expect(before).toContain('lacks network (use --rotate kube-system/hcloud to enter them)')
    expect(before).toContain('vault-region1, vault-region2')
    expect(summary).toContain('create')
    expect(JSON.parse(json)[0]).toEqual({
      namespace: 'flux-system',
      name: 'gitea-token',
      type: 'Opaque',
      keys: [
        {key: 'username', source: 'prompt'},
        {key: 'password', source: 'prompt'},
      ],
      action: 'create',
      remoteKey: 'flux-system/gitea-token',
      missingKeys: [],
    })
  })

  test('an optional key left empty is shown as not created', () => {
    const plan = planBootstrap(spec.secrets, new Map(), [])
    const collected = new Map([['kube-system/hcloud', new Map([['token', SecretValue.fromString(CANARY)]])]])
    const summary = renderPlan(plan, {specSource: 's', server: 'k', stores: ['a']}, collected)
    expect(summary).toContain('network (left empty: not created)')
    expect(summary).not.toContain(CANARY)
  })

  test('the PushSecret pushes only the keys the Secret has, with a push-request annotation', () => {
    const plan = planBootstrap(spec.secrets, new Map(), [])
    const hcloud = plan.secrets.find((p) => p.id === 'kube-system/hcloud')!
    const object = pushSecretFor(hcloud, ['token'], regions, new Date('2030-01-02T03:04:05Z')) as any
    expect(object.metadata).toMatchObject({name: 'hcloud', namespace: 'kube-system', annotations: {[PUSH_REQUESTED_ANNOTATION]: '2030-01-02T03:04:05.000Z'}})
    expect(object.spec.secretStoreRefs).toEqual([
      {name: 'vault-region1', kind: 'ClusterSecretStore'},
      {name: 'vault-region2', kind: 'ClusterSecretStore'},
    ])
    expect(object.spec.data).toEqual([{match: {secretKey: 'token', remoteRef: {remoteKey: 'kube-system/hcloud', property: 'token'}}}])
    expect(object.spec.deletionPolicy).toBe('None')
    expect(object.spec.updatePolicy).toBe('Replace')
  })

  test('an interrupted apply says what exists and how a re-run completes it', () => {
    const plan = planBootstrap(spec.secrets, observed, ['app/db'])
    const states = new Map([
      ['flux-system/gitea-token', {namespace: true, pushSecret: true, secret: true}],
      ['kube-system/hcloud', {namespace: true, pushSecret: false, secret: false}],
    ])
    const cause = new ToolkitError('KUBE_UNREACHABLE', 'cannot apply Secret app/db: Kubernetes API unreachable (ECONNREFUSED)')
    const error = incompleteError(cause, plan.secrets, states)
    expect(error.code).toBe('BOOTSTRAP_INCOMPLETE')
    expect(error.message).toContain('Kubernetes API unreachable')
    expect(describeApplied(plan.secrets, states)).toEqual([
      'flux-system/gitea-token: created (Secret and PushSecret)',
      'kube-system/hcloud: PushSecret not added (the Secret exists)',
      'app/db: NOT rotated',
    ])
    expect(error.hint).toContain('--rotate app/db')
    expect(error.hint).toContain('Re-run the same command')
  })

  test('a Secret written without its PushSecret is said so, and a rotation stopped there is asked again', () => {
    const plan = planBootstrap(spec.secrets, observed, ['app/db'])
    const states = new Map([['app/db', {namespace: true, pushSecret: false, secret: true}]])
    expect(describeApplied(plan.secrets, states)).toContain('app/db: Secret rotated, its PushSecret NOT written: nothing pushes it to the Vaults yet')
    expect(incompleteError(new Error('x'), plan.secrets, states).hint).toContain('--rotate app/db')
  })
})
