// `dr snapshot` walks every key's metadata before the download and, to see
// whether anything was written meanwhile, again after it — unless the Raft
// index proves that nothing was: the snapshot's index is the index the active
// node had applied before the first walk. These tests drive the library's
// stages against a real Raft server, writing between the stages.
import {findRegion, loadConfig} from '../../../src/lib/config/load.js'
import {runSnapshot, type SnapshotContext} from '../../../src/lib/dr/save.js'
import {connectRegion} from '../../../src/lib/vault/connect.js'
import {startVaultServer, type VaultServerHandle} from '../../helpers/vault-server.js'
import {data, store, workDir, writeAll, writeConfig} from './fixture.js'

describe('dr snapshot: the second key walk is skipped only when the Raft index proves no write happened', () => {
  let server: VaultServerHandle
  let dir: string
  let configPath: string
  let tokenEnv: Record<string, string>

  beforeAll(async () => {
    server = await startVaultServer({initialize: true, name: 'dr-count-after'})
    dir = workDir('count-after')
    ;({config: configPath, env: tokenEnv} = writeConfig(dir, [{name: 'quiet', address: server.address, token: server.token!}]))
    await writeAll(store('quiet', server.address, server.token!), {'app/one': {password: 'one-password-value'}, 'app/two': {password: 'two-password-value'}})
  })

  afterAll(async () => {
    await server?.stop()
  })

  /** Takes a snapshot through the library's stages; `beforeDownload` runs after the first walk, just before the snapshot is requested. */
  async function snapshot(beforeDownload?: () => Promise<void>): Promise<SnapshotContext> {
    const env = {...process.env, ...tokenEnv}
    const vault = await connectRegion(findRegion(loadConfig({path: configPath, env}).config, 'quiet'), {env})
    if (beforeDownload) {
      const admin = vault.admin!
      const request = admin.snapshotStream.bind(admin)
      admin.snapshotStream = async (...args: Parameters<typeof request>) => {
        await beforeDownload()
        return request(...args)
      }
    }
    try {
      return await runSnapshot({vault, outDir: dir, kind: 'snapshot', encryptTo: [], countKeys: true})
    } finally {
      await vault.close()
    }
  }

  test('no write since the first walk: the snapshot is at the index read before it, and the keys are not walked again', async () => {
    const ctx = await snapshot()
    expect(ctx.leaderIndexBeforeCount).toBeGreaterThan(0)
    expect(ctx.inspection!.raft!.index).toBe(ctx.leaderIndexBeforeCount)
    expect(ctx.surveyAfter).toBe(ctx.surveyBefore)
    expect(ctx.manifest!.keyCounts).toMatchObject({mounts: {secret: 2}, stable: true})
    expect(ctx.manifest!.contentEvidence!.stable).toBe(true)
  })

  test('a key written between the first walk and the download: the index moved, the keys are walked again and the counts are marked unstable', async () => {
    const kv = store('quiet', server.address, server.token!)
    let wrote = false
    const ctx = await snapshot(async () => {
      wrote = true
      await kv.write('app/three', data({password: 'three-password-value'}))
    })
    expect(wrote).toBe(true)
    expect(ctx.inspection!.raft!.index).toBeGreaterThan(ctx.leaderIndexBeforeCount!)
    expect(ctx.surveyAfter).not.toBe(ctx.surveyBefore)
    expect(ctx.surveyAfter!.mounts.secret.count).toBe(3)
    expect(ctx.manifest!.keyCounts!.stable).toBe(false)
  })
})
