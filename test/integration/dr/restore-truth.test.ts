// `dr restore` reports success only when the server holds the snapshot's
// data, against a real OpenBao with Raft storage, through
// the built CLI. The fault: the server acknowledges the upload, is killed
// before it applies it (crash, OOM, pod restart), comes back with its old data
// and is unsealed (as auto-unseal would). Health, cluster id and key counts
// all look right; only the Raft index and the recorded key versions tell.
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import http from 'node:http'
import {join} from 'node:path'
import {isDeepStrictEqual} from 'node:util'

import {SecretValue} from '../../../src/lib/secret/secret-value.js'
import {startVaultServer, type VaultServerHandle} from '../../helpers/vault-server.js'
import {canaryCli, cli, leaked, leakedInFiles, readAll, requireBuiltCli, store, workDir, writeAll, writeConfig, type Plain} from './fixture.js'

const PASSWORD_IN_URL = 'url-password-canary-7f3a9c'
const {canaries, secret, run} = canaryCli([PASSWORD_IN_URL])

/**
 * A loopback proxy in front of the server that passes everything through
 * except a snapshot upload: that it reads in full, answers 204 as the server
 * does, and SIGKILLs the server before it could apply anything; it then
 * restarts and unseals the server from its data directory. While the server
 * is down or still sealed, connections are cut, as a load balancer does with
 * a node that is not ready.
 */
async function crashAfterUploadProxy(server: VaultServerHandle) {
  const upstream = new URL(server.address)
  let restarting: Promise<void> | undefined
  let uploads = 0
  // 'swallow': the upload never reaches the server (deterministic: it cannot have applied it).
  // 'forward': the server gets the upload and answers; it is killed the moment its answer arrives (it may or may not have applied it).
  let mode: 'swallow' | 'forward' = 'swallow'
  const crash = () => {
    uploads++
    process.kill(-server.pid!, 'SIGKILL')
    restarting = server.restart().finally(() => {
      restarting = undefined
    })
  }
  const proxy = http.createServer((request, response) => {
    if (restarting) {
      request.resume()
      response.socket?.destroy()
      return
    }
    const upload = request.method === 'POST' && /^\/v1\/sys\/storage\/raft\/snapshot(-force)?$/.test(request.url ?? '')
    if (upload && mode === 'swallow') {
      request.resume()
      request.on('end', () => {
        crash()
        response.writeHead(204).end()
      })
      return
    }
    const forward = http.request({host: upstream.hostname, port: upstream.port, method: request.method, path: request.url, headers: request.headers}, (answer) => {
      if (upload) crash()
      response.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(response)
    })
    forward.on('error', () => response.destroy())
    request.pipe(forward)
  })
  await new Promise<void>((done) => proxy.listen(0, '127.0.0.1', done))
  const {port} = proxy.address() as {port: number}
  return {
    address: `http://127.0.0.1:${port}`,
    uploads: () => uploads,
    mode: (next: 'swallow' | 'forward') => {
      mode = next
    },
    settled: async () => {
      await restarting
    },
    close: () =>
      new Promise<void>((done) => {
        proxy.closeAllConnections()
        proxy.close(() => done())
      }),
  }
}

describe('dr restore proves the data is the snapshot\'s', () => {
  let server: VaultServerHandle
  let proxy: Awaited<ReturnType<typeof crashAfterUploadProxy>>
  let dir: string
  let config: string
  let env: Record<string, string>
  let snapshotFile: string
  let original: Plain

  beforeAll(async () => {
    requireBuiltCli()
    server = await startVaultServer({initialize: true, name: 'dr-truth'})
    proxy = await crashAfterUploadProxy(server)
    dir = workDir('truth')
    ;({config, env} = writeConfig(dir, [
      {name: 'truth', address: server.address, token: server.token!},
      {name: 'crashing', address: proxy.address, token: server.token!},
    ]))
    original = {
      'app/db': {password: secret('db')},
      'app/api': {token: secret('api')},
      'team/a': {value: secret('a')},
    }
    await writeAll(store('truth', server.address, server.token!), original)
    const snap = await run(['dr', 'snapshot', '--region', 'truth', '--out', join(dir, 'snapshots'), '--json'], env, config, 0)
    snapshotFile = snap.json.file
    const evidence = snap.json.manifest.contentEvidence
    // --json sums the evidence up; the manifest file holds a digest per key (and never a value: see the leak checks).
    expect(evidence).toMatchObject({method: 'kv2-current-version-metadata-sha256/v1', stable: true, keys: {secret: 3}})
    const recorded = JSON.parse(readFileSync(snap.json.manifestFile, 'utf8')).contentEvidence
    expect(Object.keys(recorded.mounts.secret)).toHaveLength(3)
    expect(leakedInFiles(join(dir, 'snapshots'), canaries)).toEqual([])
  })

  afterAll(async () => {
    await proxy?.settled()
    await Promise.all([proxy?.close(), server?.stop()])
  })

  test('a server that acknowledged the upload, crashed and came back with its old data: exit 1, not confirmed', async () => {
    const kv = store('truth', server.address, server.token!)
    // The same keys, one value changed: the key counts cannot tell.
    await kv.write('app/db', new Map([['password', SecretValue.fromString(secret('db-after'))]]))
    const before = await readAll(kv)

    const result = await run(['dr', 'restore', snapshotFile, '--region', 'crashing', '--yes', '--no-safety-snapshot', '--json'], env, config, 1)
    expect(proxy.uploads()).toBe(1)
    expect(result.json).toMatchObject({restored: true, ok: false, serverState: 'healthy'})
    const checks = Object.fromEntries(result.json.checks.map((check: any) => [check.name, check]))
    expect(checks['server healthy'].status).toBe('passed')
    expect(checks['key counts per mount'].status).toBe('passed')
    expect(checks['key versions are the snapshot\'s']).toMatchObject({status: 'failed', detail: expect.stringContaining('secret/app/db')})
    // The server really holds its old data: the report told the truth.
    expect(await readAll(store('truth', server.address, server.token!))).toEqual(before)

    const human = await run(['dr', 'restore', snapshotFile, '--region', 'crashing', '--yes', '--no-safety-snapshot'], env, config, 1)
    await proxy.settled()
    expect(human.stdout).toContain('NOT CONFIRMED')
    expect(human.stdout).not.toContain('RESTORED:')
  })

  test('killed the moment it answered a forwarded upload: the exit code says what the server really holds', async () => {
    await proxy.settled()
    const kv = store('truth', server.address, server.token!)
    await kv.write('team/a', new Map([['value', SecretValue.fromString(secret('a-after'))]]))
    proxy.mode('forward')
    try {
      const result = await cli(['dr', 'restore', snapshotFile, '--region', 'crashing', '--yes', '--no-safety-snapshot', '--json'], env, config)
      await proxy.settled()
      expect(leaked(`${result.stdout}${result.stderr}`, canaries)).toEqual([])
      const holdsSnapshot = isDeepStrictEqual(await readAll(store('truth', server.address, server.token!)), original)
      // Whether the server applied the snapshot before it died is a race; the report must not be.
      expect({holdsSnapshot, code: result.code}).toEqual({holdsSnapshot, code: holdsSnapshot ? 0 : 1})
    } finally {
      proxy.mode('swallow')
    }
  })

  test('a real restore of the same change passes the Raft index and key-version checks: exit 0', async () => {
    await proxy.settled()
    const result = await run(['dr', 'restore', snapshotFile, '--region', 'truth', '--yes', '--no-safety-snapshot', '--json'], env, config, 0)
    expect(result.json.checks.map((check: any) => [check.name, check.status])).toEqual([
      ['server healthy', 'passed'],
      ['cluster identity', 'passed'],
      ['raft index past the snapshot\'s', 'passed'],
      ['key counts per mount', 'passed'],
      ['key versions are the snapshot\'s', 'passed'],
    ])
    expect(await readAll(store('truth', server.address, server.token!))).toEqual(original)
  })

  test('a manifest without key versions (older version, --no-key-counts): exit 1, not confirmed, and says how to confirm', async () => {
    const manifestFile = snapshotFile.replace(/\.snap$/, '.json')
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'))
    delete manifest.contentEvidence
    const oldDir = workDir('old-manifest')
    const oldSnapshot = join(oldDir, snapshotFile.split('/').pop()!)
    writeFileSync(oldSnapshot, readFileSync(snapshotFile))
    writeFileSync(oldSnapshot.replace(/\.snap$/, '.json'), JSON.stringify(manifest))

    const result = await run(['dr', 'restore', oldSnapshot, '--region', 'truth', '--yes', '--no-safety-snapshot', '--json'], env, config, 1)
    const content = result.json.checks.find((check: any) => check.name === 'key versions are the snapshot\'s')
    expect(content).toMatchObject({status: 'not-run', detail: expect.stringContaining('--compare-region')})
    expect(result.json.checks.find((check: any) => check.name === 'key counts per mount').status).toBe('passed')
  })

  test('an address with user:password is never printed (13.6): refused with exit 2, the password in no output', async () => {
    const withPassword = new URL(server.address)
    withPassword.username = 'operator'
    withPassword.password = PASSWORD_IN_URL
    const passwordDir = workDir('with-password')
    const {config: passwordConfig, env: passwordEnv} = writeConfig(passwordDir, [{name: 'withpassword', address: withPassword.toString(), token: server.token!}])
    for (const args of [
      ['dr', 'restore', snapshotFile, '--region', 'withpassword', '--dry-run'],
      ['dr', 'restore', snapshotFile, '--region', 'withpassword', '--dry-run', '--json'],
      ['dr', 'snapshot', '--region', 'withpassword', '--out', join(passwordDir, 'out')],
    ]) {
      const result = await run(args, passwordEnv, passwordConfig, 2)
      expect(`${result.stdout}${result.stderr}`).toMatch(/user name or password/)
    }
    // The safe address is shown as configured in the plan and the manifest.
    const dry = await run(['dr', 'restore', snapshotFile, '--region', 'truth', '--dry-run', '--json'], env, config, 0)
    expect(dry.json.plan.target.address).toBe(server.address)
    expect(existsSync(join(passwordDir, 'out'))).toBe(false)
  })
})
