// The integration environment works end to end: ESO pushes a Kubernetes
// Secret to both Vault regions through their ClusterSecretStores, and a Raft
// snapshot of a region has the layout `dr` relies on.
import {randomBytes} from 'node:crypto'
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {pipeline} from 'node:stream/promises'
import {createGunzip} from 'node:zlib'

import tar from 'tar-stream'

import {findRegion, loadConfig} from '../../../src/lib/config/load.js'
import {OPTIONAL_MEMBERS, REQUIRED_MEMBERS} from '../../../src/lib/dr/archive.js'
import {buildPushSecret, DEFAULT_REMOTE_KEY_TEMPLATE, remoteKeyFor} from '../../../src/lib/eso/push-secret.js'
import {PUSH_SECRET_API_VERSION} from '../../../src/lib/eso/api.js'
import {readyCondition} from '../../../src/lib/eso/status.js'
import {KubeClient} from '../../../src/lib/kube/client.js'
import {SecretValue} from '../../../src/lib/secret/secret-value.js'
import {connectRegion, type RegionVault} from '../../../src/lib/vault/connect.js'
import {waitFor} from '../../env/net.js'
import {testEnv} from '../../helpers/env.js'

const env = testEnv()
const {config} = loadConfig({path: env.configPath})
const credentials = {...process.env, ...env.tokenEnv}

async function withRegion<T>(name: string, use: (vault: RegionVault) => Promise<T>): Promise<T> {
  const vault = await connectRegion(findRegion(config, name), {env: credentials})
  try {
    return await use(vault)
  } finally {
    await vault.close()
  }
}

describe('integration environment', () => {
  const kube = KubeClient.connect({kubeconfig: env.kubeconfig})
  const namespace = `smoke-${randomBytes(3).toString('hex')}`
  const target = {namespace, name: 'smoke-credentials', keys: ['password']}
  // A canary: if it shows up in a log, something printed a value.
  const canary = SecretValue.fromString(`canary-${randomBytes(12).toString('hex')}`)

  afterAll(async () => {
    await kube.delete(PUSH_SECRET_API_VERSION, 'PushSecret', target.name, namespace)
    await kube.delete('v1', 'Secret', target.name, namespace)
  })

  test('ESO pushes a Secret through a PushSecret to both regional Vaults', async () => {
    await kube.ensureNamespace(namespace)
    await kube.applySecret({namespace, name: target.name, type: 'Opaque', labels: {}, annotations: {}, data: new Map([['password', canary]])})
    const pushSecret = buildPushSecret(target, config.regions, {
      remoteKeyTemplate: DEFAULT_REMOTE_KEY_TEMPLATE,
      deletionPolicy: 'None',
      refreshInterval: '10s',
      labels: {},
    })
    await kube.apply(pushSecret)

    const ready = await waitFor(`PushSecret ${namespace}/${target.name} to be Ready`, async () => {
      const condition = readyCondition(await kube.read(PUSH_SECRET_API_VERSION, 'PushSecret', target.name, namespace))
      if (condition?.status === 'True') return condition
      throw new Error(condition ? `Ready=${condition.status}: ${condition.message ?? ''}` : 'no Ready condition yet')
    }, {timeoutMs: 90_000, intervalMs: 250})
    expect(ready.status).toBe('True')

    const remoteKey = remoteKeyFor(DEFAULT_REMOTE_KEY_TEMPLATE, target)
    for (const region of env.regions) {
      const stored = await withRegion(region.name, (vault) => vault.store.read(remoteKey))
      expect(stored).toBeDefined()
      expect(stored?.data.get('password')?.equals(canary)).toBe(true)
    }
  }, 120_000)

  // Vault adds SHA256SUMS.sealed (the sums encrypted with its barrier); the three members must be there either way.
  test('a Raft snapshot of region1 is a gzip tar of meta.json, state.bin and SHA256SUMS', async () => {
    const members: string[] = []
    const entries = tar.extract()
    entries.on('entry', (header, stream, next) => {
      members.push(header.name)
      stream.on('end', next)
      stream.resume()
    })
    await withRegion('region1', async (vault) => pipeline(await vault.admin.snapshotStream(), createGunzip(), entries))
    expect(members).toEqual(expect.arrayContaining([...REQUIRED_MEMBERS]))
    for (const name of members) expect([...REQUIRED_MEMBERS, ...OPTIONAL_MEMBERS]).toContain(name)
    expect(new Set(members).size).toBe(members.length)
  }, 60_000)

  test('no server log of this run contains the canary value', () => {
    const logsDir = env.logsDir ?? join(env.workDir, 'logs')
    const leaks = readdirSync(logsDir).filter((file) => readFileSync(join(logsDir, file)).includes(canary.revealBytes()))
    expect(leaks).toEqual([])
  })
})
