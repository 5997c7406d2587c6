// Real Flux reconciles a repository from the local Git server: a
// Kustomization with prune: true applies what the repository holds, prunes
// what a later commit removes, and decrypts a SOPS (age) Secret with the key
// a Secret in the cluster holds. The groundwork for the GitOps hand-off tests:
// the danger they guard against — Flux deleting what is removed
// from Git — is shown here to be real.
import {randomBytes} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {stringify} from 'yaml'

import {KubeClient} from '../../../src/lib/kube/client.js'
import {SecretValue} from '../../../src/lib/secret/secret-value.js'
import {
  appliedRevision,
  deleteKustomizations,
  type FluxControllers,
  GIT_REPOSITORY_API_VERSION,
  type GitServer,
  KUSTOMIZATION_API_VERSION,
  requestReconcile,
  startFlux,
  startGitServer,
  waitForFluxReady,
} from '../../env/flux.js'
import {testEnv} from '../../helpers/env.js'
import {newAgeKey, sopsEncrypt} from '../../helpers/sops-files.js'

const env = testEnv()
// The first start may build both controllers (scripts/test-env/binaries.sh).
const START_TIMEOUT_MS = 45 * 60_000

function configMap(namespace: string, name: string, data: Record<string, string>): string {
  return stringify({apiVersion: 'v1', kind: 'ConfigMap', metadata: {name, namespace}, data})
}

describe('Flux against the test cluster', () => {
  const kube = KubeClient.connect({kubeconfig: env.kubeconfig})
  const namespace = `flux-smoke-${randomBytes(3).toString('hex')}`
  let flux: FluxControllers
  let gitServer: GitServer
  const kustomizations: string[] = []

  beforeAll(async () => {
    await kube.ensureNamespace(namespace)
    const [controllers, server] = await Promise.all([
      startFlux({kube, kubeconfig: env.kubeconfig, workDir: env.workDir}),
      startGitServer({workDir: env.workDir, name: 'git-flux-smoke'}),
    ])
    flux = controllers
    gitServer = server
    process.stderr.write(`Flux started in ${(flux.timings.total / 1000).toFixed(1)} s: ${JSON.stringify(flux.timings)}\n`)
  }, START_TIMEOUT_MS)

  afterAll(async () => {
    // While the controllers still run: their finalizers garbage-collect what
    // the Kustomizations applied; a stopped controller would leave them stuck.
    if (flux) {
      await deleteKustomizations(kube, kustomizations.map((name) => ({name, namespace})))
      await flux.stop()
    }
    await gitServer?.stop()
  }, 120_000)

  async function applySource(name: string, url: string): Promise<void> {
    await kube.apply(
      {
        apiVersion: GIT_REPOSITORY_API_VERSION,
        kind: 'GitRepository',
        metadata: {name, namespace, labels: flux.watchLabels},
        spec: {interval: '10m', url, ref: {branch: 'main'}, timeout: '30s'},
      },
      {force: true},
    )
  }

  async function applyKustomization(name: string, spec: Record<string, unknown>): Promise<void> {
    kustomizations.push(name)
    await kube.apply(
      {
        apiVersion: KUSTOMIZATION_API_VERSION,
        kind: 'Kustomization',
        metadata: {name, namespace, labels: flux.watchLabels},
        spec: {interval: '10m', retryInterval: '5s', timeout: '1m', prune: true, sourceRef: {kind: 'GitRepository', name}, ...spec},
      },
      {force: true},
    )
  }

  test('a Kustomization (prune: true) applies a ConfigMap from the served repository, and prunes it when a commit removes it', async () => {
    const repository = gitServer.createRepository('apps')
    const first = repository.commit(
      {
        'apps/settings.yaml': configMap(namespace, 'settings', {mode: 'first'}),
        // The directory must outlive the removal of settings.yaml: Git keeps no empty directory.
        'apps/keep.yaml': configMap(namespace, 'keep', {mode: 'kept'}),
      },
      'settings and keep',
    )
    await applySource('apps', repository.url)
    await applyKustomization('apps', {path: './apps'})
    const ready = await waitForFluxReady(kube, {apiVersion: KUSTOMIZATION_API_VERSION, kind: 'Kustomization', name: 'apps', namespace}, {accept: appliedRevision(first), controllers: flux})
    expect(ready.status?.lastAppliedRevision).toBe(`main@sha1:${first}`)
    const applied = await kube.read('v1', 'ConfigMap', 'settings', namespace)
    expect((applied as {data?: Record<string, string>}).data).toEqual({mode: 'first'})
    expect(applied?.metadata?.labels?.['kustomize.toolkit.fluxcd.io/name']).toBe('apps')

    const second = repository.commit({'apps/settings.yaml': null}, 'remove settings')
    await requestReconcile(kube, {apiVersion: GIT_REPOSITORY_API_VERSION, kind: 'GitRepository', name: 'apps', namespace})
    await waitForFluxReady(kube, {apiVersion: KUSTOMIZATION_API_VERSION, kind: 'Kustomization', name: 'apps', namespace}, {accept: appliedRevision(second), controllers: flux})
    // Pruning happens before the new revision is recorded as applied.
    expect(await kube.read('v1', 'ConfigMap', 'settings', namespace)).toBeUndefined()
    expect(await kube.read('v1', 'ConfigMap', 'keep', namespace)).toBeDefined()
  }, 300_000)

  test('a Kustomization with SOPS decryption applies an age-encrypted Secret with the key from the sops-age Secret', async () => {
    const age = await newAgeKey()
    // A canary: it must reach the cluster only through Flux's decryption.
    const canary = SecretValue.fromString(`canary-${randomBytes(12).toString('hex')}`)
    await kube.applySecret({
      namespace,
      name: 'sops-age',
      type: 'Opaque',
      labels: {},
      annotations: {},
      data: new Map([['identity.agekey', SecretValue.fromString(age.identity)]]),
    })
    const plaintext = stringify({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {name: 'db-credentials', namespace},
      type: 'Opaque',
      data: {password: canary.revealBase64()},
    })
    const encrypted = sopsEncrypt(plaintext, {recipient: age.recipient, type: 'yaml', encryptedRegex: '^(data|stringData)$'})
    expect(encrypted.includes(canary.revealBase64())).toBe(false)

    const repository = gitServer.createRepository('secrets')
    const commit = repository.commit({'secrets/db-credentials.yaml': encrypted}, 'an encrypted Secret')
    expect(readFileSync(join(repository.workTree, 'secrets/db-credentials.yaml')).includes(canary.revealBase64())).toBe(false)
    await applySource('secrets', repository.url)
    await applyKustomization('secrets', {path: './secrets', decryption: {provider: 'sops', secretRef: {name: 'sops-age'}}})
    await waitForFluxReady(kube, {apiVersion: KUSTOMIZATION_API_VERSION, kind: 'Kustomization', name: 'secrets', namespace}, {accept: appliedRevision(commit), controllers: flux})

    const secret = await kube.getSecret(namespace, 'db-credentials')
    expect(secret).toBeDefined()
    expect(secret?.data.get('password')?.equals(canary)).toBe(true)
    expect(secret?.labels['kustomize.toolkit.fluxcd.io/name']).toBe('secrets')
    // Nothing on the way — the Git server, the controllers — logged the value.
    for (const log of [flux.sourceController.logFile, flux.kustomizeController.logFile, gitServer.process.logFile]) {
      const text = readFileSync(log, 'utf8')
      expect(text.includes(canary.revealBase64()) || text.includes(canary.revealString())).toBe(false)
    }
  }, 300_000)
})
