import {rmSync} from 'node:fs'
import {join} from 'node:path'

import {regionSchema} from '../../../src/lib/config/schema.js'
import {SecretValue} from '../../../src/lib/secret/secret-value.js'
import {VaultHttp} from '../../../src/lib/vault/vault-http.js'
import {VaultSys} from '../../../src/lib/vault/vault-sys.js'
import {PROJECT_ROOT} from '../../helpers/binaries.js'
import {startVaultServer, type VaultServerHandle} from '../../helpers/vault-server.js'
import {builtCli, runBuiltCli, testDir} from './fixture.js'
import {expectNoLeak, expectNoLeakInFiles} from '../../helpers/canary.js'
import {requireTmux, TerminalSession} from './terminal.js'
import {testEnv} from '../../helpers/env.js'
import {writeConfig} from '../../helpers/config.js'

/** A configuration naming the server (no token: it is not initialized yet), with the configuration's default timeouts. */
const configFor = (dir: string, address: string): string => writeConfig(dir, [{name: 'fresh', address}], {file: 'secrets-toolkit.yaml', requestTimeoutMs: null}).config

function client(address: string, token?: string): {http: VaultHttp; sys: VaultSys} {
  const http = new VaultHttp('fresh', regionSchema.shape.vault.parse({address, requestTimeoutMs: 5000}), {retry: {attempts: 1, baseDelayMs: 0, maxDelayMs: 0}})
  if (token) http.setToken(SecretValue.fromString(token))
  return {http, sys: new VaultSys(http)}
}

describe('secrets bootstrap --init-vault (a fresh, uninitialized Vault-API server)', () => {
  let server: VaultServerHandle

  beforeAll(async () => {
    builtCli()
    requireTmux()
    server = await startVaultServer({initialize: false, name: 'bootstrap-init'})
  })

  afterAll(async () => {
    await server?.stop()
  })

  test('refused without a terminal: the server stays uninitialized', async () => {
    const dir = testDir('init-refused')
    const config = configFor(dir, server.address)
    const piped = await runBuiltCli(['bootstrap', '--config', config, '--init-vault', 'fresh', '--yes'], {input: ''})
    expect(piped.code).toBe(2)
    expect(piped.stderr).toContain('needs a terminal on stdin')
    const json = await runBuiltCli(['bootstrap', '--config', config, '--init-vault', 'fresh', '--json', '--yes'])
    expect(json.code).toBe(2)
    expect(JSON.parse(json.stdout).error.message).toContain('never prints --json')
    expect((await server.health()).initialized).toBe(false)
  })

  test('initializes, shows the keys once, waits for STORED, clears them from the screen, unseals — and the keys shown work', async () => {
    const started = Date.now()
    const dir = testDir('init')
    const config = configFor(dir, server.address)
    const term = TerminalSession.start([process.execPath, builtCli(), 'bootstrap', '--config', config, '--init-vault', 'fresh', '--key-shares', '3', '--key-threshold', '2'], {
      dir,
      name: 'init',
      env: process.env,
      cwd: PROJECT_ROOT,
    })
    let keys: string[] = []
    let rootToken = ''
    try {
      await term.waitFor('Initialize the Vault of region fresh')
      await term.line('y')
      const shown = await term.waitFor(`Type STORED once`)
      keys = [...shown.matchAll(/^Unseal key \d+: (\S+)$/gm)].map((match) => match[1])
      rootToken = /^Initial root token: (\S+)$/m.exec(shown)?.[1] ?? ''
      expect(keys).toHaveLength(3)
      expect(rootToken).not.toBe('')
      expect(shown).toContain('Store the unseal keys and the root token OFFLINE NOW')
      // Initialized, still sealed until the operator acknowledges.
      expect(await server.health()).toMatchObject({initialized: true, sealed: true})
      await term.line('later')
      await term.waitFor('Not acknowledged: type STORED exactly')
      expect((await server.health()).sealed).toBe(true)
      await term.line('STORED')
      const code = await term.waitExit()
      const after = term.screen()
      expect({code, after}).toEqual({code: 0, after: expect.stringContaining('initialized and unsealed, active')})
      expect(after).toContain('Nothing was stored')
      // What comes next includes the KV v2 engine at the configured mount: a new Vault has none.
      expect(after).toMatch(/enable KV version 2 at the mount .*vault secrets enable -path=secret kv-v2/)
      // Shown once: the screen and its scrollback no longer hold them.
      expectNoLeak(after, {...Object.fromEntries(keys.map((key, index) => [`unseal key ${index + 1}`, key])), 'root token': rootToken}, 'the screen after STORED')
    } finally {
      term.close()
      // The raw terminal stream holds the keys by design (it is the terminal); it goes with the throw-away server.
      rmSync(term.rawLogFile, {force: true})
    }
    expect(await server.health()).toMatchObject({initialized: true, sealed: false, standby: false})

    // The keys shown work: seal with the root token, unseal with two of the other shares.
    const root = client(server.address, rootToken)
    await root.http.request('GET', 'auth/token/lookup-self', {retry: false})
    await root.http.request('PUT', 'sys/seal', {retry: false})
    expect((await server.health()).sealed).toBe(true)
    const anonymous = client(server.address)
    expect((await anonymous.sys.unseal(SecretValue.fromString(keys[2]))).sealed).toBe(true)
    expect((await anonymous.sys.unseal(SecretValue.fromString(keys[1]))).sealed).toBe(false)
    root.http.agent.destroy()
    anonymous.http.agent.destroy()

    // Stored nowhere: no file written since the start holds a key or the token (etcd excluded; the Vault's own data is scanned too).
    const secrets = {...Object.fromEntries(keys.map((key, index) => [`unseal key ${index + 1}`, key])), 'root token': rootToken}
    expectNoLeakInFiles(started, secrets, [join(testEnv().workDir, 'etcd')])

    // Initialization is not repeated.
    const again = TerminalSession.start([process.execPath, builtCli(), 'bootstrap', '--config', config, '--init-vault', 'fresh'], {dir, name: 'init-again', env: process.env, cwd: PROJECT_ROOT})
    try {
      expect(await again.waitExit()).toBe(2)
      expect(again.screen()).toContain('is already initialized: nothing was done')
    } finally {
      again.close()
    }
  })
})
