// Snapshot-only commands against the shared region1 of the integration
// environment (nothing here restores: restores run on servers of their own in
// dr.test.ts).
import {readdirSync} from 'node:fs'

import {region, testEnv} from '../../helpers/env.js'
import {canary, cli, leaked, leakedInFiles, requireBuiltCli, store, workDir, writeAll} from './fixture.js'

describe('dr snapshot of the shared region1', () => {
  test('snapshot, verify and list a region1 snapshot; no value in any output or file', async () => {
    requireBuiltCli()
    const env = testEnv()
    const region1 = region('region1')
    const value = canary('region1')
    const key = `dr-snapshot-test/${value.slice(-6)}`
    const kv = store('region1', region1.address, region1.token)
    await writeAll(kv, {[key]: {password: value}})
    const out = workDir('region1')
    const run = async (args: string[], code: number) => {
      const result = await cli(args, env.tokenEnv, env.configPath)
      expect(leaked(`${result.stdout}${result.stderr}`, [value])).toEqual([])
      if (result.code !== code) throw new Error(`secrets ${args.join(' ')} exited ${result.code}:\n${result.stdout}\n${result.stderr}`)
      return result
    }
    try {
      const snap = await run(['dr', 'snapshot', '--region', 'region1', '--out', out, '--json'], 0)
      expect(snap.json.manifest).toMatchObject({region: 'region1', kind: 'snapshot'})
      expect(snap.json.manifest.keyCounts.mounts[region1.mount]).toBeGreaterThan(0)
      const verify = await run(['dr', 'verify', snap.json.file, '--json'], 0)
      expect(verify.json.inspection.members.map((m: {name: string}) => m.name)).toEqual(expect.arrayContaining(['meta.json', 'state.bin', 'SHA256SUMS']))
      const list = await run(['dr', 'list', out], 0)
      expect(list.stdout).toContain('region1')
      expect(readdirSync(out).sort()).toEqual([`${snap.json.manifest.name}.json`, `${snap.json.manifest.name}.snap`])
      expect(leakedInFiles(out, [value])).toEqual([])
    } finally {
      await kv.delete(key)
      await kv.close()
    }
  })
})
