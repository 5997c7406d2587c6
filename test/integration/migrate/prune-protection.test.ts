import {execFileSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {KubeClient} from '../../../src/lib/kube/client.js'
import {requireBinary} from '../../helpers/binaries.js'
import {expectNoCanary} from '../../helpers/canary.js'
import {runCli, type CliResult} from '../../helpers/cli.js'
import {testEnv} from '../../helpers/env.js'
import {newAgeKey, sopsEncrypt, type AgeKey} from '../../helpers/sops-files.js'

const run = randomBytes(3).toString('hex')
const MARK = `canary${run}`
const NS = `prune-${run}`

/**
 * Secrets a GitOps tool applied, migrated by `migrate sops`: the real
 * kube-apiserver keeps the prune protection through a later server-side apply
 * by Flux's field manager (what a reconcile before the hand-off does), and
 * `migrate verify` calls a migrated Secret without it still-prunable (exit 1).
 * The whole story with a running Flux: test/integration/flux/handoff.test.ts.
 */
describe('prune protection of migrated GitOps-owned Secrets (real kube-apiserver, ESO, Vaults)', () => {
  const env = testEnv()
  const cliEnv = {...env.tokenEnv, KUBECONFIG: env.kubeconfig}
  const kube = KubeClient.connect({kubeconfig: env.kubeconfig})
  const outputs: CliResult[] = []
  let key: AgeKey
  let keyFile: string
  let tree: string

  const flux = (name: string, value: string) =>
    `apiVersion: v1\nkind: Secret\nmetadata:\n  name: ${name}\n  namespace: ${NS}\n  labels:\n    kustomize.toolkit.fluxcd.io/name: apps\n    kustomize.toolkit.fluxcd.io/namespace: flux-system\nstringData:\n  token: ${value}\n`
  /** kubectl as another tool applies: the manifest (with its value) goes through stdin, never the arguments. */
  const kubectl = (args: string[], manifest: string) =>
    execFileSync(env.binaries.kubectl ?? requireBinary('kubectl'), ['--kubeconfig', env.kubeconfig, ...args, '-f', '-'], {input: manifest, stdio: ['pipe', 'pipe', 'pipe']})
  const cli = async (args: string[]) => {
    const result = await runCli([...args, '--config', env.configPath], {env: {...cliEnv, SOPS_AGE_KEY_FILE: keyFile}})
    outputs.push(result)
    return result
  }

  beforeAll(async () => {
    key = await newAgeKey()
    const work = mkdtempSync(join(tmpdir(), 'secrets-prune-it-'))
    keyFile = join(work, 'key.txt')
    writeFileSync(keyFile, `${key.identity}\n`, {mode: 0o600})
    tree = join(work, 'gitops')
    mkdirSync(tree)
    const regex = '^(data|stringData)$'
    writeFileSync(join(tree, 'flux.sops.yaml'), sopsEncrypt(flux('flux-owned', `${MARK}-flux`), {recipient: key.recipient, type: 'yaml', encryptedRegex: regex}))
    writeFileSync(
      join(tree, 'argo.sops.yaml'),
      sopsEncrypt(`apiVersion: v1\nkind: Secret\nmetadata: {name: argo-owned, namespace: ${NS}}\nstringData: {token: ${MARK}-argo}\n`, {recipient: key.recipient, type: 'yaml', encryptedRegex: regex}),
    )
    await kube.ensureNamespace(NS)
    // As Flux's kustomize-controller applies: server-side, its own field manager.
    kubectl(['apply', '--server-side', '--field-manager', 'kustomize-controller'], flux('flux-owned', `${MARK}-flux`))
    // As Argo CD applies with annotation tracking (client-side apply, kubectl's last-applied annotation).
    kubectl(['apply'], `apiVersion: v1\nkind: Secret\nmetadata:\n  name: argo-owned\n  namespace: ${NS}\n  annotations:\n    argocd.argoproj.io/tracking-id: "shop:/Secret:${NS}/argo-owned"\n    argocd.argoproj.io/sync-options: ServerSideApply=true\nstringData:\n  token: ${MARK}-argo\n`)
  })

  afterAll(() => {
    expectNoCanary(outputs.flatMap((output) => [output.stdout, output.stderr]), [MARK])
  })

  test('migrate sops names the owners and writes their prune protection; a Flux re-apply keeps it; verify passes', async () => {
    const migrated = await cli(['migrate', 'sops', tree, '--yes'])
    expect(migrated.code).toBe(0)
    expect(migrated.stdout).toContain('owned by Flux Kustomization flux-system/apps; prune protection added')
    expect(migrated.stdout).toContain('owned by Argo CD Application shop; prune protection added')
    const fluxOwned = await kube.getSecret(NS, 'flux-owned')
    expect(fluxOwned?.annotations['kustomize.toolkit.fluxcd.io/prune']).toBe('disabled')
    expect(fluxOwned?.annotations['secrets-toolkit.io/previous-owner']).toBe('flux-kustomization:flux-system/apps')
    const argoOwned = await kube.getSecret(NS, 'argo-owned')
    expect(argoOwned?.annotations['argocd.argoproj.io/sync-options']).toBe('ServerSideApply=true,Prune=false')

    // Flux reconciles again before the hand-off commit: its apply carries no such annotation and leaves ours in place.
    kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager', 'kustomize-controller'], flux('flux-owned', `${MARK}-flux`))
    const after = await kube.getSecret(NS, 'flux-owned')
    expect(after?.annotations['kustomize.toolkit.fluxcd.io/prune']).toBe('disabled')
    expect(after?.labels['kustomize.toolkit.fluxcd.io/name']).toBe('apps')

    const verify = await cli(['migrate', 'verify', '--namespace', NS, '--wait', '150s', '--json'])
    const report = JSON.parse(verify.stdout)
    expect(report.rows.filter((row: {status: string}) => row.status !== 'in-sync')).toEqual([])
    expect(verify.code).toBe(0)
  }, 300_000)

  test('a migrated Secret whose protection is gone is still-prunable: verify exits 1 and names the owner', async () => {
    execFileSync(env.binaries.kubectl ?? requireBinary('kubectl'), ['--kubeconfig', env.kubeconfig, '-n', NS, 'annotate', 'secret', 'flux-owned', 'kustomize.toolkit.fluxcd.io/prune-'], {stdio: 'pipe'})
    const verify = await cli(['migrate', 'verify', '--namespace', NS, '--json'])
    expect(verify.code).toBe(1)
    const rows = JSON.parse(verify.stdout).rows.filter((row: {status: string}) => row.status === 'still-prunable')
    expect(rows).toEqual([{secret: `${NS}/flux-owned`, where: 'kubernetes', status: 'still-prunable', keys: [], detail: 'Flux Kustomization flux-system/apps would prune it (no kustomize.toolkit.fluxcd.io/prune: disabled)'}])
    // A re-run of migrate sops puts it back.
    const again = await cli(['migrate', 'sops', tree, '--yes'])
    expect(again.code).toBe(0)
    expect((await kube.getSecret(NS, 'flux-owned'))?.annotations['kustomize.toolkit.fluxcd.io/prune']).toBe('disabled')
  }, 300_000)
})
