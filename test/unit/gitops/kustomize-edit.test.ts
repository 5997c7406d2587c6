import {applyYamlEdits} from '../../../src/lib/gitops/kustomize-edit.js'

const kustomization = `# the monitoring stack
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: monitoring   # all of it
resources:
    - deployment.yaml   # grafana
    - grafana.sops.yaml
secretGenerator:
  - name: grafana-admin
    envs:
      - grafana.env   # SOPS
  - name: other
    literals: [a=b]
generatorOptions:
    disableNameSuffixHash: false
`

describe('applyYamlEdits: only the edited lines change', () => {
  test('remove a resource and a generator, add a resource shaped like its neighbours; comments and indentation stay', () => {
    const result = applyYamlEdits(kustomization, [
      {op: 'remove-item', document: 0, path: ['resources'], index: 1},
      {op: 'remove-item', document: 0, path: ['secretGenerator'], index: 0},
      {op: 'append-item', document: 0, path: ['resources'], value: 'grafana-admin.pushsecret.yaml'},
    ])
    expect(result.reformatted).toBe(false)
    expect(result.text).toBe(`# the monitoring stack
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: monitoring   # all of it
resources:
    - deployment.yaml   # grafana
    - grafana-admin.pushsecret.yaml
secretGenerator:
  - name: other
    literals: [a=b]
generatorOptions:
    disableNameSuffixHash: false
`)
  })

  test('remove spec.decryption of a Flux Kustomization in a multi-document file', () => {
    const text = `---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: flux-system, namespace: flux-system}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
spec:
  path: ./clusters/prod
  decryption:
    provider: sops
    secretRef:
      name: sops-age
  prune: true
`
    const result = applyYamlEdits(text, [{op: 'remove-key', document: 1, path: ['spec', 'decryption']}])
    expect(result).toEqual({reformatted: false, text: text.replace('  decryption:\n    provider: sops\n    secretRef:\n      name: sops-age\n', '')})
  })

  test('a missing resources list is added at the end; a flow sequence falls back to the Document API', () => {
    expect(applyYamlEdits('namespace: x\n', [{op: 'append-item', document: 0, path: ['resources'], value: 'a.yaml'}])).toEqual({reformatted: false, text: 'namespace: x\nresources:\n- a.yaml\n'})
    const flow = applyYamlEdits('# keep me\nresources: [a.yaml, b.yaml]\n', [{op: 'remove-item', document: 0, path: ['resources'], index: 0}])
    expect(flow.reformatted).toBe(true)
    expect(flow.text).toBe('# keep me\nresources: [ b.yaml ]\n')
  })
})
