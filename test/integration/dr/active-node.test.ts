// Active-node discovery on a real two-node OpenBao Raft cluster: a leader
// (startVaultServer) and a standby that joins it (retry_join) and is unsealed
// with the cluster's key. A region that lists the standby first
// (vault.addresses) is still snapshotted from the leader; listed alone, the
// standby is refused with a hint, as before.
import {mkdirSync, mkdtempSync, readdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {regionSchema} from '../../../src/lib/config/schema.js'
import {SecretValue} from '../../../src/lib/secret/secret-value.js'
import type {StatusReport} from '../../../src/lib/status/output-schema.js'
import {VaultHttp} from '../../../src/lib/vault/vault-http.js'
import {VaultSys} from '../../../src/lib/vault/vault-sys.js'
import {freePorts, waitFor} from '../../env/net.js'
import {logTail, type ManagedProcess, startProcess} from '../../env/processes.js'
import {PROJECT_ROOT, requireBinary} from '../../helpers/binaries.js'
import {runCli} from '../../helpers/cli.js'
import {writeConfig} from '../../helpers/config.js'
import {testEnv} from '../../helpers/env.js'
import {raftConfig, startVaultServer, type VaultServerHandle} from '../../helpers/vault-server.js'

let leader: VaultServerHandle
let standby: ManagedProcess
let standbyAddress: string
let dir: string

/** Starts a second Raft node that joins `leader` and unseals it with the leader's key; resolves once it is a standby. */
async function startStandby(workDir: string): Promise<{process: ManagedProcess; address: string}> {
  const [port, clusterPort] = await freePorts(2)
  const home = join(workDir, 'vault', `active-standby-${port}`)
  mkdirSync(join(home, 'raft'), {recursive: true})
  const configFile = join(home, 'config.hcl')
  writeFileSync(configFile, raftConfig(`standby-${port}`, join(home, 'raft'), port, clusterPort, {retryJoin: leader.address}))
  const logFile = join(workDir, 'logs', `vault-active-standby-${port}.log`)
  const process_ = startProcess({name: 'vault active-standby', command: requireBinary('bao'), args: ['server', `-config=${configFile}`], logFile})
  const address = `http://127.0.0.1:${port}`
  const http = new VaultHttp('standby', regionSchema.shape.vault.parse({address, requestTimeoutMs: 5000}), {retry: {attempts: 1, baseDelayMs: 0, maxDelayMs: 0}})
  const sys = new VaultSys(http)
  const abort = () => (process_.running() ? undefined : `the standby exited; its log ends with:\n${logTail(logFile)}`)
  try {
    await waitFor('the standby to listen', () => sys.health(), {timeoutMs: 60_000, intervalMs: 200, abort})
    // Unsealing a node that joins by retry_join also completes the join.
    await waitFor(
      'the standby to join and unseal',
      async () => {
        const health = await sys.health()
        if (health.sealed) await sys.unseal(SecretValue.fromString(leader.unsealKey!)).catch(() => undefined)
        return health.initialized && !health.sealed && health.standby ? health : undefined
      },
      {timeoutMs: 90_000, intervalMs: 500, abort},
    )
  } finally {
    http.close()
  }
  return {process: process_, address}
}

/**
 * Waits until the leader's Raft autopilot lists both nodes and calls the
 * cluster healthy. A node that has just joined is answered as an unsealed
 * standby before autopilot has seen it; once listed it is unhealthy (last
 * term 0) until the next autopilot update, and `status` rightly reports that
 * as degraded (exit 1). Measured: about a second after the join.
 */
async function waitForHealthyAutopilot(): Promise<void> {
  const http = new VaultHttp('leader', regionSchema.shape.vault.parse({address: leader.address, requestTimeoutMs: 5000}), {retry: {attempts: 1, baseDelayMs: 0, maxDelayMs: 0}})
  http.setToken(SecretValue.fromString(leader.token!))
  type AutopilotState = {data?: {healthy?: boolean; servers?: Record<string, {healthy?: boolean}>}}
  try {
    await waitFor(
      'Raft autopilot to list both nodes and report the cluster healthy',
      async () => {
        const {body} = await http.request<AutopilotState>('GET', 'sys/storage/raft/autopilot/state', {retry: false})
        const servers = Object.values(body?.data?.servers ?? {})
        return body?.data?.healthy && servers.length === 2 && servers.every((server) => server.healthy) ? true : undefined
      },
      {timeoutMs: 90_000, intervalMs: 500},
    )
  } finally {
    http.close()
  }
}

function writeRegionConfig(name: string, addresses: string[]): {config: string; env: Record<string, string>} {
  return writeConfig(dir, [{name: 'ha', address: addresses[0], addresses: addresses.length > 1 ? addresses : undefined, token: leader.token!}], {file: `${name}.yaml`})
}

beforeAll(async () => {
  const env = testEnv()
  dir = mkdtempSync(join(PROJECT_ROOT, 'test-output', 'active-node-'))
  leader = await startVaultServer({initialize: true, name: 'active-leader'})
  ;({process: standby, address: standbyAddress} = await startStandby(env.workDir))
  await waitForHealthyAutopilot()
})

afterAll(async () => {
  await standby?.stop()
  await leader?.stop()
})

describe('active-node discovery (vault.addresses)', () => {
  test('the standby alone is refused with a hint; listed first before the leader, dr snapshot snapshots the leader', async () => {
    const alone = writeRegionConfig('standby-only', [standbyAddress])
    const refused = await runCli(['dr', 'snapshot', '--config', alone.config, '--region', 'ha', '--out', join(dir, 'refused')], {env: alone.env})
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain(`region ha (${standbyAddress}) is a standby node`)

    const both = writeRegionConfig('both', [standbyAddress, leader.address])
    const out = join(dir, 'snapshots')
    const run = await runCli(['dr', 'snapshot', '--config', both.config, '--region', 'ha', '--out', out, '--json'], {env: both.env})
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    const result = JSON.parse(run.stdout) as {file: string; manifest: {region: string}}
    expect(result.manifest.region).toBe('ha')
    expect(readdirSync(out).filter((name) => name.endsWith('.snap'))).toHaveLength(1)
    const verify = await runCli(['dr', 'verify', result.file])
    expect(verify.code).toBe(0)
  })

  test('status checks every node and names the active one', async () => {
    const both = writeRegionConfig('status', [standbyAddress, leader.address])
    const run = await runCli(['status', '--config', both.config, '--no-eso', '--json'], {env: both.env})
    // The report says why when it is not healthy.
    if (run.code !== 0) throw new Error(`status exited ${run.code}:\n${run.stdout}\n${run.stderr}`)
    const [region] = (JSON.parse(run.stdout) as StatusReport).regions
    expect(region).toMatchObject({haState: 'active', haEnabled: true, activeNode: leader.address})
    expect(region.nodes).toEqual([
      expect.objectContaining({address: standbyAddress, reachable: true, standby: true, sealed: false}),
      expect.objectContaining({address: leader.address, reachable: true, standby: false, sealed: false}),
    ])
    // Autopilot answers the root token; the new node may still be a non-voter while it stabilizes.
    expect(region.autopilot).toBeDefined()
  })
})
