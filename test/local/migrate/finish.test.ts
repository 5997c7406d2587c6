import {createHash} from 'node:crypto'
import {readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join, relative} from 'node:path'

import {outputSchemas} from '../../../src/lib/cli/output-schemas.js'
import {parseConfig} from '../../../src/lib/config/load.js'
import {MANAGED_BY_LABEL, MANAGED_BY_VALUE} from '../../../src/lib/eso/push-secret.js'
import {runFinish, type FinishRequest} from '../../../src/lib/migrate/finish.js'
import {loadMappingFile} from '../../../src/lib/migrate/mapping.js'
import type {MigrateFinishJson} from '../../../src/lib/migrate/output-schema.js'
import type {VerifyReport} from '../../../src/lib/migrate/verify.js'
import {decryptSopsFile} from '../../../src/lib/sops/decrypt.js'
import {canary, expectNoLeak} from '../../helpers/canary.js'
import {runCli} from '../../helpers/cli.js'
import {newAgeKey, sopsEncrypt, type AgeKey} from '../../helpers/sops-files.js'
import {commitAll, DEMO_KEY_FILE, EXAMPLE_REPO, exampleRepo, freshCloneOf, newRepo, sh, workDir, write} from '../git/hardening-fixtures.js'

/** Every file of the working tree (not .git) with the SHA-256 of its bytes, plus git status: what "changes nothing" compares. */
function snapshot(repo: string): {files: Record<string, string>; status: string; head: string; branch: string} {
  const files: Record<string, string> = {}
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, {withFileTypes: true})) {
      if (entry.name === '.git') continue
      const path = join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else files[relative(repo, path)] = createHash('sha256').update(readFileSync(path)).digest('hex')
    }
  }
  walk(repo)
  return {files, status: sh(repo, 'status', '--porcelain', '--untracked-files=all'), head: sh(repo, 'rev-parse', 'HEAD'), branch: sh(repo, 'branch', '--show-current')}
}

const CONFIG = `regions:
  - name: region1
    clusterSecretStore: vault-region1
    vault: {address: https://vault.region1.example.com:8200, mount: secret, auth: {method: token}}
  - name: region2
    clusterSecretStore: vault-region2
    vault: {address: https://vault.region2.example.com:8200, mount: secret, auth: {method: token}}
`

const IDENTITY = {GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com'}

/** What a passing `migrate verify` returns: the real one needs the cluster and the Vaults (test/integration/flux/handoff.test.ts runs it). */
const PASSING: VerifyReport = {secrets: 1, rows: [], counts: {'in-sync': 1}, inSync: true, completeness: {basis: ['source'], proven: true, runRecords: [], missing: []}, verifiedSources: []}

describe('migrate finish --dry-run on the bundled example (a Flux repository)', () => {
  const work = workDir('finish-example-')
  afterAll(() => work.cleanup())

  it('plans every edit of the hand-off, prints the diff, and changes nothing', async () => {
    const repo = exampleRepo(join(work.dir, 'repo'))
    const before = snapshot(repo)
    const run = await runCli(['migrate', 'finish', '.', '--config', 'secrets-toolkit.yaml', '--mapping', 'mapping.yaml', '--dry-run', '--json'], {cwd: repo, env: {SOPS_AGE_KEY_FILE: DEMO_KEY_FILE}})
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    const output = JSON.parse(run.stdout) as MigrateFinishJson
    outputSchemas['migrate-finish'].parse(output)
    expect(snapshot(repo)).toEqual(before)
    expect(output.blockers).toEqual([])
    expect(Object.fromEntries(output.changes.map((change) => [change.path, change.action]))).toEqual({
      '.sops.yaml': 'delete',
      'clusters/flux-system/apps.yaml': 'modify',
      'clusters/prod/ingress/basic-auth.pushsecret.yaml': 'create',
      'clusters/prod/ingress/cloudflare-origin.pushsecret.yaml': 'create',
      'clusters/prod/ingress/kustomization.yaml': 'modify',
      'clusters/prod/ingress/secrets.yaml': 'delete',
      'clusters/prod/monitoring/grafana-admin.pushsecret.yaml': 'create',
      'clusters/prod/monitoring/grafana.env': 'delete',
      'clusters/prod/monitoring/kustomization.yaml': 'modify',
      'clusters/prod/payments/api.enc.json': 'delete',
      'clusters/prod/payments/db-credentials.pushsecret.yaml': 'create',
      'clusters/prod/payments/db-credentials.sops.yaml': 'delete',
      'clusters/prod/payments/kustomization.yaml': 'modify',
      'clusters/prod/payments/payments-api.pushsecret.yaml': 'create',
    })
    expect(output.changes.some((change) => change.reformatted)).toBe(false)
    expect(output.generators).toEqual([
      {generator: 'grafana-admin', kustomization: 'clusters/prod/monitoring/kustomization.yaml', secret: 'monitoring/grafana-admin', hashSuffix: true, workloads: ['Deployment monitoring/grafana (envFrom, clusters/prod/monitoring/deployment.yaml)']},
    ])
    expect(output.decryption).toEqual([{kustomization: 'flux-system/apps', file: 'clusters/flux-system/apps.yaml', keySecret: 'flux-system/sops-age'}])

    // The same run as a person reads it: the plan, the diff (never a deleted file's ciphertext), no value.
    const human = await runCli(['migrate', 'finish', '.', '--config', 'secrets-toolkit.yaml', '--mapping', 'mapping.yaml', '--dry-run'], {cwd: repo, env: {SOPS_AGE_KEY_FILE: DEMO_KEY_FILE}})
    expect(human.code).toBe(0)
    expect(human.stdout).toContain('-  decryption:\n-    provider: sops')
    expect(human.stdout).toContain('Deployment monitoring/grafana (envFrom, clusters/prod/monitoring/deployment.yaml) → resolves to Secret monitoring/grafana-admin')
    expect(human.stdout).toContain('Its key Secret flux-system/sops-age can be deleted after the next reconcile.')
    expect(human.stdout).not.toContain('ENC[AES256_GCM')
    const values: Record<string, string> = {}
    for (const file of ['clusters/prod/payments/db-credentials.sops.yaml', 'clusters/prod/monitoring/grafana.env']) {
      const decrypted = await decryptSopsFile(join(EXAMPLE_REPO, file), {ageKeys: [readFileSync(DEMO_KEY_FILE, 'utf8').split('\n').find((line) => line.startsWith('AGE-SECRET-KEY-'))!], engine: 'builtin'})
      const leaves = JSON.stringify(decrypted.documents)
      for (const match of leaves.matchAll(/"(username|password|GF_SECURITY_ADMIN_PASSWORD)":"([^"]+)"/g)) values[`${file}:${match[1]}`] = match[2]
    }
    expect(Object.keys(values).length).toBeGreaterThanOrEqual(3)
    expectNoLeak(`${human.stdout}${human.stderr}${run.stdout}`, values, 'migrate finish --dry-run output')
    expect(snapshot(repo)).toEqual(before)
  }, 180_000)
})

/**
 * Another layout: a base and a prod overlay (the overlay's kustomization sets
 * the namespace and lists `../../base`), a secretGenerator with a binary SOPS
 * file under files:, two Flux Kustomizations in one file (only one of them
 * applies the migrated overlay), a staging tree that stays encrypted, and two
 * .sops.yaml files: the root one has a rule that still matches staging's
 * file (kept); the overlay's matches nothing afterwards (removed).
 */
async function fluxRepo(dir: string, key: AgeKey, values: {dbPassword: string; tlsKey: string; staging: string}): Promise<string> {
  newRepo(dir)
  write(dir, '.sops.yaml', `# rules for the whole repository
creation_rules:
  - path_regex: clusters/staging/.*\\.yaml$
    encrypted_regex: ^(data|stringData)$
    age: ${key.recipient}
  - path_regex: apps/.*
    age: ${key.recipient}
`)
  write(dir, 'clusters/flux-system/apps.yaml', `---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: shop-prod
  namespace: flux-system
spec:
  interval: 5m
  path: ./apps/overlays/prod
  prune: true
  decryption:
    provider: sops
    secretRef:
      name: sops-age   # the age key Flux decrypts with
  sourceRef: {kind: GitRepository, name: flux-system}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: staging
  namespace: flux-system
spec:
  interval: 5m
  path: ./clusters/staging
  prune: true
  decryption:
    provider: sops
    secretRef:
      name: sops-age-staging
  sourceRef: {kind: GitRepository, name: flux-system}
`)
  write(dir, 'clusters/staging/kustomization.yaml', 'resources:\n  - legacy.sops.yaml\n')
  write(dir, 'clusters/staging/legacy.sops.yaml', sopsEncrypt(`apiVersion: v1\nkind: Secret\nmetadata:\n  name: legacy\n  namespace: staging\nstringData:\n  token: ${values.staging}\n`, {recipient: key.recipient, type: 'yaml', encryptedRegex: '^(data|stringData)$'}))
  write(dir, 'apps/base/kustomization.yaml', 'resources:\n- deployment.yaml\n')
  write(dir, 'apps/base/deployment.yaml', `apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
spec:
  selector: {matchLabels: {app: shop}}
  template:
    metadata: {labels: {app: shop}}
    spec:
      containers:
        - name: shop
          image: shop:1
          env:
            - name: DB_PASSWORD
              valueFrom: {secretKeyRef: {name: db, key: password}}
      volumes:
        - name: tls
          secret: {secretName: tls-bundle}
`)
  write(dir, 'apps/overlays/prod/.sops.yaml', `creation_rules:\n  - age: ${key.recipient}\n`)
  write(dir, 'apps/overlays/prod/kustomization.yaml', `# prod overlay: the shop in its own namespace
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: shop
resources:
- ../../base
- secrets/db.sops.yaml    # SOPS, decrypted by Flux
secretGenerator:
- name: tls-bundle
  files:
  - tls.key=certs/tls.key.enc
generatorOptions:
  labels:
    team: shop   # on every generated Secret
`)
  write(dir, 'apps/overlays/prod/secrets/db.sops.yaml', sopsEncrypt(`apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: ${values.dbPassword}\n`, {recipient: key.recipient, type: 'yaml', encryptedRegex: '^(data|stringData)$'}))
  write(dir, 'apps/overlays/prod/certs/tls.key.enc', sopsEncrypt(values.tlsKey, {recipient: key.recipient, type: 'binary'}))
  commitAll(dir, 'the shop, encrypted')
  return dir
}

describe('migrate finish on a Flux repository of another layout', () => {
  const work = workDir('finish-flux-')
  afterAll(() => work.cleanup())
  let key: AgeKey
  const values = {dbPassword: canary('db-password'), tlsKey: canary('tls-key'), staging: canary('staging-token')}
  const configFile = () => join(work.dir, 'secrets-toolkit.yaml')
  const env = () => ({SOPS_AGE_KEY: key.identity, ...IDENTITY})

  beforeAll(async () => {
    key = await newAgeKey()
    writeFileSync(configFile(), CONFIG)
  })

  function request(repo: string, extra: Partial<FinishRequest> = {}): FinishRequest {
    return {
      plan: {
        paths: ['apps/overlays/prod'],
        cwd: repo,
        regions: parseConfig(CONFIG, 'test').regions,
        decrypt: {engine: 'builtin', ageKeys: [key.identity]},
        mapping: {cwd: repo},
        push: {remoteKeyTemplate: '{namespace}/{name}', deletionPolicy: 'None', refreshInterval: '1h', labels: {[MANAGED_BY_LABEL]: MANAGED_BY_VALUE}},
        continueOnError: false,
        concurrency: 4,
      },
      dir: 'apps/overlays/prod',
      dryRun: false,
      branch: 'secrets-toolkit/migrate-test',
      commit: true,
      ...extra,
    }
  }

  it('--dry-run plans every edit and changes nothing', async () => {
    const repo = await fluxRepo(join(work.dir, 'dry'), key, values)
    const before = snapshot(repo)
    const run = await runCli(['migrate', 'finish', 'apps/overlays/prod', '--config', configFile(), '--dry-run', '--json'], {cwd: repo, env: env()})
    expect(run.code).toBe(0)
    const output = JSON.parse(run.stdout) as MigrateFinishJson
    outputSchemas['migrate-finish'].parse(output)
    expect(snapshot(repo)).toEqual(before)
    expect(Object.fromEntries(output.changes.map((change) => [change.path, change.action]))).toEqual({
      'apps/overlays/prod/.sops.yaml': 'delete',
      'apps/overlays/prod/certs/tls.key.enc': 'delete',
      'apps/overlays/prod/db.pushsecret.yaml': 'create',
      'apps/overlays/prod/kustomization.yaml': 'modify',
      'apps/overlays/prod/secrets/db.sops.yaml': 'delete',
      'apps/overlays/prod/tls-bundle.pushsecret.yaml': 'create',
      'clusters/flux-system/apps.yaml': 'modify',
    })
    expect(output.generators).toEqual([
      {generator: 'tls-bundle', kustomization: 'apps/overlays/prod/kustomization.yaml', secret: 'shop/tls-bundle', hashSuffix: true, workloads: ['Deployment shop/shop (volume, apps/base/deployment.yaml)']},
    ])
    expect(output.decryption).toEqual([{kustomization: 'flux-system/shop-prod', file: 'clusters/flux-system/apps.yaml', keySecret: 'flux-system/sops-age'}])
    expect(output.sopsConfigsKept).toEqual([{path: '.sops.yaml', reason: 'a creation rule still matches clusters/staging/legacy.sops.yaml, which stays encrypted'}])
    expectNoLeak(run.stdout + run.stderr, values, 'migrate finish --dry-run')
  }, 180_000)

  it('the real run commits exactly the planned edits on a new branch, keeps comments and every other byte, and never pushes', async () => {
    const repo = await fluxRepo(join(work.dir, 'real'), key, values)
    const before = snapshot(repo)
    const said: string[] = []
    const output = await runFinish(request(repo), {say: (text) => said.push(text), confirm: async () => undefined, verify: async () => PASSING})
    expect(output.branch).toBe('secrets-toolkit/migrate-test')
    expect(sh(repo, 'branch', '--show-current')).toBe('secrets-toolkit/migrate-test')
    expect(sh(repo, 'rev-parse', 'HEAD~1')).toBe(before.head)
    expect(sh(repo, 'status', '--porcelain', '--untracked-files=all')).toBe('')
    const committed = sh(repo, 'show', '--name-status', '--format=', 'HEAD').split('\n').sort()
    const planned = output.changes.map((change) => `${{delete: 'D', create: 'A', modify: 'M'}[change.action]}\t${change.path}`).sort()
    expect(committed).toEqual(planned)
    // Everything else is byte for byte what it was.
    const after = snapshot(repo)
    for (const [path, hash] of Object.entries(before.files)) if (!output.changes.some((change) => change.path === path)) expect([path, after.files[path]]).toEqual([path, hash])
    expect(readFileSync(join(repo, 'apps/overlays/prod/kustomization.yaml'), 'utf8')).toBe(`# prod overlay: the shop in its own namespace
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: shop
resources:
- ../../base
- db.pushsecret.yaml
- tls-bundle.pushsecret.yaml
generatorOptions:
  labels:
    team: shop   # on every generated Secret
`)
    const flux = readFileSync(join(repo, 'clusters/flux-system/apps.yaml'), 'utf8')
    expect(flux).not.toContain('sops-age   #')
    expect(flux).toContain('name: sops-age-staging')
    expect(statSync(join(repo, '.sops.yaml')).isFile()).toBe(true)
    expect(readFileSync(join(repo, 'apps/overlays/prod/tls-bundle.pushsecret.yaml'), 'utf8')).toContain('remoteKey: shop/tls-bundle')
    expect(sh(repo, 'log', '-1', '--format=%s')).toBe('Hand off 2 migrated Secret(s) from SOPS to ESO PushSecrets')
    expect(sh(repo, 'remote')).toBe('')
    expectNoLeak(said.join('\n'), values, 'migrate finish output')
    expectNoLeak(readFileSync(join(repo, '.git/COMMIT_EDITMSG')), values, 'the commit message')
  }, 180_000)

  it('--no-commit leaves the same change staged on the current branch', async () => {
    const repo = await fluxRepo(join(work.dir, 'staged'), key, values)
    const output = await runFinish(request(repo, {commit: false}), {say: () => undefined, confirm: async () => undefined, verify: async () => PASSING})
    expect(output.staged).toBe(true)
    expect(output.commit).toBeUndefined()
    expect(sh(repo, 'branch', '--show-current')).toBe('main')
    expect(sh(repo, 'diff', '--cached', '--name-only').split('\n').sort()).toEqual(output.changes.map((change) => change.path).sort())
  }, 180_000)

  it('a verification that does not pass changes nothing (exit 1 in the command)', async () => {
    const repo = await fluxRepo(join(work.dir, 'unverified'), key, values)
    const before = snapshot(repo)
    const failing: VerifyReport = {...PASSING, inSync: false, counts: {'still-prunable': 1}}
    const output = await runFinish(request(repo), {say: () => undefined, confirm: async () => undefined, verify: async () => failing})
    expect(output.verification).toEqual({inSync: false, proven: true, counts: {'still-prunable': 1}})
    expect(snapshot(repo)).toEqual(before)
  }, 180_000)

  it('refuses a dirty tree and a shallow clone before contacting anything (exit 2), changing nothing', async () => {
    const repo = await fluxRepo(join(work.dir, 'dirty'), key, values)
    write(repo, 'apps/base/deployment.yaml', `${readFileSync(join(repo, 'apps/base/deployment.yaml'), 'utf8')}# local edit\n`)
    const dirty = snapshot(repo)
    const refused = await runCli(['migrate', 'finish', 'apps/overlays/prod', '--config', configFile(), '--yes'], {cwd: repo, env: env()})
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain('uncommitted change(s)')
    expect(snapshot(repo)).toEqual(dirty)

    const shallow = freshCloneOf(await fluxRepo(join(work.dir, 'deep'), key, values), join(work.dir, 'shallow'), ['--depth', '1'])
    commitAll(shallow, 'a second commit on the shallow clone')
    const before = snapshot(shallow)
    const cut = await runCli(['migrate', 'finish', 'apps/overlays/prod', '--config', configFile(), '--yes'], {cwd: shallow, env: env()})
    expect(cut.code).toBe(2)
    expect(cut.stderr).toContain('shallow clone')
    expect(snapshot(shallow)).toEqual(before)
    expectNoLeak(refused.stdout + refused.stderr + cut.stdout + cut.stderr, values, 'refusals')
  }, 240_000)
})

// The mapping file of the example applies as migrate sops applies it.
test('the example mapping loads', () => {
  expect(loadMappingFile(join(EXAMPLE_REPO, 'mapping.yaml')).directories.length).toBeGreaterThan(0)
})
