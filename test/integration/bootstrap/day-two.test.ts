// Bootstrap after day one, on the real environment (kube-apiserver, ESO, the
// two regions, and a third Vault started here): a region added to the
// configuration, a store that is missing or cannot write, a wait that fails
// and the command it advises, rotations to fewer keys, a stale property
// planted by hand, and the rotation of a value ESO generates. Every output is
// scanned for the canary values.
import {execFileSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {parseAllDocuments} from 'yaml'

import {loadConfig} from '../../../src/lib/config/load.js'
import {PUSH_SECRET_API_VERSION} from '../../../src/lib/eso/api.js'
import type {KubeObject} from '../../../src/lib/kube/client.js'
import {SecretValue} from '../../../src/lib/secret/secret-value.js'
import {connectRegion} from '../../../src/lib/vault/connect.js'
import {applyClusterSecretStore} from '../../env/eso.js'
import {sleep} from '../../env/net.js'
import {PROJECT_ROOT} from '../../helpers/binaries.js'
import {expectNoLeak, expectNoLeakInFiles} from '../../helpers/canary.js'
import {writeConfig} from '../../helpers/config.js'
import {testEnv} from '../../helpers/env.js'
import {startVaultServer, type VaultServerHandle} from '../../helpers/vault-server.js'
import {newAgeKey, sopsEncrypt} from '../../helpers/sops-files.js'
import {builtCli, canary, cliEnv, expectVaultsHold, kube, runBuiltCli, secretStrings, testDir, uniqueName, writeSpec} from './fixture.js'
import {requireTmux, TerminalSession} from './terminal.js'

const env = testEnv()
/** etcd stores Secrets as Kubernetes hands them over: a destination, like the Vaults. */
const DESTINATIONS = [join(env.workDir, 'etcd')]

function cli(args: string[], options: {input?: string; env?: NodeJS.ProcessEnv} = {}) {
  return runBuiltCli(args, {env: {...cliEnv(), ...options.env}, input: options.input ?? ''})
}

/** What a Vault holds at a path, as strings (test side only). */
async function vaultStrings(config: string, tokens: NodeJS.ProcessEnv, regionName: string, path: string): Promise<Record<string, string> | undefined> {
  const region = loadConfig({path: config}).config.regions.find((candidate) => candidate.name === regionName)!
  const vault = await connectRegion(region, {env: {...cliEnv(), ...tokens}})
  try {
    const record = await vault.store.read(path)
    return record ? Object.fromEntries([...record.data].map(([key, value]) => [key, value.revealString()])) : undefined
  } finally {
    await vault.close()
  }
}

async function waitUntil<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(500)
  }
}

async function storeReady(name: string): Promise<void> {
  await waitUntil(`ClusterSecretStore ${name} Ready`, async () => {
    const store = await kube().read('external-secrets.io/v1', 'ClusterSecretStore', name)
    const ready = ((store?.status?.conditions as {type: string; status: string}[] | undefined) ?? []).find((condition) => condition.type === 'Ready')
    return ready?.status === 'True' ? true : undefined
  })
}

/** A token that may read but not write the KV mount: ESO's store is Ready with it, but every push fails. */
async function readOnlyToken(server: VaultServerHandle): Promise<string> {
  const call = async (path: string, method: string, body: unknown) => {
    const response = await fetch(`${server.address}/v1/${path}`, {method, headers: {'X-Vault-Token': server.token!}, body: JSON.stringify(body)})
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status}`)
    return response.status === 204 ? undefined : response.json()
  }
  await call('sys/policies/acl/read-only', 'PUT', {policy: 'path "secret/*" { capabilities = ["read", "list"] }'})
  const created = (await call('auth/token/create', 'POST', {policies: ['read-only']})) as {auth: {client_token: string}}
  return created.auth.client_token
}

describe('secrets bootstrap after day one (real kube-apiserver, ESO, two regions and a third one)', () => {
  let third: VaultServerHandle
  beforeAll(async () => {
    builtCli()
    requireTmux()
    third = await startVaultServer({initialize: true, name: uniqueName('region3')})
  })
  afterAll(async () => {
    await third?.stop()
  })

  test('a third region: a missing store is reported before the first prompt; a store that cannot write makes the wait a failed stage whose advice, run once the store is fixed, fills the new region', async () => {
    const started = Date.now()
    const dir = testDir('third-region')
    const namespace = uniqueName('bs-third')
    const values = {api: canary('third-api'), dns: canary('third-dns'), zone: canary('third-zone')}
    const spec = writeSpec(
      dir,
      `secrets:
  - namespace: ${namespace}
    name: api
    keys: [{key: token, prompt: API token}]
  - namespace: ${namespace}
    name: dns
    keys:
      - {key: token, prompt: DNS token}
      - {key: zone, prompt: Zone, validate: {required: false}}
`,
    )
    // Day one: two regions.
    const first = await cli(['bootstrap', '--config', env.configPath, '--spec', spec, '--values-from-stdin', '--yes'], {
      input: JSON.stringify({[`${namespace}/api`]: {token: values.api}, [`${namespace}/dns`]: {token: values.dns, zone: values.zone}}),
    })
    expect({code: first.code, stderr: first.stderr}).toEqual({code: 0, stderr: expect.any(String)})

    // Day two: a third region in the configuration, its ClusterSecretStore not created yet.
    const r3 = uniqueName('rthree')
    const regions = env.regions.map((region) => ({name: region.name, address: region.address, token: region.token}))
    const {config, env: tokens} = writeConfig(dir, [...regions, {name: r3, address: third.address, token: third.token!}])
    const store3 = `vault-${r3}`

    // The wizard in a terminal stops before its first question, naming the store.
    const term = TerminalSession.start([process.execPath, builtCli(), 'bootstrap', '--config', config, '--spec', spec, '--rotate', `${namespace}/api`], {
      dir,
      name: 'preflight',
      env: {...cliEnv(), ...tokens},
      cwd: PROJECT_ROOT,
    })
    try {
      const code = await term.waitExit()
      const screen = term.screen()
      expect({code, screen}).toEqual({code: 2, screen: expect.stringContaining(`ClusterSecretStore ${store3} (region ${r3}) does not exist`)})
      expect(screen).toContain('before anything was asked')
      expect(screen).not.toContain('token: API token')
      expect(screen).not.toContain('Type each value')
    } finally {
      term.close()
    }

    // The store exists, with a token that may read but not write: Ready, but ESO cannot push to it.
    await applyClusterSecretStore(kube(), {storeName: store3, address: third.address, mount: 'secret', token: await readOnlyToken(third)})
    await storeReady(store3)
    const dryRun = await cli(['bootstrap', '--config', config, '--spec', spec, '--dry-run'], {env: tokens})
    expect(dryRun.code).toBe(1)
    expect(dryRun.stdout).toMatch(new RegExp(`${namespace}/api .*update PushSecret: add ${store3}`))
    expect(dryRun.stdout).toMatch(new RegExp(`${namespace}/dns .*update PushSecret: add ${store3}`))
    expect(dryRun.stdout).toContain('2 secret(s) would be written')

    const failing = await cli(['bootstrap', '--config', config, '--spec', spec, '--values-from-stdin', '--yes', '--wait-timeout', '15'], {env: tokens})
    expect({code: failing.code}).toEqual({code: 1})
    const pushSecret = (await kube().read(PUSH_SECRET_API_VERSION, 'PushSecret', 'api', namespace)) as KubeObject
    expect((pushSecret.spec!.secretStoreRefs as {name: string}[]).map((ref) => ref.name)).toEqual([...env.regions.map((region) => region.clusterSecretStore), store3])
    // A failed stage (not a ✔), the per-region table, and a command to run.
    expect(failing.stderr).toMatch(/✖.*2 of 6 \(secret, region\) pairs are not in sync/)
    expect(failing.stdout).toMatch(new RegExp(`${namespace}/api\\s+${namespace}/api\\s+in sync\\s+in sync\\s+missing`))
    const advice = /then run:\n\s+(secrets bootstrap .*)\n/.exec(failing.stdout)?.[1]
    expect(advice).toContain('--values-from-stdin --yes </dev/null')
    // Progress goes to a plain log on change, not once per second.
    const progress = failing.stderr.split('\n').filter((line) => /in sync$/.test(line.trim()))
    expect(progress.length).toBeLessThanOrEqual(3)

    // The store gets a token that may write; the advised command, as printed, fills the new region.
    await applyClusterSecretStore(kube(), {storeName: store3, address: third.address, mount: 'secret', token: third.token!})
    await storeReady(store3)
    const runAdvice = () =>
      execFileSync('sh', ['-c', `${advice!.replace(/^secrets /, `"${process.execPath}" "${builtCli()}" `)}; echo "exit=$?"`], {
        env: {...cliEnv(), ...tokens},
        cwd: PROJECT_ROOT,
        encoding: 'utf8',
        timeout: 240_000,
      })
    // ESO may have retried the failed push by itself meanwhile: either way the command ends with every value everywhere.
    const shell = runAdvice()
    expect(shell).toContain('hold every value')
    expect(shell).toContain('exit=0')
    // A region that lost a value (deleted by hand here) gets it back from the same command, through a re-push.
    const lost = await connectRegion(loadConfig({path: config}).config.regions[2], {env: {...cliEnv(), ...tokens}})
    await lost.store.delete(`${namespace}/api`).finally(() => lost.close())
    const again = runAdvice()
    expect(again).toMatch(new RegExp(`${namespace}/api .*re-push \\(the Secret exists\\): ${r3}: missing`))
    expect(again).toContain('exit=0')
    expect(await vaultStrings(config, tokens, r3, `${namespace}/api`)).toEqual({token: values.api})
    expect(await vaultStrings(config, tokens, r3, `${namespace}/dns`)).toEqual({token: values.dns, zone: values.zone})
    expectNoLeak(first.stdout + first.stderr + dryRun.stdout + dryRun.stderr + failing.stdout + failing.stderr + shell + again, values, 'the CLI output')
    expectNoLeakInFiles(started, values, [...DESTINATIONS, third.dataDir])
  })

  test('migrate sops re-run with a third region in the configuration updates the PushSecrets and fills the new region (migrate verify: 0 over three regions)', async () => {
    const dir = testDir('migrate-third')
    const namespace = uniqueName('mig-third')
    const values = {password: canary('mig-third-password')}
    const key = await newAgeKey()
    const keyFile = join(dir, 'age-key.txt')
    writeFileSync(keyFile, `${key.identity}\n`, {mode: 0o600})
    // Outside the project: discovery honours .gitignore, and test-output/ is ignored.
    const tree = join(mkdtempSync(join(tmpdir(), 'secrets-day-two-')), 'gitops')
    mkdirSync(join(tree, 'apps'), {recursive: true})
    writeFileSync(
      join(tree, 'apps', 'db.sops.yaml'),
      sopsEncrypt(`apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: ${namespace}}\nstringData: {password: ${values.password}}\n`, {
        recipient: key.recipient,
        type: 'yaml',
        encryptedRegex: '^(data|stringData)$',
      }),
    )
    const sopsEnv = {SOPS_AGE_KEY_FILE: keyFile}
    const first = await cli(['migrate', 'sops', tree, '--config', env.configPath, '--create-namespaces', '--yes'], {env: sopsEnv})
    expect({code: first.code, stderr: first.stderr}).toEqual({code: 0, stderr: expect.any(String)})
    expect(first.stdout).toContain(`${namespace}/db`)

    const r3 = uniqueName('rmig')
    const regions = env.regions.map((region) => ({name: region.name, address: region.address, token: region.token}))
    const {config, env: tokens} = writeConfig(dir, [...regions, {name: r3, address: third.address, token: third.token!}])
    await applyClusterSecretStore(kube(), {storeName: `vault-${r3}`, address: third.address, mount: 'secret', token: third.token!})
    await storeReady(`vault-${r3}`)
    const before = await cli(['migrate', 'verify', '--config', config, `${namespace}/db`], {env: tokens})
    expect(before.code).toBe(1)
    expect(before.stdout).toContain(`the PushSecret does not push to vault-${r3}`)

    const rerun = await cli(['migrate', 'sops', tree, '--config', config, '--yes'], {env: {...sopsEnv, ...tokens}})
    expect({code: rerun.code, stderr: rerun.stderr}).toEqual({code: 0, stderr: expect.any(String)})
    const verify = await cli(['migrate', 'verify', '--config', config, '--wait', '90s', `${namespace}/db`], {env: tokens})
    expect({code: verify.code, stdout: verify.stdout}).toEqual({code: 0, stdout: expect.stringMatching(new RegExp(`region ${r3}\\s+in-sync`))})
    expect(await vaultStrings(config, tokens, r3, `${namespace}/db`)).toEqual({password: values.password})
    expectNoLeak(first.stdout + first.stderr + before.stdout + rerun.stdout + rerun.stderr + verify.stdout + verify.stderr, values, 'the CLI output')
  })

  test('a rotation to fewer keys leaves no stale property in any Vault; migrate verify flags one planted by hand, and a re-run removes it', async () => {
    const started = Date.now()
    const dir = testDir('fewer-keys')
    const namespace = uniqueName('bs-fewer')
    const values = {user: canary('fewer-user'), old: canary('fewer-old'), next: canary('fewer-next'), planted: canary('fewer-planted')}
    const twoKeys = `secrets:\n  - namespace: ${namespace}\n    name: creds\n    keys:\n      - {key: username, prompt: User}\n      - {key: legacy, prompt: Legacy token}\n`
    const oneKey = `secrets:\n  - namespace: ${namespace}\n    name: creds\n    keys:\n      - {key: username, prompt: User}\n`
    const spec = writeSpec(dir, twoKeys)
    const created = await cli(['bootstrap', '--config', env.configPath, '--spec', spec, '--values-from-stdin', '--yes'], {
      input: JSON.stringify({[`${namespace}/creds`]: {username: values.user, legacy: values.old}}),
    })
    expect(created.code).toBe(0)
    await expectVaultsHold(namespace, 'creds', {username: values.user, legacy: values.old})

    // The spec drops "legacy"; the rotation replaces the Secret, and the Vaults lose the property too.
    writeSpec(dir, oneKey)
    const rotated = await cli(['bootstrap', '--config', env.configPath, '--spec', spec, '--values-from-stdin', '--yes', '--rotate', `${namespace}/creds`], {
      input: JSON.stringify({[`${namespace}/creds`]: {username: values.next}}),
    })
    expect({code: rotated.code, stderr: rotated.stderr}).toEqual({code: 0, stderr: expect.any(String)})
    expect(rotated.stdout).toContain(`removed legacy (the Secret no longer has them; check-and-set)`)
    expect(await secretStrings(namespace, 'creds')).toEqual({username: values.next})
    for (const region of env.regions) expect(await vaultStrings(env.configPath, {}, region.name, `${namespace}/creds`)).toEqual({username: values.next})

    // A property planted by hand in region1 is a difference for migrate verify (exit 1, named) …
    const region1 = loadConfig({path: env.configPath}).config.regions[0]
    const vault = await connectRegion(region1, {env: cliEnv()})
    try {
      const record = (await vault.store.read(`${namespace}/creds`))!
      await vault.store.write(`${namespace}/creds`, new Map([...record.data, ['planted', SecretValue.fromString(values.planted)]]), {cas: record.version})
    } finally {
      await vault.close()
    }
    const verify = await cli(['migrate', 'verify', '--config', env.configPath, `${namespace}/creds`])
    expect(verify.code).toBe(1)
    expect(verify.stdout).toMatch(new RegExp(`${namespace}/creds\\s+region ${region1.name}\\s+stale-property\\s+planted`))
    expect(verify.stdout).toContain(`-remove-data=planted ${namespace}/creds`)
    // … and for the bootstrap check: a re-run plans a re-push and removes it (check-and-set).
    const rerun = await cli(['bootstrap', '--config', env.configPath, '--spec', spec, '--values-from-stdin', '--yes'])
    expect({code: rerun.code, stderr: rerun.stderr}).toEqual({code: 0, stderr: expect.any(String)})
    expect(rerun.stdout).toContain(`re-push (the Secret exists): ${region1.name}: stale planted`)
    expect(rerun.stdout).toContain('removed planted')
    expect(await vaultStrings(env.configPath, {}, region1.name, `${namespace}/creds`)).toEqual({username: values.next})
    const verified = await cli(['migrate', 'verify', '--config', env.configPath, `${namespace}/creds`])
    expect(verified.stdout).not.toContain('stale-property')
    expectNoLeak(created.stdout + created.stderr + rotated.stdout + rotated.stderr + verify.stdout + verify.stderr + rerun.stdout + rerun.stderr, values, 'the CLI output')
    expectNoLeakInFiles(started, values, DESTINATIONS)
  })

  test(`--rotate of a value ESO generates: ESO generates a new one, and Kubernetes and every Vault hold it (ESO ${process.env.TEST_ESO_VERSION ?? 'v2.9.0'})`, async () => {
    const dir = testDir('regenerate')
    const namespace = uniqueName('bs-regen')
    const spec = writeSpec(
      dir,
      `secrets:\n  - namespace: ${namespace}\n    name: receiver\n    generatedInCluster: true\n    keys:\n      - {key: token, source: generate, generate: {length: 40, digits: 10, symbols: 0}}\n`,
    )
    const out = join(dir, 'manifests')
    expect((await cli(['bootstrap', '--config', env.configPath, '--spec', spec, '--output-dir', out])).code).toBe(0)
    const client = kube()
    await client.ensureNamespace(namespace)
    for (const document of parseAllDocuments(readFileSync(join(out, `${namespace}-receiver.yaml`), 'utf8'))) await client.apply(document.toJS())
    const before = await waitUntil('the generated Secret', async () => (await secretStrings(namespace, 'receiver'))?.token)
    await expectVaultsHold(namespace, 'receiver', {token: before}, 90_000)

    // Three rotations in a row: ESO can regenerate twice for one request (its second reconcile reads
    // the ExternalSecret from a stale cache), which made about one rotation in three wait for values
    // already replaced; the CLI takes the values that stay (apply.ts regenerate).
    let previous = before
    for (let round = 1; round <= 3; round++) {
      const rotation = await cli(['bootstrap', '--config', env.configPath, '--spec', spec, '--rotate', `${namespace}/receiver`, '--values-from-stdin', '--yes'])
      const after = (await secretStrings(namespace, 'receiver'))!.token
      expectNoLeak(rotation.stdout + rotation.stderr, {before: previous, after}, 'the rotation output')
      if (rotation.code !== 0) throw new Error(`rotation ${round} exited ${rotation.code}:\n${rotation.stdout}\n${rotation.stderr}`)
      expect(rotation.stdout).toMatch(/regenerate \(--rotate: ESO generates a new value/)
      expect(after).not.toBe(previous)
      expect(after).toMatch(/^[A-Za-z0-9]{40}$/)
      // The wizard waited for both Vaults itself; read them directly too.
      await expectVaultsHold(namespace, 'receiver', {token: after}, 10_000)
      previous = after
    }
    // Its waits (90 s for the first push, the CLI's own for ESO and the Vaults) fail with their own messages first.
  }, 300_000)

  test('--dry-run --values-from-stdin reads and checks stdin, reporting every problem at once; with stdin the plan is shown once', async () => {
    const dir = testDir('dry-stdin')
    const namespace = uniqueName('bs-dry')
    const values = {token: canary('dry-token')}
    const spec = writeSpec(
      dir,
      `secrets:\n  - namespace: ${namespace}\n    name: a\n    keys: [{key: token, prompt: Token, validate: {minLength: 30}}]\n  - namespace: ${namespace}\n    name: b\n    keys: [{key: token, prompt: Token}]\n`,
    )
    const bad = await cli(['bootstrap', '--config', env.configPath, '--spec', spec, '--dry-run', '--values-from-stdin'], {
      input: JSON.stringify({[`${namespace}/a`]: {token: 'short '}, [`${namespace}/c`]: {token: values.token}}),
    })
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('stdin has 3 problems')
    expect(bad.stderr).toContain(`stdin ${namespace}/a: key "token" must be at least 30 characters (got 6) — it ends with whitespace`)
    expect(bad.stderr).toContain(`stdin names ${namespace}/c, which is not in the bootstrap spec`)
    expect(bad.stderr).toContain(`stdin has no value for ${namespace}/b key "token" (required)`)
    const good = await cli(['bootstrap', '--config', env.configPath, '--spec', spec, '--dry-run', '--values-from-stdin'], {
      input: JSON.stringify({[`${namespace}/a`]: {token: values.token}, [`${namespace}/b`]: {token: values.token}}),
    })
    expect(good.code).toBe(1)
    expect(good.stdout).toContain('stdin was read and every value is valid; 2 secret(s) would be written')
    expect(good.stdout.match(/SECRET\s+TYPE\s+KEYS\s+ACTION/g)).toHaveLength(1)
    expect(await secretStrings(namespace, 'a')).toBeUndefined()
    // --help: one usage line per mode, none of oclif's empty exclusive groups.
    const help = await cli(['bootstrap', '--help'])
    expect(help.stdout).toContain('$ secrets bootstrap --init-vault REGION')
    expect(help.stdout).not.toMatch(/\|\s+\|/)
    expectNoLeak(bad.stdout + bad.stderr + good.stdout + good.stderr, values, 'the dry-run output')
  })
})
