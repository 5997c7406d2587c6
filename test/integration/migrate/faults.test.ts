// Migrate under faults, against the real
// environment: the kube-apiserver "dies" mid-apply (a loopback proxy in front
// of it drops every request after the Nth Secret write — the shared server
// itself is never stopped), then `migrate verify` without --source must see
// the Secrets that were never created; and an unreachable Kubernetes must
// read as unreachable in every kube-using command.
import {randomBytes} from 'node:crypto'
import {mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import net from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {parse as parseYaml, stringify} from 'yaml'

import {PUSH_SECRET_API_VERSION} from '../../../src/lib/eso/api.js'
import {KubeClient} from '../../../src/lib/kube/client.js'
import {RUN_RECORD_LABEL} from '../../../src/lib/migrate/run-record.js'
import {runCli, type CliResult} from '../../helpers/cli.js'
import {testEnv} from '../../helpers/env.js'
import {startKubeFaultProxy, type KubeFaultProxy} from '../../helpers/kube-fault-proxy.js'
import {newAgeKey, sopsEncrypt} from '../../helpers/sops-files.js'

const run = randomBytes(3).toString('hex')
// Every secret value carries the marker, so one scan of every output finds any leak.
const MARK = `canary${run}`
const NS = `migfault-${run}`
const FILES = 12
const names = Array.from({length: FILES}, (_, index) => `s${String(index + 1).padStart(2, '0')}`)

const SECRET_WRITE = (method: string, path: string) => method === 'PATCH' && /^\/api\/v1\/namespaces\/[^/]+\/secrets\//.test(path)

describe('migrate tells the truth under faults (real environment)', () => {
  const env = testEnv()
  const kube = KubeClient.connect({kubeconfig: env.kubeconfig})
  const outputs: CliResult[] = []
  const proxies: KubeFaultProxy[] = []
  const namespacesUsed = [NS]
  let work: string
  let tree: string
  let keyFile: string
  let ageRecipient: string

  const cli = async (args: string[], extraEnv: Record<string, string> = {}) => {
    const result = await runCli([...args, '--config', env.configPath], {env: {...env.tokenEnv, KUBECONFIG: env.kubeconfig, SOPS_AGE_KEY_FILE: keyFile, ...extraEnv}})
    outputs.push(result)
    return result
  }
  const existing = async () => ({
    secrets: (await kube.listSecrets(NS)).map((secret) => secret.name).sort(),
    pushSecrets: (await kube.list(PUSH_SECRET_API_VERSION, 'PushSecret', {namespace: NS})).map((object) => object.metadata!.name!).sort(),
  })

  beforeAll(async () => {
    const key = await newAgeKey()
    ageRecipient = key.recipient
    work = mkdtempSync(join(tmpdir(), 'secrets-migrate-faults-'))
    keyFile = join(work, 'age-key.txt')
    writeFileSync(keyFile, `${key.identity}\n`, {mode: 0o600})
    tree = join(work, 'gitops')
    mkdirSync(tree)
    for (const name of names) writeFileSync(join(tree, `${name}.yaml`), sopsEncrypt(`password: ${MARK}-${name}\nuser: app-${name}\n`, {recipient: key.recipient, type: 'yaml'}))
  })

  afterAll(async () => {
    await Promise.all(proxies.map((proxy) => proxy.close()))
    // Leave nothing another test file's cluster-wide `migrate verify` would count.
    for (const namespace of namespacesUsed) {
      if (!(await kube.namespaceExists(namespace))) continue
      for (const name of names) {
        await kube.delete(PUSH_SECRET_API_VERSION, 'PushSecret', name, namespace)
        await kube.delete('v1', 'Secret', name, namespace)
      }
      for (const record of await kube.list('v1', 'ConfigMap', {namespace, labelSelector: RUN_RECORD_LABEL})) await kube.delete('v1', 'ConfigMap', record.metadata!.name!, namespace)
    }
    // No output of any run carries a value.
    for (const output of outputs) {
      expect(output.stdout).not.toContain(MARK)
      expect(output.stderr).not.toContain(MARK)
    }
  })

  test('the API server dies after 5 Secrets: exit 2 says what exists; verify without --source names the 7 never created; a re-run completes it', async () => {
    const proxy = await startKubeFaultProxy(env.kubeconfig, join(work, 'proxy-1.kubeconfig'))
    proxies.push(proxy)
    proxy.dieAfter(5, SECRET_WRITE)
    const migrate = ['migrate', 'sops', tree, '--namespace', NS, '--create-namespaces', '--yes', '--concurrency', '1']
    const failed = await cli([...migrate, '--kubeconfig', proxy.kubeconfig])
    expect(proxy.dead).toBe(true)
    expect(failed.code).toBe(2)
    // What really exists, read from the real server.
    expect(await existing()).toEqual({secrets: names.slice(0, 5), pushSecrets: names.slice(0, 4)})
    const message = failed.stderr
    expect(message).not.toMatch(/nothing (was )?written/i)
    expect(message).toContain(`migration stopped part-way (${FILES} Secret(s) planned)`)
    expect(message).toContain(`Kubernetes API unreachable at ${proxy.server}: connection closed`)
    expect(message).toContain(`namespaces created: ${NS}`)
    expect(message).toMatch(new RegExp(`run record: ${NS}/secrets-toolkit-migration-[0-9a-f]{12}`))
    expect(message).toContain('Secrets: 5 created, 0 updated')
    expect(message).toContain('PushSecrets: 4 created, 0 updated')
    expect(message).toContain('Not written yet: 7 Secret(s), 7 PushSecret(s).')
    expect(message).toContain(`1 Secret(s) exist without their PushSecret (not pushed to any Vault): ${NS}/s05`)
    expect(message).toContain(`PushSecret ${NS}/s05`)
    expect(message).toContain('re-run the same `secrets migrate sops` command')

    // The default verify (no --source) knows what the run set out to do.
    const verify = await cli(['migrate', 'verify', '--namespace', NS, '--json'])
    expect(verify.code).toBe(1)
    const report = JSON.parse(verify.stdout)
    expect(report.completeness.proven).toBe(true)
    expect(report.completeness.basis).toEqual(['run-records'])
    expect(report.completeness.missing).toEqual(names.slice(5).map((name) => `${NS}/${name}`))
    const missingRow = report.rows.find((row: {secret: string}) => row.secret === `${NS}/s12`)
    expect(missingRow).toMatchObject({where: 'kubernetes', status: 'secret-missing'})
    expect(missingRow.detail).toContain('s12.yaml; never created')
    expect(report.rows).toContainEqual(expect.objectContaining({secret: `${NS}/s05`, status: 'pushsecret-missing'}))
    const human = await cli(['migrate', 'verify', '--namespace', NS])
    expect(human.code).toBe(1)
    expect(human.stdout).toContain(`7 planned Secret(s) do not exist in Kubernetes: ${names.slice(5).map((name) => `${NS}/${name}`).join(', ')}`)
    expect(human.stdout).not.toContain('are in Kubernetes and in every region')

    // A second cut, reported in --json: the error object carries the same account.
    const proxy2 = await startKubeFaultProxy(env.kubeconfig, join(work, 'proxy-2.kubeconfig'))
    proxies.push(proxy2)
    proxy2.dieAfter(2, SECRET_WRITE)
    const failedJson = await cli([...migrate, '--kubeconfig', proxy2.kubeconfig, '--json'])
    expect(failedJson.code).toBe(2)
    const error = JSON.parse(failedJson.stdout).error
    expect(error.message).toContain('Secrets: 2 created, 0 updated')
    // s05's PushSecret was written first, then s06's Secret and PushSecret, then s07's Secret.
    expect(error.message).toContain('PushSecrets: 2 created, 0 updated')
    expect(error.message).toContain(`exist without their PushSecret (not pushed to any Vault): ${NS}/s07`)
    expect(error.hint).toContain('re-run the same `secrets migrate sops` command')
    expect(error.details).toMatchObject({stoppedPartWay: true, planned: FILES, written: {secrets: {create: 2, update: 0}, pushSecrets: {create: 2, update: 0}, secretsWithoutPushSecret: [`${NS}/s07`], notWritten: {secrets: 5, pushSecrets: 5}}})
    expect(await existing()).toEqual({secrets: names.slice(0, 7), pushSecrets: names.slice(0, 6)})

    // The same command with Kubernetes back completes it; verify then proves everything.
    const completed = await cli(migrate)
    expect(completed.code).toBe(0)
    expect(await existing()).toEqual({secrets: names, pushSecrets: names})
    const proven = await cli(['migrate', 'verify', '--namespace', NS, '--wait', '150s', '--json'])
    const provenReport = JSON.parse(proven.stdout)
    expect(provenReport.rows.filter((row: {status: string}) => row.status !== 'in-sync')).toEqual([])
    expect(provenReport.completeness).toMatchObject({proven: true, missing: []})
    expect(provenReport.completeness.runRecords).toEqual([expect.objectContaining({state: 'applied', planned: FILES})])
    expect(proven.code).toBe(0)
  }, 300_000)

  test('at full concurrency the account is still true: what it reports written exists, the rest is named as uncertain or not written', async () => {
    const namespace = `${NS}-c`
    namespacesUsed.push(namespace)
    const proxy = await startKubeFaultProxy(env.kubeconfig, join(work, 'proxy-c.kubeconfig'))
    proxies.push(proxy)
    proxy.dieAfter(6, SECRET_WRITE)
    const failed = await cli(['migrate', 'sops', tree, '--namespace', namespace, '--create-namespaces', '--yes', '--json', '--kubeconfig', proxy.kubeconfig])
    expect(failed.code).toBe(2)
    const {written} = JSON.parse(failed.stdout).error.details
    const secrets = (await kube.listSecrets(namespace)).map((secret) => `${namespace}/${secret.name}`)
    const pushSecrets = (await kube.list(PUSH_SECRET_API_VERSION, 'PushSecret', {namespace})).map((object) => `${namespace}/${object.metadata!.name}`)
    const uncertain = (kind: string) => (written.uncertain as string[]).filter((entry) => entry.startsWith(`${kind} `)).length
    // Everything reported as written exists; anything more that exists was a write whose answer was lost.
    expect(secrets.length).toBeGreaterThanOrEqual(written.secrets.create)
    expect(secrets.length).toBeLessThanOrEqual(written.secrets.create + uncertain('Secret'))
    expect(pushSecrets.length).toBeGreaterThanOrEqual(written.pushSecrets.create)
    expect(pushSecrets.length).toBeLessThanOrEqual(written.pushSecrets.create + uncertain('PushSecret'))
    expect(written.secrets.create + written.notWritten.secrets + uncertain('Secret')).toBe(FILES)
    for (const id of written.secretsWithoutPushSecret as string[]) {
      expect(secrets).toContain(id)
      if (!(written.uncertain as string[]).includes(`PushSecret ${id}`)) expect(pushSecrets).not.toContain(id)
    }
    // And the default verify sees every Secret that is not there.
    const verify = await cli(['migrate', 'verify', '--namespace', namespace, '--json'])
    expect(verify.code).toBe(1)
    expect(JSON.parse(verify.stdout).completeness.missing).toEqual(names.map((name) => `${namespace}/${name}`).filter((id) => !secrets.includes(id)))
  }, 200_000)

  test('without a run record, verify does not claim completeness; a re-run records the run', async () => {
    for (const record of await kube.list('v1', 'ConfigMap', {namespace: NS, labelSelector: RUN_RECORD_LABEL})) await kube.delete('v1', 'ConfigMap', record.metadata!.name!, NS)
    const unproven = await cli(['migrate', 'verify', '--namespace', NS])
    expect(unproven.code).toBe(1)
    expect(unproven.stdout).toContain('Completeness NOT proven')
    // The SOPS files themselves prove it.
    const fromSource = await cli(['migrate', 'verify', '--namespace', NS, '--source', tree, '--source-namespace', NS])
    expect(fromSource.code).toBe(0)
    // A re-run with nothing to change writes the record again (names only).
    const again = await cli(['migrate', 'sops', tree, '--namespace', NS, '--yes'])
    expect(again.code).toBe(0)
    expect(again.stdout).toContain('Nothing to change')
    const records = await kube.list('v1', 'ConfigMap', {namespace: NS, labelSelector: RUN_RECORD_LABEL})
    expect(records).toHaveLength(1)
    const stored = JSON.parse((records[0] as {data: Record<string, string>}).data['run.json'])
    expect(stored).toMatchObject({state: 'applied', plannedTotal: FILES})
    expect(stored.secrets.map((entry: {name: string}) => entry.name)).toEqual(names)
    expect(JSON.stringify(records[0])).not.toContain(MARK)
    const verify = await cli(['migrate', 'verify', '--namespace', NS])
    expect(verify.code).toBe(0)
  }, 200_000)

  test('a file skipped with --continue-on-error stays a finding until a run migrates it', async () => {
    const namespace = `${NS}-s`
    namespacesUsed.push(namespace)
    const other = await newAgeKey()
    const partial = join(work, 'partial')
    mkdirSync(partial)
    writeFileSync(join(partial, 's01.yaml'), sopsEncrypt(`password: ${MARK}-partial-good\n`, {recipient: ageRecipient, type: 'yaml'}))
    writeFileSync(join(partial, 's02.yaml'), sopsEncrypt(`password: ${MARK}-partial-bad\n`, {recipient: other.recipient, type: 'yaml'}))
    const migrate = ['migrate', 'sops', partial, '--namespace', namespace, '--create-namespaces', '--yes']
    const skipped = await cli([...migrate, '--continue-on-error'])
    expect(skipped.code).toBe(1)
    // (No --wait: this finding never resolves by waiting; s01 may still be on its way to Vault.)
    const verify = await cli(['migrate', 'verify', '--namespace', namespace, '--json'])
    expect(verify.code).toBe(1)
    const rows = JSON.parse(verify.stdout).rows.filter((row: {status: string}) => row.status === 'source-not-migrated')
    expect(rows).toEqual([expect.objectContaining({where: 'source', secret: expect.stringMatching(/partial\/s02\.yaml$/)})])
    // Fixed and migrated by a later run: nothing is left to report.
    writeFileSync(join(partial, 's02.yaml'), sopsEncrypt(`password: ${MARK}-partial-fixed\n`, {recipient: ageRecipient, type: 'yaml'}))
    expect((await cli(migrate)).code).toBe(0)
    const fixed = await cli(['migrate', 'verify', '--namespace', namespace, '--wait', '150s'])
    expect(fixed.code).toBe(0)
  }, 300_000)

  describe('Kubernetes unreachable is named as such in every kube-using command', () => {
    let closedServer: string
    let closedKubeconfig: string
    let untrustedKubeconfig: string
    let apiServer: string

    beforeAll(async () => {
      const probe = net.createServer()
      await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
      const {port} = probe.address() as net.AddressInfo
      await new Promise<void>((resolve) => probe.close(() => resolve()))
      closedServer = `https://127.0.0.1:${port}`
      const real = parseYaml(readFileSync(env.kubeconfig, 'utf8'))
      apiServer = real.clusters[0].cluster.server
      const closed = structuredClone(real)
      for (const cluster of closed.clusters) cluster.cluster.server = closedServer
      closedKubeconfig = join(work, 'closed.kubeconfig')
      writeFileSync(closedKubeconfig, stringify(closed), {mode: 0o600})
      // The real API server, but without its CA: the TLS handshake fails.
      const untrusted = structuredClone(real)
      for (const cluster of untrusted.clusters) {
        delete cluster.cluster['certificate-authority-data']
        delete cluster.cluster['certificate-authority']
      }
      untrustedKubeconfig = join(work, 'untrusted.kubeconfig')
      writeFileSync(untrustedKubeconfig, stringify(untrusted), {mode: 0o600})
    })

    const commands: [string, string[]][] = [
      ['migrate verify', ['migrate', 'verify']],
      ['migrate verify --json', ['migrate', 'verify', '--json']],
      ['migrate sops (pre-flight)', ['migrate', 'sops', '__TREE__', '--namespace', NS, '--yes']],
      ['bootstrap --dry-run', ['bootstrap', '--dry-run']],
    ]
    test.each(commands)('%s: connection refused', async (_name, args) => {
      const result = await cli([...args.map((arg) => (arg === '__TREE__' ? tree : arg)), '--kubeconfig', closedKubeconfig])
      expect(result.code).toBe(2)
      const text = args.includes('--json') ? JSON.parse(result.stdout).error.message : result.stderr
      expect(text).toContain(`Kubernetes API unreachable at ${closedServer}: connection refused (ECONNREFUSED)`)
      expect(text).not.toMatch(/CRD/)
    })

    test('an untrusted certificate says TLS', async () => {
      const result = await cli(['migrate', 'verify', '--kubeconfig', untrustedKubeconfig])
      expect(result.code).toBe(2)
      expect(result.stderr).toContain(`Kubernetes API unreachable at ${apiServer}: TLS failed (`)
      expect(result.stderr).not.toMatch(/CRD/)
    })
  })
})
