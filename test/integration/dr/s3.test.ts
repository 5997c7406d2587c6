// `secrets dr snapshot | list | verify | restore` with snapshots in a bucket of
// a real S3-compatible server (versitygw, test/env/s3.ts), against a real Raft
// server started for this file (restores are destructive).
import {spawn} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {existsSync, readdirSync, readFileSync, truncateSync, writeFileSync} from 'node:fs'
import net from 'node:net'
import {basename, join} from 'node:path'

import {generateIdentity, identityToRecipient} from 'age-encryption'

import {startS3Server, type S3Server} from '../../env/s3.js'
import {builtCli} from '../../helpers/cli.js'
import {startVaultServer, type VaultServerHandle} from '../../helpers/vault-server.js'
import {canary, cli, countingServer, leaked, leakedInFiles, readAll, requireBuiltCli, store, workDir, writeAll, writeConfig, type Plain} from './fixture.js'

const BUCKET = 'dr-snapshots'
const canaries: string[] = []
const secret = (label: string) => {
  const value = canary(label)
  canaries.push(value)
  return value
}

describe('dr with snapshots in an S3 bucket (versitygw, through the built CLI)', () => {
  let vault: VaultServerHandle
  let s3: S3Server
  let counting: Awaited<ReturnType<typeof countingServer>>
  let dir: string
  let config: string
  let env: Record<string, string>
  let original: Plain

  /** Every CLI run: the expected exit code, and neither a canary nor the S3 secret key in its output. */
  async function run(args: string[], expectedCode: number, extraEnv: Record<string, string> = {}) {
    const result = await cli(args, {...env, ...s3.env, ...extraEnv}, config)
    const output = `${result.stdout}\n${result.stderr}`
    expect(leaked(output, [...canaries, s3.secretAccessKey])).toEqual([])
    // The SDK's own Node-version notice (Node 20) is not the operator's concern: bin/run.js turns it off.
    expect(result.stderr).not.toContain('NodeVersionSupportWarning')
    if (result.code !== expectedCode) throw new Error(`secrets ${args.join(' ')} exited ${result.code}, expected ${expectedCode}:\n${output}`)
    return result
  }

  beforeAll(async () => {
    requireBuiltCli()
    dir = workDir('s3')
    ;[vault, s3, counting] = await Promise.all([startVaultServer({initialize: true, name: 'dr-s3'}), startS3Server({workDir: dir, name: 'dr'}), countingServer()])
    await s3.createBucket(BUCKET)
    ;({config, env} = writeConfig(dir, [
      {name: 'drs3', address: vault.address, token: vault.token!},
      {name: 'counter', address: counting.address, token: 'not-a-real-token'},
    ]))
  }, 600_000)

  afterAll(async () => {
    await Promise.all([vault?.stop(), s3?.stop(), counting?.close()])
  })

  test('snapshot to the bucket → list → verify → restore reads back exactly the snapshot → --keep keeps N of this region', async () => {
    const kv = store('drs3', vault.address, vault.token!)
    original = {
      'app/db': {username: 'app', password: secret('db-password')},
      'app/api': {token: secret('api-token')},
      'team/x': {value: secret('x')},
    }
    await writeAll(kv, original)
    const location = `s3://${BUCKET}/vault/drs3`

    const snap = await run(['dr', 'snapshot', '--region', 'drs3', '--out', location, '--json'], 0)
    const file: string = snap.json.file
    expect(file).toMatch(new RegExp(`^s3://${BUCKET}/vault/drs3/\\d{8}T\\d{6}\\.\\d{3}Z-drs3\\.snap$`))
    expect(snap.json.manifestFile).toBe(file.replace(/\.snap$/, '.json'))
    expect(snap.json.manifest).toMatchObject({region: 'drs3', kind: 'snapshot', keyCounts: {mounts: {secret: 3}, stable: true}})
    const name = basename(file)
    expect(await s3.listKeys(BUCKET, 'vault/drs3/')).toEqual([`vault/drs3/${name.replace(/\.snap$/, '.json')}`, `vault/drs3/${name}`])
    expect(await s3.listMultipartUploads(BUCKET)).toEqual([])
    // The object is the archive the manifest records, byte for byte.
    const stored = readFileSync(s3.objectPath(BUCKET, `vault/drs3/${name}`))
    expect(stored.length).toBe(snap.json.manifest.archive.size)

    const list = await run(['dr', 'list', location, '--json'], 0)
    expect(list.json.entries.map((e: any) => [e.file, e.region, e.kind, e.verify.ok, e.verify.contentsChecked])).toEqual([[file, 'drs3', 'snapshot', true, true]])
    expect(list.json.strays).toEqual([])
    const verify = await run(['dr', 'verify', file, '--json'], 0)
    expect(verify.json).toMatchObject({ok: true, encrypted: false, contentsChecked: true, size: stored.length})

    // Change, delete and add keys, then restore from the bucket.
    await writeAll(kv, {'app/db': {username: 'app', password: secret('db-password-new')}, 'new/key': {value: secret('after')}})
    await kv.delete('team/x')
    const work = workDir('s3-restore-work')
    const restore = await run(['dr', 'restore', file, '--region', 'drs3', '--work-dir', work, '--yes', '--json'], 0)
    expect(restore.json).toMatchObject({ok: true, restored: true, serverState: 'healthy', safetySnapshot: {verified: true}})
    expect(restore.json.plan.snapshot.file).toBe(file)
    expect(restore.json.checks.find((c: any) => c.name === 'key versions are the snapshot\'s')).toMatchObject({status: 'passed'})
    expect(await readAll(kv)).toEqual(original)
    // The safety snapshot went to the bucket beside the snapshot; the local copy is gone.
    expect(restore.json.safetySnapshot.file).toMatch(new RegExp(`^s3://${BUCKET}/vault/drs3/.*-drs3\\.safety\\.snap$`))
    expect(readdirSync(work)).toEqual([])

    // Two more snapshots with --keep 2: the oldest regular one goes, the safety snapshot stays.
    await run(['dr', 'snapshot', '--region', 'drs3', '--out', location, '--keep', '2'], 0)
    const third = await run(['dr', 'snapshot', '--region', 'drs3', '--out', location, '--keep', '2', '--json'], 0)
    expect(third.json.pruned.map((p: any) => p.file)).toEqual([file])
    const after = await run(['dr', 'list', location, '--json'], 0)
    expect(after.json.entries.map((e: any) => e.kind).sort()).toEqual(['safety', 'snapshot', 'snapshot'])
    expect(after.json.entries.every((e: any) => e.verify.ok)).toBe(true)
    expect(await s3.listKeys(BUCKET, 'vault/drs3/')).toHaveLength(6)
    expect(leakedInFiles(s3.root, [...canaries, s3.secretAccessKey])).toEqual([])
  })

  test('an age-encrypted snapshot in the bucket: verify checks the hash without the key and everything with it', async () => {
    const identity = await generateIdentity()
    const recipient = await identityToRecipient(identity)
    const keyFile = join(dir, 's3-age-key.txt')
    writeFileSync(keyFile, `${identity}\n`, {mode: 0o600})
    const location = `s3://${BUCKET}/encrypted`
    const snap = await run(['dr', 'snapshot', '--region', 'drs3', '--out', location, '--encrypt-to', recipient, '--json'], 0)
    expect(snap.json.file).toMatch(/-drs3\.snap\.age$/)
    expect(snap.json.manifest.encryption).toEqual({format: 'age', recipients: [recipient]})
    expect(readFileSync(s3.objectPath(BUCKET, `encrypted/${basename(snap.json.file)}`)).subarray(0, 21).toString()).toBe('age-encryption.org/v1')
    const outer = await run(['dr', 'verify', snap.json.file, '--json'], 0)
    expect(outer.json).toMatchObject({ok: true, encrypted: true, contentsChecked: false})
    const full = await run(['dr', 'verify', snap.json.file, '--identity', keyFile, '--json'], 0)
    expect(full.json).toMatchObject({ok: true, encrypted: true, contentsChecked: true})
    const list = await run(['dr', 'list', location, '--identity', keyFile, '--json'], 0)
    expect(list.json.entries.map((e: any) => [e.encrypted, e.verify.contentsChecked])).toEqual([[true, true]])
    for (const result of [snap, outer, full, list]) expect(`${result.stdout}${result.stderr}`).not.toContain(identity)
    expect(leakedInFiles(s3.objectPath(BUCKET, 'encrypted'), canaries)).toEqual([])
  })

  test('an object truncated or altered in the bucket is refused by verify (exit 1) and by restore before any request to Vault (exit 2)', async () => {
    const location = `s3://${BUCKET}/damaged`
    const damage: Record<string, (path: string) => void> = {
      truncated: (path) => truncateSync(path, Math.floor(readFileSync(path).length / 2)),
      altered: (path) => {
        const bytes = readFileSync(path)
        bytes[Math.floor(bytes.length / 2)] ^= 0x01
        writeFileSync(path, bytes)
      },
    }
    for (const [kind, apply] of Object.entries(damage)) {
      const snap = await run(['dr', 'snapshot', '--region', 'drs3', '--out', location, '--no-key-counts', '--json'], 0)
      const file: string = snap.json.file
      apply(s3.objectPath(BUCKET, `damaged/${basename(file)}`))

      const verify = await run(['dr', 'verify', file, '--json'], 1)
      expect([kind, verify.json.ok]).toEqual([kind, false])
      expect(verify.json.problems.length).toBeGreaterThan(0)
      const listed = await run(['dr', 'list', location, '--json'], 1)
      expect(listed.json.entries.find((e: any) => e.file === file).verify.ok).toBe(false)

      const restore = await run(['dr', 'restore', file, '--region', 'counter', '--yes', '--json'], 2)
      expect([kind, restore.json.error.code]).toEqual([kind, 'SNAPSHOT_INVALID'])
      expect(restore.json.error.message).toContain(file)
      expect(counting.requests()).toBe(0)
      // Moved out of the way for the next kind (list would report it again).
      await s3.client.send(new (await import('@aws-sdk/client-s3')).DeleteObjectCommand({Bucket: BUCKET, Key: `damaged/${basename(file)}`}))
      await s3.client.send(new (await import('@aws-sdk/client-s3')).DeleteObjectCommand({Bucket: BUCKET, Key: `damaged/${basename(snap.json.manifestFile)}`}))
    }
  })

  test('a snapshot interrupted mid-upload leaves no object and no unfinished multipart upload', async () => {
    // About 12 MB of incompressible values: more than one 8 MiB part, so the upload is a multipart one.
    const kv = store('drs3', vault.address, vault.token!)
    const bulk: Plain = {}
    for (let index = 0; index < 18; index++) bulk[`bulk/${index}`] = {value: randomBytes(500 * 1024).toString('base64')}
    await writeAll(kv, bulk)
    // The upload goes through a proxy that passes 2 MB/s, so it is under way long enough to be interrupted.
    const slow = await throttlingProxy(new URL(s3.endpoint).port, 2 * 1024 * 1024)
    try {
      const child = spawn(process.execPath, [builtCli(), 'dr', 'snapshot', '--region', 'drs3', '--out', `s3://${BUCKET}/killed`, '--no-key-counts', '--config', config], {
        env: {...process.env, ...env, ...s3.env, AWS_ENDPOINT_URL_S3: slow.endpoint, NO_COLOR: '1'},
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      const output: Buffer[] = []
      child.stdout.on('data', (chunk: Buffer) => output.push(chunk))
      child.stderr.on('data', (chunk: Buffer) => output.push(chunk))
      const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
      // Wait until the multipart upload exists, then interrupt the CLI as a cron timeout would.
      const deadline = Date.now() + 120_000
      while ((await s3.listMultipartUploads(BUCKET, 'killed/')).length === 0) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no multipart upload appeared:\n${Buffer.concat(output).toString()}`)
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      child.kill('SIGTERM')
      expect(await exited).toBe(130)
      expect(leaked(Buffer.concat(output), [...canaries, s3.secretAccessKey])).toEqual([])
    } finally {
      await slow.close()
    }
    expect(await s3.listKeys(BUCKET, 'killed/')).toEqual([])
    expect(await s3.listMultipartUploads(BUCKET, 'killed/')).toEqual([])
    for (const key of Object.keys(bulk)) await kv.delete(key)
  })

  test('wrong credentials and a missing bucket are exit 2 with a message naming bucket, HTTP status and S3 code', async () => {
    const wrong = await run(['dr', 'snapshot', '--region', 'drs3', '--out', `s3://${BUCKET}/x`, '--json'], 2, {AWS_SECRET_ACCESS_KEY: `${s3.secretAccessKey}-wrong`})
    expect(wrong.json.error.code).toBe('S3_ACCESS_DENIED')
    expect(wrong.json.error.message).toContain(`bucket ${BUCKET}`)
    expect(wrong.json.error.message).toMatch(/HTTP 403/)
    expect(wrong.json.error.message).not.toContain(`${s3.secretAccessKey}-wrong`)
    const listWrong = await run(['dr', 'list', `s3://${BUCKET}/x`], 2, {AWS_ACCESS_KEY_ID: 'AKIAUNKNOWN000000000'})
    // AWS answers 403 InvalidAccessKeyId; versitygw 404 XAdminUserNotFound: either is named, with the bucket.
    expect(listWrong.stderr).toMatch(/bucket dr-snapshots\): HTTP (403|404), (InvalidAccessKeyId|XAdminUserNotFound)/)

    const missing = await run(['dr', 'snapshot', '--region', 'drs3', '--out', 's3://no-such-bucket/x', '--json'], 2)
    expect(missing.json.error.code).toBe('S3_NO_SUCH_BUCKET')
    expect(missing.json.error.message).toContain('bucket no-such-bucket')
    expect(missing.json.error.message).toMatch(/HTTP 404/)
    const verifyMissing = await run(['dr', 'verify', 's3://no-such-bucket/x/20250101T000000.000Z-drs3.snap', '--json'], 2)
    expect(verifyMissing.json.error.message).toContain('no-such-bucket')
    expect(existsSync(s3.objectPath('no-such-bucket', ''))).toBe(false)
  })
})

/** A TCP proxy that passes client → server bytes at `bytesPerSecond` (answers unthrottled). */
async function throttlingProxy(targetPort: string, bytesPerSecond: number): Promise<{endpoint: string; close: () => Promise<void>}> {
  const sockets = new Set<net.Socket>()
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(targetPort), '127.0.0.1')
    sockets.add(client).add(upstream)
    client.on('data', (chunk: Buffer) => {
      // Pass the chunk on, then hold the socket for as long as that many bytes take at this rate.
      client.pause()
      upstream.write(chunk)
      setTimeout(() => client.resume(), (chunk.length / bytesPerSecond) * 1000)
    })
    upstream.pipe(client)
    const end = () => {
      client.destroy()
      upstream.destroy()
    }
    client.on('error', end).on('close', end)
    upstream.on('error', end).on('close', end)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as net.AddressInfo
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}
