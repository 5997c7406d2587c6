import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {parseAllDocuments} from 'yaml'

import {PUSH_SECRET_API_VERSION} from '../../../src/lib/eso/api.js'
import {KubeClient, type KubeObject} from '../../../src/lib/kube/client.js'
import {SecretValue} from '../../../src/lib/secret/secret-value.js'
import {sleep} from '../../env/net.js'
import {PROJECT_ROOT} from '../../helpers/binaries.js'
import {testEnv} from '../../helpers/env.js'
import {startKubeFaultProxy} from '../../helpers/kube-fault-proxy.js'
import {
  canary,
  builtCli,
  cliEnv,
  expectVaultsHold,
  kube,
  pushSecretExists,
  runBuiltCli,
  secretStrings,
  testDir,
  uniqueName,
  writeSpec,
} from './fixture.js'
import {expectNoLeak, expectNoLeakInFiles, processArguments} from '../../helpers/canary.js'
import {requireTmux, TerminalSession} from './terminal.js'

const env = testEnv()
/** etcd stores Secrets as Kubernetes hands them over: a destination, like the Vaults. */
const DESTINATIONS = [join(env.workDir, 'etcd')]

function bootstrap(args: string[], options: {input?: string; kubeconfig?: string} = {}) {
  return runBuiltCli(['bootstrap', '--config', env.configPath, ...args], {env: {...cliEnv(), ...(options.kubeconfig ? {KUBECONFIG: options.kubeconfig} : {})}, input: options.input})
}

describe('secrets bootstrap (real kube-apiserver, ESO and two Vaults)', () => {
  beforeAll(() => {
    builtCli()
    requireTmux()
  })

  test('the wizard in a terminal: hidden, validated, confirmed values reach Kubernetes and both Vaults — and nothing else; re-runs keep them; --rotate replaces one', async () => {
    const started = Date.now()
    const dir = testDir('wizard')
    const namespace = uniqueName('bs-wizard')
    const values = {user: canary('user'), password: canary('password'), dns: canary('dns'), wrongForm: canary('wrong-form'), mistyped: canary('mistyped')}
    const spec = writeSpec(
      dir,
      `secrets:
  - namespace: ${namespace}
    name: git-token
    keys:
      - key: username
        prompt: Git user
        validate: {regex: '^canary-user-', hint: starts with canary-user-}
      - key: password
        prompt: Git token
        validate: {minLength: 20}
  - namespace: ${namespace}
    name: dns-token
    keys:
      - key: api-token
        prompt: DNS API token
      - key: zone
        prompt: Zone id
        validate: {required: false}
  - namespace: ${namespace}
    name: generated
    keys:
      - key: password
        source: generate
        generate: {length: 32, digits: 8, symbols: 4}
`,
    )
    const term = TerminalSession.start([process.execPath, builtCli(), 'bootstrap', '--config', env.configPath, '--spec', spec, '--wait-timeout', '120'], {
      dir,
      name: 'wizard',
      env: cliEnv(),
      cwd: PROJECT_ROOT,
    })
    let argumentsWhileWaiting = ''
    try {
      await term.waitFor('username: Git user')
      // An empty required value, then one of the wrong form: each refused with a message, neither echoed.
      await term.line('')
      await term.waitFor('a value is required')
      await term.line(values.wrongForm)
      await term.waitFor('does not have the expected form: starts with canary-user-')
      // The rejected entry is cleared (and the operator told so): what is typed next is the whole value, nothing appended.
      await term.waitFor('The entry was cleared: type the whole value again.')
      await term.waitFor('username: Git user', {count: 3})
      await term.line(values.user)
      await term.waitFor('username: again, to confirm')
      await term.line(values.user)
      // A confirmation that does not match is asked again.
      await term.waitFor('password: Git token')
      await term.line(values.password)
      await term.waitFor('password: again, to confirm')
      await term.line(values.mistyped)
      await term.waitFor('differ; type it again')
      await term.waitFor('password: Git token', {count: 2})
      await term.line(values.password)
      await term.waitFor('password: again, to confirm', {count: 2})
      await term.line(values.password)
      await term.waitFor('api-token: DNS API token')
      await term.line(values.dns)
      await term.waitFor('api-token: again, to confirm')
      await term.line(values.dns)
      await term.waitFor('zone: Zone id (optional')
      await term.line('')
      const summary = await term.waitFor('and their PushSecrets to')
      expect(summary).toContain('zone (left empty: not created)')
      // The confirmation names the cluster by address and kubeconfig context, and the namespace it will create.
      expect(summary).toMatch(/to https?:\/\/\S+ \(kubeconfig context [^)]+\), creating namespace\(s\) /)
      expect(summary).toContain(`creating namespace(s) ${namespace}?`)
      expect(summary).toContain('password (generated)')
      // While the wizard waits with every value in memory: no process carries one in its arguments.
      argumentsWhileWaiting = processArguments()
      expect(argumentsWhileWaiting).toContain('bootstrap')
      await term.line('y')
      const code = await term.waitExit()
      const screen = term.screen()
      expect({code, screen}).toEqual({code: 0, screen: expect.stringContaining('hold every value')})
      expect(screen).toMatch(new RegExp(`${namespace}/git-token\\s+${namespace}/git-token\\s+in sync\\s+in sync`))

      // Kubernetes holds exactly what was typed; the optional key left empty is absent.
      expect(await secretStrings(namespace, 'git-token')).toEqual({username: values.user, password: values.password})
      expect(await secretStrings(namespace, 'dns-token')).toEqual({'api-token': values.dns})
      const generated = (await secretStrings(namespace, 'generated'))!.password
      expect(generated).toHaveLength(32)
      for (const name of ['git-token', 'dns-token', 'generated']) expect(await pushSecretExists(namespace, name)).toBe(true)
      const pushSecret = (await kube().read(PUSH_SECRET_API_VERSION, 'PushSecret', 'git-token', namespace)) as KubeObject
      expect(pushSecret.spec).toMatchObject({
        updatePolicy: 'Replace',
        secretStoreRefs: env.regions.map((region) => ({name: region.clusterSecretStore, kind: 'ClusterSecretStore'})),
        data: [
          {match: {secretKey: 'password', remoteRef: {remoteKey: `${namespace}/git-token`, property: 'password'}}},
          {match: {secretKey: 'username', remoteRef: {remoteKey: `${namespace}/git-token`, property: 'username'}}},
        ],
      })
      // Both Vaults, read directly.
      await expectVaultsHold(namespace, 'git-token', {username: values.user, password: values.password})
      await expectVaultsHold(namespace, 'dns-token', {'api-token': values.dns})
      await expectVaultsHold(namespace, 'generated', {password: generated})

      // Nowhere else: the screen, every byte written to the terminal, process arguments, files.
      const all = {...values, generated}
      expectNoLeak(screen, all, 'the captured screen')
      expectNoLeak(term.rawLog(), all, 'the raw terminal output')
      expectNoLeak(argumentsWhileWaiting, all, 'process arguments')
      expectNoLeakInFiles(started, all, DESTINATIONS)

      // A re-run keeps every Secret (nothing asked) and checks the Vaults again.
      const before = await kube().getSecret(namespace, 'git-token')
      const rerun = await bootstrap(['--spec', spec, '--values-from-stdin', '--yes'], {input: '{}'})
      expect(rerun).toMatchObject({code: 0})
      expect(rerun.stdout.match(/keep \(exists\)/g)).toHaveLength(3)
      expect(rerun.stdout).toContain('hold every value')
      expect((await kube().getSecret(namespace, 'git-token'))!.resourceVersion).toBe(before!.resourceVersion)

      // --rotate replaces one secret's values (and ESO pushes them at once); the others are left alone.
      const rotated = canary('rotated')
      const rotation = await bootstrap(['--spec', spec, '--values-from-stdin', '--yes', '--rotate', `${namespace}/dns-token`, '--wait-timeout', '60'], {
        input: JSON.stringify({[`${namespace}/dns-token`]: {'api-token': rotated}}),
      })
      expect({code: rotation.code, stderr: rotation.stderr}).toEqual({code: 0, stderr: expect.any(String)})
      expect(rotation.stdout).toMatch(/dns-token.*rotate/)
      expect(await secretStrings(namespace, 'dns-token')).toEqual({'api-token': rotated})
      expect(await secretStrings(namespace, 'git-token')).toEqual({username: values.user, password: values.password})
      await expectVaultsHold(namespace, 'dns-token', {'api-token': rotated})
      expectNoLeak(rerun.stdout + rerun.stderr + rotation.stdout + rotation.stderr, {...all, rotated}, 'the re-run output')
    } finally {
      term.close()
    }
  })

  test('Ctrl-C at the confirmation, or answering no: cancelled, nothing created', async () => {
    const dir = testDir('cancel')
    const namespace = uniqueName('bs-cancel')
    const value = canary('cancel')
    const spec = writeSpec(dir, `secrets:\n  - namespace: ${namespace}\n    name: token\n    keys:\n      - {key: token, prompt: Token}\n`)
    for (const answer of ['C-c', 'n']) {
      const term = TerminalSession.start([process.execPath, builtCli(), 'bootstrap', '--config', env.configPath, '--spec', spec], {dir, name: `cancel-${answer}`, env: cliEnv(), cwd: PROJECT_ROOT})
      try {
        await term.waitFor('token: Token')
        await term.line(value)
        await term.waitFor('token: again, to confirm')
        await term.line(value)
        await term.waitFor('and their PushSecrets to')
        if (answer === 'n') await term.line('n')
        else term.keys('C-c')
        const code = await term.waitExit()
        const screen = term.screen()
        expect({code, screen}).toEqual({code: 2, screen: expect.any(String)})
        expect(screen).toMatch(/cancelled/)
        expect(screen).not.toContain('unexpected error')
        expectNoLeak(screen + term.rawLog(), {value}, 'the screen')
      } finally {
        term.close()
      }
      expect(await secretStrings(namespace, 'token')).toBeUndefined()
      expect(await pushSecretExists(namespace, 'token')).toBe(false)
    }
  })

  test('without a terminal, the wizard refuses and points to --values-from-stdin', async () => {
    const result = await bootstrap(['--spec', writeSpec(testDir('notty'), `secrets:\n  - {namespace: ${uniqueName('bs-notty')}, name: t, keys: [{key: k, prompt: K}]}\n`)])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('the bootstrap wizard needs a terminal: stdin is not a TTY')
    expect(result.stderr).toContain('--values-from-stdin')
  })

  test('--values-from-stdin: bad input is refused by name with nothing created; good input lands in both Vaults', async () => {
    const started = Date.now()
    const dir = testDir('stdin')
    const namespace = uniqueName('bs-stdin')
    const values = {user: canary('stdin-user'), token: canary('stdin-token')}
    const spec = writeSpec(
      dir,
      `secrets:
  - namespace: ${namespace}
    name: creds
    type: kubernetes.io/basic-auth
    keys:
      - {key: username, prompt: User, validate: {regex: '^canary-stdin-user-'}}
      - {key: password, prompt: Token, validate: {minLength: 16}}
  - namespace: ${namespace}
    name: api
    keys:
      - {key: token, prompt: Token}
`,
    )
    const good = {[`${namespace}/creds`]: {username: values.user, password: values.token}, [`${namespace}/api`]: {token: values.token}}
    const bad: [string, unknown, RegExp][] = [
      ['missing required value', {[`${namespace}/creds`]: {username: values.user, password: values.token}}, new RegExp(`no value for ${namespace}/api key "token" \\(required\\)`)],
      ['regex mismatch', {...good, [`${namespace}/creds`]: {username: values.token, password: values.token}}, /key "username" does not match \^canary-stdin-user-/],
      ['empty required value', {...good, [`${namespace}/api`]: {token: ''}}, /key "token" a value is required/],
      ['unknown key', {...good, [`${namespace}/api`]: {token: values.token, tokne: values.token}}, /key "tokne" is not in the spec/],
    ]
    for (const [label, input, message] of bad) {
      const result = await bootstrap(['--spec', spec, '--values-from-stdin', '--yes'], {input: JSON.stringify(input)})
      expect({label, code: result.code}).toEqual({label, code: 2})
      expect(result.stderr).toMatch(message)
      expectNoLeak(result.stdout + result.stderr, values, `the output for ${label}`)
    }
    const noYes = await bootstrap(['--spec', spec, '--values-from-stdin'], {input: JSON.stringify(good)})
    expect(noYes.code).toBe(2)
    expect(noYes.stderr).toContain('stdin is not a terminal')
    for (const name of ['creds', 'api']) {
      expect(await secretStrings(namespace, name)).toBeUndefined()
      expect(await pushSecretExists(namespace, name)).toBe(false)
    }

    const result = await bootstrap(['--spec', spec, '--values-from-stdin', '--yes', '--json'], {input: JSON.stringify(good)})
    expect({code: result.code, stderr: result.stderr}).toEqual({code: 0, stderr: ''})
    const output = JSON.parse(result.stdout)
    expect(output.result.written).toEqual([`${namespace}/creds`, `${namespace}/api`])
    expect(output.result.inSync).toBe(true)
    expect(output.result.vaults).toHaveLength(4)
    expect((await kube().getSecret(namespace, 'creds'))!.type).toBe('kubernetes.io/basic-auth')
    await expectVaultsHold(namespace, 'creds', {username: values.user, password: values.token})
    await expectVaultsHold(namespace, 'api', {token: values.token})
    expectNoLeak(result.stdout + noYes.stdout + noYes.stderr, values, 'the CLI output')
    expect(expectNoLeakInFiles(started, values, DESTINATIONS)).toBeGreaterThan(0)
    // The scan would have caught one: a control value written to a file is found.
    const control = canary('control')
    writeFileSync(join(dir, 'control.txt'), Buffer.from(control).toString('base64'))
    expect(() => expectNoLeakInFiles(started, {control}, DESTINATIONS)).toThrow(/control appeared in the file .*control\.txt/)
  })

  test('Kubernetes unreachable halfway: a clear message, what exists is reported, nothing is half-created, and a re-run completes it', async () => {
    const dir = testDir('unreachable')
    const namespace = uniqueName('bs-cut')
    const values = {first: canary('first'), second: canary('second')}
    const spec = writeSpec(
      dir,
      `secrets:
  - namespace: ${namespace}
    name: first
    keys: [{key: token, prompt: Token}]
  - namespace: ${namespace}
    name: second
    keys: [{key: token, prompt: Token}]
`,
    )
    const input = JSON.stringify({[`${namespace}/first`]: {token: values.first}, [`${namespace}/second`]: {token: values.second}})
    const proxy = await startKubeFaultProxy(env.kubeconfig, join(dir, 'proxy.kubeconfig'))
    try {
      // The API server "goes away" right after it has stored the first Secret's PushSecret (written after the Secret).
      proxy.dieAfter(1, (method, path) => method === 'PATCH' && new RegExp(`^/apis/external-secrets\\.io/v1alpha1/namespaces/${namespace}/pushsecrets/first\\b`).test(path))
      const cut = await bootstrap(['--spec', spec, '--values-from-stdin', '--yes', '--kubeconfig', proxy.kubeconfig], {input})
      expect({cut: proxy.dead, code: cut.code, stderr: cut.stderr}).toEqual({cut: true, code: 2, stderr: expect.stringMatching(/Kubernetes API unreachable/)})
      expect(cut.stderr).toContain(`${namespace}/first: created (Secret and PushSecret)`)
      expect(cut.stderr).toContain(`${namespace}/second: NOT created`)
      expect(cut.stderr).toContain('Re-run the same command')
      expectNoLeak(cut.stdout + cut.stderr, values, 'the output of the interrupted run')
      // Nothing half-created: the Secret that exists has its PushSecret; the other does not exist.
      expect(await secretStrings(namespace, 'first')).toEqual({token: values.first})
      expect(await pushSecretExists(namespace, 'first')).toBe(true)
      expect(await secretStrings(namespace, 'second')).toBeUndefined()

      proxy.revive()
      const rerun = await bootstrap(['--spec', spec, '--values-from-stdin', '--yes', '--kubeconfig', proxy.kubeconfig], {input})
      expect({code: rerun.code, stderr: rerun.stderr}).toEqual({code: 0, stderr: expect.any(String)})
      expect(rerun.stdout).toMatch(new RegExp(`${namespace}/first .*keep \\(exists\\)`))
      expect(rerun.stdout).toMatch(new RegExp(`${namespace}/second .*create`))
      expect(rerun.stdout).toContain(`note: ${namespace}/first was given on stdin but exists and is not rotated`)
      expect(await secretStrings(namespace, 'second')).toEqual({token: values.second})
      await expectVaultsHold(namespace, 'first', {token: values.first})
      await expectVaultsHold(namespace, 'second', {token: values.second})
      expectNoLeak(rerun.stdout + rerun.stderr, values, 'the re-run output')
    } finally {
      await proxy.close()
    }
  })

  test('Kubernetes unreachable between a Secret and its PushSecret: the Secret is named as not pushed, and a re-run adds the PushSecret', async () => {
    const dir = testDir('between')
    const namespace = uniqueName('bs-between')
    const values = {only: canary('only')}
    const spec = writeSpec(dir, `secrets:\n  - namespace: ${namespace}\n    name: only\n    keys: [{key: token, prompt: Token}]\n`)
    const input = JSON.stringify({[`${namespace}/only`]: {token: values.only}})
    const proxy = await startKubeFaultProxy(env.kubeconfig, join(dir, 'proxy.kubeconfig'))
    try {
      // The API server "goes away" right after it has stored the Secret, before its PushSecret.
      proxy.dieAfter(1, (method, path) => method === 'PATCH' && new RegExp(`^/api/v1/namespaces/${namespace}/secrets/only\\b`).test(path))
      const cut = await bootstrap(['--spec', spec, '--values-from-stdin', '--yes', '--kubeconfig', proxy.kubeconfig], {input})
      expect({cut: proxy.dead, code: cut.code}).toEqual({cut: true, code: 2})
      expect(cut.stderr).toContain(`${namespace}/only: Secret created, its PushSecret NOT written: nothing pushes it to the Vaults yet`)
      expectNoLeak(cut.stdout + cut.stderr, values, 'the output of the interrupted run')
      expect(await secretStrings(namespace, 'only')).toEqual({token: values.only})
      expect(await pushSecretExists(namespace, 'only')).toBe(false)

      proxy.revive()
      const rerun = await bootstrap(['--spec', spec, '--values-from-stdin', '--yes', '--kubeconfig', proxy.kubeconfig], {input})
      expect({code: rerun.code, stderr: rerun.stderr}).toEqual({code: 0, stderr: expect.any(String)})
      expect(rerun.stdout).toMatch(new RegExp(`${namespace}/only .*add PushSecret \\(the Secret exists\\)`))
      expect(await pushSecretExists(namespace, 'only')).toBe(true)
      await expectVaultsHold(namespace, 'only', {token: values.only})
      expectNoLeak(rerun.stdout + rerun.stderr, values, 'the re-run output')
    } finally {
      await proxy.close()
    }
  })

  test('a Secret made by hand, without a PushSecret, gets one — its values are not asked and not changed', async () => {
    const dir = testDir('push-only')
    const namespace = uniqueName('bs-push')
    const value = canary('by-hand')
    const spec = writeSpec(dir, `secrets:\n  - namespace: ${namespace}\n    name: manual\n    keys:\n      - {key: token, prompt: Token}\n      - {key: extra, prompt: Extra}\n`)
    const client = kube()
    await client.ensureNamespace(namespace)
    await client.applySecret({namespace, name: 'manual', type: 'Opaque', labels: {}, annotations: {}, data: new Map([['token', SecretValue.fromString(value)]])})
    const result = await bootstrap(['--spec', spec, '--values-from-stdin', '--yes'], {input: '{}'})
    expect({code: result.code, stderr: result.stderr}).toEqual({code: 0, stderr: expect.any(String)})
    expect(result.stdout).toContain('add PushSecret (the Secret exists) — lacks extra')
    expect(await secretStrings(namespace, 'manual')).toEqual({token: value})
    const pushSecret = (await client.read(PUSH_SECRET_API_VERSION, 'PushSecret', 'manual', namespace)) as KubeObject
    expect((pushSecret.spec as {data: unknown[]}).data).toHaveLength(1)
    await expectVaultsHold(namespace, 'manual', {token: value})
    expectNoLeak(result.stdout + result.stderr, {value}, 'the CLI output')
  })

  test('--output-dir: the manifests, applied, make ESO generate the value once and push it to both Vaults', async () => {
    const dir = testDir('output-dir')
    const namespace = uniqueName('bs-gen')
    const spec = writeSpec(
      dir,
      `secrets:
  - namespace: ${namespace}
    name: receiver
    generatedInCluster: true
    keys:
      - {key: token, source: generate, generate: {length: 40, digits: 10, symbols: 0}}
      - {key: hmac-key, source: generate, generate: {length: 64, digits: 16, symbols: 8, allowRepeat: true}}
`,
    )
    const out = join(dir, 'manifests')
    const result = await bootstrap(['--spec', spec, '--output-dir', out])
    expect(result).toMatchObject({code: 0})
    const file = join(out, `${namespace}-receiver.yaml`)
    expect(result.stdout).toContain(file)
    const client: KubeClient = kube()
    await client.ensureNamespace(namespace)
    for (const document of parseAllDocuments(readFileSync(file, 'utf8'))) await client.apply(document.toJS())
    let data: Record<string, string> | undefined
    for (const deadline = Date.now() + 90_000; Date.now() < deadline; await sleep(500)) {
      data = await secretStrings(namespace, 'receiver')
      if (data?.token && data['hmac-key']) break
    }
    expect(data?.token).toMatch(/^[A-Za-z0-9]{40}$/)
    expect(data?.token.replaceAll(/\D/g, '')).toHaveLength(10)
    expect(data?.['hmac-key']).toHaveLength(64)
    await expectVaultsHold(namespace, 'receiver', data!, 90_000)
  })
})
