// The GitOps hand-off against real Flux. Flux's kustomize-controller decrypts
// SOPS files into Secrets — a Secret manifest and a kustomize secretGenerator
// (a SOPS dotenv, hashed name) — with `prune: true`, and a Deployment reaches
// them by name. The story: `migrate sops` → `migrate verify` → `migrate finish`
// (one commit on a branch) → the branch becomes what Flux follows → Flux
// reconciles it → every Secret is still there with the same values, the
// Deployment's references resolve, the PushSecrets are Ready, both Vaults hold
// the values, and no SOPS file is left at HEAD.
//
// The negative control runs the same set-up and removes the SOPS files by hand
// (no hand-off): Flux deletes the Secrets. It proves the danger is real here,
// so the hand-off test cannot pass merely because this Flux does not prune.
import {RUN_RECORD_LABEL} from '../../../src/lib/migrate/run-record.js'
import {randomBytes} from 'node:crypto'
import {existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {stringify} from 'yaml'

import {loadConfig} from '../../../src/lib/config/load.js'
import {PUSH_SECRET_API_VERSION} from '../../../src/lib/eso/api.js'
import {readyCondition} from '../../../src/lib/eso/status.js'
import {KubeClient, type KubeObject} from '../../../src/lib/kube/client.js'
import {SecretValue} from '../../../src/lib/secret/secret-value.js'
import {connectRegion, type RegionVault} from '../../../src/lib/vault/connect.js'
import {
  appliedRevision,
  deleteKustomizations,
  type FluxControllers,
  GIT_REPOSITORY_API_VERSION,
  type GitRepositoryFixture,
  type GitServer,
  KUSTOMIZATION_API_VERSION,
  requestReconcile,
  startFlux,
  startGitServer,
  waitForFluxReady,
} from '../../env/flux.js'
import {waitFor} from '../../env/net.js'
import {canary, expectNoCanary, leaked} from '../../helpers/canary.js'
import {runCli, type CliResult} from '../../helpers/cli.js'
import {testEnv} from '../../helpers/env.js'
import {newAgeKey, sopsEncrypt, type AgeKey} from '../../helpers/sops-files.js'

const env = testEnv()
// The first start may build both controllers (scripts/test-env/binaries.sh).
const START_TIMEOUT_MS = 45 * 60_000
const STORY_TIMEOUT_MS = 10 * 60_000
const run = randomBytes(3).toString('hex')

/** The Flux Kustomization (in Git, applied by the root one) that decrypts and applies ./apps. */
const APPS = 'apps'
const ROOT = 'root'
const SOURCE = 'gitops'
/** A secretGenerator with a SOPS env file (dotenv). */
const GENERATOR = 'grafana-admin'
/** A secretGenerator with a SOPS file (binary), mounted as a volume. */
const FILE_GENERATOR = 'grafana-ca'

interface Story {
  namespace: string
  repository: GitRepositoryFixture
  /** The commit Flux applied first (with the SOPS files). */
  initial: string
  values: {dbUser: string; dbPassword: string; grafanaUser: string; grafanaPassword: string; caCertificate: string}
}

const ref = (namespace: string, kind: 'Kustomization' | 'GitRepository', name: string) => ({
  apiVersion: kind === 'Kustomization' ? KUSTOMIZATION_API_VERSION : GIT_REPOSITORY_API_VERSION,
  kind,
  name,
  namespace,
})

interface SecretReference {
  secret: string
  key?: string
  via: string
}

/** Every Secret a workload's pod template names: envFrom, env valueFrom and secret volumes. */
function secretReferences(workload: KubeObject): SecretReference[] {
  type Container = {name: string; envFrom?: {secretRef?: {name: string}}[]; env?: {name: string; valueFrom?: {secretKeyRef?: {name: string; key: string}}}[]}
  const pod = (workload.spec?.template as {spec?: {containers?: Container[]; volumes?: {name: string; secret?: {secretName: string}}[]}} | undefined)?.spec
  const references: SecretReference[] = []
  for (const container of pod?.containers ?? []) {
    for (const source of container.envFrom ?? []) if (source.secretRef) references.push({secret: source.secretRef.name, via: `container ${container.name} envFrom`})
    for (const variable of container.env ?? []) {
      const selector = variable.valueFrom?.secretKeyRef
      if (selector) references.push({secret: selector.name, key: selector.key, via: `container ${container.name} env ${variable.name}`})
    }
  }
  for (const volume of pod?.volumes ?? []) if (volume.secret) references.push({secret: volume.secret.secretName, via: `volume ${volume.name}`})
  return references
}

/** The references that do not resolve (no such Secret, or no such key in it), as a kubelet would find them. */
async function unresolved(kube: KubeClient, namespace: string, references: SecretReference[]): Promise<string[]> {
  const problems: string[] = []
  for (const reference of references) {
    const secret = await kube.getSecret(namespace, reference.secret)
    if (!secret) problems.push(`${reference.via}: Secret ${reference.secret} does not exist`)
    else if (reference.key && !secret.data.has(reference.key)) problems.push(`${reference.via}: Secret ${reference.secret} has no key ${reference.key}`)
  }
  return problems
}

function files(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir, {recursive: true, withFileTypes: true})
    .filter((entry) => entry.isFile() && !join(entry.parentPath, entry.name).includes('/.git/'))
    .map((entry) => join(entry.parentPath, entry.name))
}

describe('the GitOps hand-off against real Flux (prune: true, SOPS decryption)', () => {
  const kube = KubeClient.connect({kubeconfig: env.kubeconfig})
  const config = loadConfig({path: env.configPath}).config
  const canaries: string[] = []
  const outputs: CliResult[] = []
  const vaults: RegionVault[] = []
  const stories: Story[] = []
  let flux: FluxControllers
  let gitServer: GitServer
  let age: AgeKey
  let keyFile: string
  let handoff: Story
  let control: Story
  const started = Date.now()

  const value = (label: string) => {
    const made = canary(`${label}-${run}`)
    canaries.push(made)
    return made
  }

  const cli = async (args: string[], options: {cwd?: string} = {}) => {
    const result = await runCli([...args, '--config', env.configPath], {
      env: {...env.tokenEnv, KUBECONFIG: env.kubeconfig, SOPS_AGE_KEY_FILE: keyFile},
      cwd: options.cwd,
      timeoutMs: STORY_TIMEOUT_MS,
    })
    outputs.push(result)
    return result
  }

  const kustomizationYaml = (namespace: string) =>
    stringify({
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      namespace,
      resources: ['db-credentials.sops.yaml', 'deployment.yaml'],
      secretGenerator: [
        {name: GENERATOR, envs: ['grafana.env']},
        {name: FILE_GENERATOR, files: ['ca.crt=ca.crt.enc']},
      ],
    })

  const deploymentYaml = () =>
    stringify({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {name: 'grafana'},
      spec: {
        replicas: 1,
        selector: {matchLabels: {app: 'grafana'}},
        template: {
          metadata: {labels: {app: 'grafana'}},
          spec: {
            containers: [
              {
                name: 'grafana',
                image: 'grafana/grafana:11.0.0',
                // kustomize rewrites this name to the generator's hashed one while the generator exists.
                envFrom: [{secretRef: {name: GENERATOR}}],
                env: [{name: 'GF_DATABASE_PASSWORD', valueFrom: {secretKeyRef: {name: 'db-credentials', key: 'password'}}}],
                volumeMounts: [{name: 'ca', mountPath: '/etc/grafana/ca', readOnly: true}],
              },
            ],
            volumes: [{name: 'ca', secret: {secretName: FILE_GENERATOR}}],
          },
        },
      },
    })

  /** The Flux Kustomization that decrypts ./apps, as a platform repository holds it. */
  const appsKustomizationYaml = (namespace: string) =>
    stringify({
      apiVersion: KUSTOMIZATION_API_VERSION,
      kind: 'Kustomization',
      metadata: {name: APPS, namespace, labels: flux.watchLabels},
      spec: {
        interval: '10m',
        retryInterval: '5s',
        timeout: '1m',
        prune: true,
        path: './apps',
        sourceRef: {kind: 'GitRepository', name: SOURCE},
        decryption: {provider: 'sops', secretRef: {name: 'sops-age'}},
      },
    })

  /**
   * A namespace with the age key Flux decrypts with, a repository served over
   * HTTP, and Flux reconciling it: a root Kustomization (applied here, as
   * `flux bootstrap` would) applies clusters/test, which holds the `apps`
   * Kustomization with `decryption` and `prune: true`. Returns once Flux
   * applied the first commit.
   */
  async function setUpStory(label: string): Promise<Story> {
    const namespace = `handoff-${label}-${run}`
    await kube.ensureNamespace(namespace)
    await kube.applySecret({
      namespace,
      name: 'sops-age',
      type: 'Opaque',
      labels: {},
      annotations: {},
      data: new Map([['identity.agekey', SecretValue.fromString(age.identity)]]),
    })
    const values = {
      dbUser: value(`${label}-db-user`),
      dbPassword: value(`${label}-db-password`),
      grafanaUser: value(`${label}-grafana-user`),
      grafanaPassword: value(`${label}-grafana-password`),
      caCertificate: `-----BEGIN CERTIFICATE-----\n${value(`${label}-ca`)}\n-----END CERTIFICATE-----\n`,
    }
    const dbSecret = stringify({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {name: 'db-credentials', namespace, labels: {app: 'grafana'}},
      type: 'Opaque',
      stringData: {username: values.dbUser, password: values.dbPassword},
    })
    const repository = gitServer.createRepository(`gitops-${label}`)
    const initial = repository.commit(
      {
        '.sops.yaml': stringify({creation_rules: [{path_regex: '^apps/', age: age.recipient}]}),
        'clusters/test/apps.yaml': appsKustomizationYaml(namespace),
        'apps/kustomization.yaml': kustomizationYaml(namespace),
        'apps/db-credentials.sops.yaml': sopsEncrypt(dbSecret, {recipient: age.recipient, type: 'yaml', encryptedRegex: '^(data|stringData)$'}),
        'apps/grafana.env': sopsEncrypt(`GF_SECURITY_ADMIN_USER=${values.grafanaUser}\nGF_SECURITY_ADMIN_PASSWORD=${values.grafanaPassword}\n`, {recipient: age.recipient, type: 'dotenv'}),
        'apps/ca.crt.enc': sopsEncrypt(values.caCertificate, {recipient: age.recipient, type: 'binary'}),
        'apps/deployment.yaml': deploymentYaml(),
      },
      'grafana with SOPS-encrypted credentials',
    )
    for (const file of files(repository.workTree)) expect(leaked(readFileSync(file), canaries)).toEqual([])

    await kube.apply(
      {
        apiVersion: GIT_REPOSITORY_API_VERSION,
        kind: 'GitRepository',
        metadata: {name: SOURCE, namespace, labels: flux.watchLabels},
        spec: {interval: '10m', url: repository.url, ref: {branch: 'main'}, timeout: '30s'},
      },
      {force: true},
    )
    await kube.apply(
      {
        apiVersion: KUSTOMIZATION_API_VERSION,
        kind: 'Kustomization',
        metadata: {name: ROOT, namespace, labels: flux.watchLabels},
        spec: {interval: '10m', retryInterval: '5s', timeout: '1m', prune: true, path: './clusters/test', sourceRef: {kind: 'GitRepository', name: SOURCE}},
      },
      {force: true},
    )
    const story = {namespace, repository, initial, values}
    stories.push(story)
    await waitForRevision(story, initial)
    return story
  }

  /** source-controller serves `commit`, and both Kustomizations applied it (Ready at that revision, current generation). */
  async function waitForRevision(story: Story, commit: string): Promise<KubeObject> {
    const source = await waitForFluxReady(kube, ref(story.namespace, 'GitRepository', SOURCE), {
      controllers: flux,
      accept: (object) => {
        const served = (object.status?.artifact as {revision?: string} | undefined)?.revision
        return served === `main@sha1:${commit}` ? undefined : `serves ${String(served)}, waiting for main@sha1:${commit}`
      },
    })
    expect((source.status?.artifact as {revision: string}).revision).toBe(`main@sha1:${commit}`)
    await waitForFluxReady(kube, ref(story.namespace, 'Kustomization', ROOT), {accept: appliedRevision(commit), controllers: flux})
    return waitForFluxReady(kube, ref(story.namespace, 'Kustomization', APPS), {accept: appliedRevision(commit), controllers: flux})
  }

  /** The hashed names kustomize gave the generators' Secrets, as Flux's inventory records them: generator name → Secret name. */
  async function generatedSecretNames(story: Story): Promise<Record<string, string>> {
    const apps = await kube.read(KUSTOMIZATION_API_VERSION, 'Kustomization', APPS, story.namespace)
    const ids = ((apps?.status?.inventory as {entries?: {id: string}[]} | undefined)?.entries ?? []).map((entry) => entry.id)
    const names: Record<string, string> = {}
    for (const generator of [GENERATOR, FILE_GENERATOR]) {
      const prefix = `${story.namespace}_${generator}-`
      const generated = ids.filter((id) => id.startsWith(prefix) && id.endsWith('__Secret'))
      expect(generated).toHaveLength(1)
      names[generator] = generated[0]!.slice(`${story.namespace}_`.length, -'__Secret'.length)
    }
    return names
  }

  /** Every Secret of the story under the name the workload's manifest spells, with the values Flux decrypted into it. */
  const secretsOf = (story: Story): Record<string, Record<string, string>> => ({
    'db-credentials': {username: story.values.dbUser, password: story.values.dbPassword},
    [GENERATOR]: {GF_SECURITY_ADMIN_USER: story.values.grafanaUser, GF_SECURITY_ADMIN_PASSWORD: story.values.grafanaPassword},
    [FILE_GENERATOR]: {'ca.crt': story.values.caCertificate},
  })

  async function expectSecretValues(namespace: string, name: string, expected: Record<string, string>): Promise<void> {
    const secret = await kube.getSecret(namespace, name)
    expect(secret).toBeDefined()
    expect([...secret!.data.keys()].sort()).toEqual(Object.keys(expected).sort())
    for (const [key, wanted] of Object.entries(expected)) expect(secret!.data.get(key)!.equals(SecretValue.fromString(wanted))).toBe(true)
  }

  beforeAll(async () => {
    age = await newAgeKey()
    const work = join(env.workDir, `flux-handoff-${run}`)
    mkdirSync(work, {recursive: true})
    keyFile = join(work, 'age-key.txt')
    writeFileSync(keyFile, `${age.identity}\n`, {mode: 0o600})
    const [controllers, server] = await Promise.all([
      startFlux({kube, kubeconfig: env.kubeconfig, workDir: env.workDir}),
      startGitServer({workDir: env.workDir, name: `git-flux-handoff-${run}`}),
    ])
    flux = controllers
    gitServer = server
    for (const region of config.regions) vaults.push(await connectRegion(region, {env: env.tokenEnv}))
    // Both stories start from the same state; their set-ups share the controllers and run at once.
    ;[handoff, control] = await Promise.all([setUpStory('flux'), setUpStory('control')])
    process.stderr.write(`Flux started in ${(flux.timings.total / 1000).toFixed(1)} s; both stories applied ${((Date.now() - started) / 1000).toFixed(1)} s after the start\n`)
  }, START_TIMEOUT_MS)

  afterAll(async () => {
    // While the controllers still run: their finalizers garbage-collect what the Kustomizations applied.
    if (flux) {
      // The root one first: deleting it prunes `apps`, which prunes what it applied.
      await deleteKustomizations(kube, stories.flatMap((story) => [ROOT, APPS].map((name) => ({name, namespace: story.namespace}))))
      await flux.stop()
    }
    // The migrated Secrets outlive their Kustomizations on purpose (prune protection) while their PushSecrets,
    // applied by Flux, are pruned: left behind, they and the runs' records would be findings of every later
    // whole-cluster `migrate verify` in this shared environment (no namespace controller runs here to delete them
    // with their namespace).
    for (const story of stories) {
      for (const secret of await kube.listSecrets(story.namespace)) await kube.delete('v1', 'Secret', secret.name, story.namespace)
      for (const record of await kube.list('v1', 'ConfigMap', {namespace: story.namespace, labelSelector: RUN_RECORD_LABEL})) {
        await kube.delete('v1', 'ConfigMap', record.metadata!.name!, story.namespace)
      }
    }
    await gitServer?.stop()
    await Promise.all(vaults.map((vault) => vault.close()))
    process.stderr.write(`flux hand-off suite: ${((Date.now() - started) / 1000).toFixed(1)} s\n`)
    // No value in any output of the CLI, any file of the work trees, or any log on the way.
    expectNoCanary(outputs.flatMap((output) => [output.stdout, output.stderr]), canaries)
    for (const story of stories) for (const file of files(story.repository.workTree)) expect(leaked(readFileSync(file), canaries)).toEqual([])
    const logs = [flux?.sourceController.logFile, flux?.kustomizeController.logFile, gitServer?.process.logFile].filter((log): log is string => Boolean(log))
    for (const log of logs) expect(leaked(readFileSync(log), canaries)).toEqual([])
  }, 180_000)

  test('Flux applied every SOPS source: the manifest Secret, the generators\' Secrets under hashed names, and the Deployment referencing them', async () => {
    for (const story of [handoff, control]) {
      const generated = await generatedSecretNames(story)
      for (const name of Object.values(generated)) expect(name).toMatch(/-[a-z0-9]{10}$/)
      // Under the names Flux applied them: the manifest's as written, each generator's hashed.
      for (const [name, values] of Object.entries(secretsOf(story))) await expectSecretValues(story.namespace, generated[name] ?? name, values)
      const db = await kube.getSecret(story.namespace, 'db-credentials')
      expect(db?.labels['kustomize.toolkit.fluxcd.io/name']).toBe(APPS)
      const deployment = await kube.read('apps/v1', 'Deployment', 'grafana', story.namespace)
      const references = secretReferences(deployment!)
      expect(references.map((reference) => reference.secret).sort()).toEqual(['db-credentials', ...Object.values(generated)].sort())
      expect(await unresolved(kube, story.namespace, references)).toEqual([])
    }
  })

  test('negative control: the SOPS files removed by a plain commit (no hand-off) make Flux delete the Secrets and break the Deployment', async () => {
    const generated = await generatedSecretNames(control)
    // What an operator does by hand after "remove the SOPS files": git rm them and their kustomization.yaml entries.
    const removal = control.repository.commit(
      {
        'apps/db-credentials.sops.yaml': null,
        'apps/grafana.env': null,
        'apps/ca.crt.enc': null,
        '.sops.yaml': null,
        'apps/kustomization.yaml': stringify({apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', namespace: control.namespace, resources: ['deployment.yaml']}),
      },
      'remove the SOPS files',
    )
    await requestReconcile(kube, ref(control.namespace, 'GitRepository', SOURCE))
    await waitForRevision(control, removal)
    // Pruning happens before the revision is recorded as applied.
    for (const name of ['db-credentials', ...Object.values(generated)]) expect(await kube.getSecret(control.namespace, name)).toBeUndefined()
    const deployment = await kube.read('apps/v1', 'Deployment', 'grafana', control.namespace)
    expect((await unresolved(kube, control.namespace, secretReferences(deployment!))).sort()).toEqual(
      [
        `container grafana envFrom: Secret ${GENERATOR} does not exist`,
        'container grafana env GF_DATABASE_PASSWORD: Secret db-credentials does not exist',
        `volume ca: Secret ${FILE_GENERATOR} does not exist`,
      ].sort(),
    )
  }, STORY_TIMEOUT_MS)

  test('migrate sops takes over the Secrets Flux applied; migrate verify exits 0', async () => {
    const {namespace, repository} = handoff
    const migrated = await cli(['migrate', 'sops', repository.workTree, '--namespace', namespace, '--yes', '--json'])
    expect(migrated.stderr).toBe('')
    expect(migrated.code).toBe(0)
    const report = JSON.parse(migrated.stdout) as {secrets: {namespace: string; name: string}[]}
    expect(report.secrets.map((secret) => secret.name).sort()).toEqual(Object.keys(secretsOf(handoff)).sort())
    expect(report.secrets.every((secret) => secret.namespace === namespace)).toBe(true)
    // Every Secret under the name the Deployment will use once the generators are gone, with the values Flux decrypted.
    for (const [name, values] of Object.entries(secretsOf(handoff))) await expectSecretValues(namespace, name, values)
    // Flux may no longer prune what it applied; the previous owner is recorded.
    const db = await kube.getSecret(namespace, 'db-credentials')
    expect(db?.annotations['kustomize.toolkit.fluxcd.io/prune']).toBe('disabled')
    expect(db?.annotations['secrets-toolkit.io/previous-owner']).toContain(`${namespace}/${APPS}`)

    // Until the hand-off is merged, Flux keeps applying the SOPS files: a reconcile of the same revision re-applies
    // the Secrets (forcing its fields back) and must leave the protection, which is not in Git, alone.
    const requestedAt = await requestReconcile(kube, ref(namespace, 'Kustomization', APPS))
    await waitForFluxReady(kube, ref(namespace, 'Kustomization', APPS), {
      controllers: flux,
      accept: (object) => (object.status?.lastHandledReconcileAt === requestedAt ? undefined : `reconcile requested at ${requestedAt} not handled yet`),
    })
    const reapplied = await kube.getSecret(namespace, 'db-credentials')
    expect(reapplied?.annotations['kustomize.toolkit.fluxcd.io/prune']).toBe('disabled')
    expect(reapplied?.labels['kustomize.toolkit.fluxcd.io/name']).toBe(APPS)

    const verify = await cli(['migrate', 'verify', '--namespace', namespace, '--wait', '2m', '--json'])
    const rows = (JSON.parse(verify.stdout) as {rows: {status: string}[]}).rows
    expect(rows.filter((row) => row.status !== 'in-sync')).toEqual([])
    expect(verify.code).toBe(0)
  }, STORY_TIMEOUT_MS)

  test('migrate finish commits the hand-off; Flux reconciles it and every Secret survives with its values; no SOPS file is left at HEAD', async () => {
    const {namespace, repository} = handoff
    const expected = secretsOf(handoff)
    const sopsFiles = ['apps/ca.crt.enc', 'apps/db-credentials.sops.yaml', 'apps/grafana.env']
    const branch = `secrets-toolkit/handoff-${run}`
    const before = repository.git(['rev-parse', 'HEAD'])
    const generated = await generatedSecretNames(handoff)

    // --dry-run: the plan and the diff, and nothing touched.
    const dryRun = await cli(['migrate', 'finish', repository.workTree, '--namespace', namespace, '--dry-run'], {cwd: repository.workTree})
    expect(dryRun.code).toBe(0)
    for (const path of [...sopsFiles, 'apps/kustomization.yaml', 'clusters/test/apps.yaml', '.sops.yaml']) expect(dryRun.stdout).toContain(path)
    expect(repository.git(['rev-parse', 'HEAD'])).toBe(before)
    expect(repository.git(['status', '--porcelain', '--untracked-files=all'])).toBe('')

    const finished = await cli(['migrate', 'finish', repository.workTree, '--namespace', namespace, '--branch', branch, '--yes'], {cwd: repository.workTree})
    expect(finished.code).toBe(0)
    expect(repository.git(['rev-parse', '--abbrev-ref', 'HEAD'])).toBe(branch)
    expect(repository.git(['status', '--porcelain', '--untracked-files=all'])).toBe('')
    const handedOff = repository.git(['rev-parse', 'HEAD'])
    expect(repository.git(['rev-parse', `${handedOff}^`])).toBe(before)
    // One reviewable commit: the SOPS files and .sops.yaml go, the kustomization and the Flux Kustomization change,
    // one PushSecret manifest per Secret comes; nothing else (deployment.yaml is untouched).
    const changes = repository.git(['diff', '--name-status', '--no-renames', before, handedOff]).split('\n')
    expect(changes.filter((line) => !line.startsWith('A\t')).sort()).toEqual(
      [...sopsFiles.map((file) => `D\t${file}`), 'D\t.sops.yaml', 'M\tapps/kustomization.yaml', 'M\tclusters/test/apps.yaml'].sort(),
    )
    const added = changes.filter((line) => line.startsWith('A\t'))
    expect(added).toHaveLength(Object.keys(expected).length)
    expect(added.every((line) => /\.ya?ml$/.test(line))).toBe(true)
    // It names the cluster Secret that held the decryption key, to retire after the reconcile.
    expect(finished.stdout).toContain('sops-age')

    // The branch becomes what Flux follows (the review merged it), and Flux applies it.
    repository.git(['push', '--quiet', 'origin', `${branch}:main`])
    const reconcileStarted = Date.now()
    await requestReconcile(kube, ref(namespace, 'GitRepository', SOURCE))
    const apps = await waitForRevision(handoff, handedOff)
    process.stderr.write(`Flux reconciled the hand-off in ${((Date.now() - reconcileStarted) / 1000).toFixed(1)} s\n`)
    expect(apps.spec?.decryption).toBeUndefined()

    // Every Secret is still there with its values, under the names the Deployment now uses (the generators' unhashed).
    for (const [name, values] of Object.entries(expected)) await expectSecretValues(namespace, name, values)
    const deployment = await kube.read('apps/v1', 'Deployment', 'grafana', namespace)
    const references = secretReferences(deployment!)
    expect(references.map((reference) => reference.secret).sort()).toEqual(Object.keys(expected).sort())
    expect(await unresolved(kube, namespace, references)).toEqual([])
    // The generators' hashed Secrets, which nothing references any more, are pruned (the runbook says to expect it).
    for (const hashed of Object.values(generated)) {
      expect(references.map((reference) => reference.secret)).not.toContain(hashed)
      expect(await kube.getSecret(namespace, hashed)).toBeUndefined()
    }

    // The PushSecrets now come from Git (Flux applies them) and are Ready; both Vaults hold the values.
    const wantedPushSecrets = Object.keys(expected).map((name) => `${name}:True:${APPS}`).sort().join()
    await waitFor('every PushSecret to be Ready and applied by Flux', async () => {
      const pushSecrets = await kube.list(PUSH_SECRET_API_VERSION, 'PushSecret', {namespace})
      const state = pushSecrets.map((object) => `${object.metadata?.name}:${readyCondition(object)?.status}:${object.metadata?.labels?.['kustomize.toolkit.fluxcd.io/name']}`)
      return state.sort().join() === wantedPushSecrets ? true : undefined
    }, {timeoutMs: 120_000})
    for (const vault of vaults) {
      for (const [name, values] of Object.entries(expected)) {
        const stored = await vault.store.read(`${namespace}/${name}`)
        expect([...(stored?.data.keys() ?? [])].sort()).toEqual(Object.keys(values).sort())
        for (const [key, wanted] of Object.entries(values)) expect(stored!.data.get(key)!.equals(SecretValue.fromString(wanted))).toBe(true)
      }
    }
    const verify = await cli(['migrate', 'verify', '--namespace', namespace, '--wait', '2m'])
    expect(verify.code).toBe(0)

    // git scan still finds the SOPS files in history (exit 1) — and none of them, nor a .sops.yaml, at HEAD.
    const scan = await cli(['git', 'scan', repository.workTree, '--json'])
    expect(scan.code).toBe(1)
    const report = JSON.parse(scan.stdout) as {sopsBlobs: {blob: string; paths: string[]}[]; sopsConfigs: {blob: string; paths: string[]}[]}
    expect(report.sopsBlobs.flatMap((blob) => blob.paths).sort()).toEqual(sopsFiles)
    expect(report.sopsConfigs.flatMap((config) => config.paths)).toEqual(['.sops.yaml'])
    const atHead = new Set(repository.git(['ls-tree', '-r', '--object-only', 'HEAD']).split('\n'))
    expect([...report.sopsBlobs, ...report.sopsConfigs].filter((finding) => atHead.has(finding.blob))).toEqual([])
  }, STORY_TIMEOUT_MS)
})
