import {
  describeOwner,
  fluxInventoriesOf,
  ownersOf,
  previousOwnerValue,
  protectionAnnotations,
  pruneExposure,
  type SecretMetadata,
} from '../../../src/lib/gitops/ownership.js'

// Metadata as each tool leaves it on a Secret it applied (copied from objects those tools wrote).
const fluxApplied: SecretMetadata = {
  namespace: 'payments',
  name: 'db-credentials',
  labels: {'kustomize.toolkit.fluxcd.io/name': 'apps', 'kustomize.toolkit.fluxcd.io/namespace': 'flux-system', 'app.kubernetes.io/part-of': 'payments'},
  annotations: {},
}

const fluxKustomization = {
  apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
  kind: 'Kustomization',
  metadata: {name: 'apps', namespace: 'flux-system'},
  status: {
    inventory: {
      entries: [
        {id: 'payments_db-credentials__Secret', v: 'v1'},
        {id: 'monitoring_grafana-admin-7h8k2f5c9t__Secret', v: 'v1'},
        {id: 'monitoring_grafana_apps_Deployment', v: 'v1'},
      ],
    },
  },
}

// Argo CD 3 (annotation tracking): `<app>:<group>/<kind>:<namespace>/<name>`, plus the last-applied configuration it writes with client-side apply.
const argoAnnotated: SecretMetadata = {
  namespace: 'payments',
  name: 'api-keys',
  labels: {},
  annotations: {
    'argocd.argoproj.io/tracking-id': 'payments-prod:/Secret:payments/api-keys',
    'kubectl.kubernetes.io/last-applied-configuration': '{"apiVersion":"v1","kind":"Secret","metadata":{"annotations":{"argocd.argoproj.io/tracking-id":"payments-prod:/Secret:payments/api-keys"},"name":"api-keys","namespace":"payments"}}',
  },
}

const helmInstalled: SecretMetadata = {
  namespace: 'monitoring',
  name: 'grafana',
  labels: {'app.kubernetes.io/instance': 'grafana', 'app.kubernetes.io/managed-by': 'Helm', 'helm.sh/chart': 'grafana-8.5.1'},
  annotations: {'meta.helm.sh/release-name': 'grafana', 'meta.helm.sh/release-namespace': 'monitoring'},
}

describe('ownersOf: who applies an existing Secret', () => {
  test('Flux: the kustomize-controller labels name the Kustomization', () => {
    const owners = ownersOf(fluxApplied)
    expect(owners).toEqual([{tool: 'flux', kind: 'Kustomization', namespace: 'flux-system', name: 'apps', evidence: 'label kustomize.toolkit.fluxcd.io/name'}])
    expect(describeOwner(owners[0])).toBe('Flux Kustomization flux-system/apps')
  })

  test('Flux: the inventory finds a Secret whose labels were stripped, and is not counted twice', () => {
    const inventories = fluxInventoriesOf([fluxKustomization])
    const unlabelled = {...fluxApplied, labels: {}}
    expect(ownersOf(unlabelled, {fluxInventories: inventories})).toEqual([{tool: 'flux', kind: 'Kustomization', namespace: 'flux-system', name: 'apps', evidence: 'status.inventory'}])
    expect(ownersOf(fluxApplied, {fluxInventories: inventories})).toHaveLength(1)
    expect(ownersOf({...unlabelled, name: 'other'}, {fluxInventories: inventories})).toEqual([])
  })

  test('Argo CD annotation tracking, including an app in another namespace', () => {
    expect(ownersOf(argoAnnotated).map(describeOwner)).toEqual(['Argo CD Application payments-prod'])
    const anyNamespace = {...argoAnnotated, annotations: {'argocd.argoproj.io/tracking-id': 'team-a_payments-prod:/Secret:payments/api-keys'}}
    expect(ownersOf(anyNamespace).map(describeOwner)).toEqual(['Argo CD Application team-a/payments-prod'])
  })

  test('Argo CD: a tracking id copied from another object is not ownership (Argo ignores it too)', () => {
    const copied = {...argoAnnotated, name: 'api-keys-copy'}
    expect(ownersOf(copied)).toEqual([])
  })

  test('Argo CD label tracking: app.kubernetes.io/instance, unless Helm set it', () => {
    const labelled: SecretMetadata = {namespace: 'payments', name: 'x', labels: {'app.kubernetes.io/instance': 'payments-prod'}, annotations: {}}
    expect(ownersOf(labelled).map(describeOwner)).toEqual(['Argo CD Application payments-prod'])
    expect(ownersOf(labelled, {argoTracking: 'annotation'})).toEqual([])
    expect(ownersOf(helmInstalled).map(describeOwner)).toEqual(['Helm release monitoring/grafana'])
    expect(ownersOf(helmInstalled, {argoTracking: 'label'}).map(describeOwner)).toEqual(['Argo CD Application grafana', 'Helm release monitoring/grafana'])
  })

  test('a Secret nobody applies has no owner and needs no protection', () => {
    const plain: SecretMetadata = {namespace: 'a', name: 'b', labels: {'app.kubernetes.io/part-of': 'x'}, annotations: {}}
    expect(ownersOf(plain)).toEqual([])
    expect(protectionAnnotations([])).toEqual({})
  })
})

describe('protection against pruning', () => {
  test('Flux: prune disabled and the previous owner recorded', () => {
    const owners = ownersOf(fluxApplied)
    expect(protectionAnnotations(owners)).toEqual({
      'kustomize.toolkit.fluxcd.io/prune': 'disabled',
      'secrets-toolkit.io/previous-owner': 'flux-kustomization:flux-system/apps',
    })
    expect(pruneExposure(fluxApplied, owners)).toEqual(['Flux Kustomization flux-system/apps would prune it (no kustomize.toolkit.fluxcd.io/prune: disabled)'])
    expect(pruneExposure({...fluxApplied, annotations: protectionAnnotations(owners)}, owners)).toEqual([])
  })

  test('Argo CD: Prune=false joins the sync options already there', () => {
    const owners = ownersOf(argoAnnotated)
    const current = {...argoAnnotated.annotations, 'argocd.argoproj.io/sync-options': 'ServerSideApply=true,Prune=true'}
    const annotations = protectionAnnotations(owners, current)
    expect(annotations['argocd.argoproj.io/sync-options']).toBe('ServerSideApply=true,Prune=false')
    expect(annotations['secrets-toolkit.io/previous-owner']).toBe('argocd-application:payments-prod')
    expect(pruneExposure({...argoAnnotated, annotations: current}, owners)).toHaveLength(1)
    expect(pruneExposure({...argoAnnotated, annotations: {...current, ...annotations}}, owners)).toEqual([])
  })

  test('Helm: resource-policy keep', () => {
    const owners = ownersOf(helmInstalled)
    expect(protectionAnnotations(owners)['helm.sh/resource-policy']).toBe('keep')
    expect(previousOwnerValue(owners)).toBe('helm-release:monitoring/grafana')
  })
})
