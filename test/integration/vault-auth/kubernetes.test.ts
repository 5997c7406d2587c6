// Kubernetes auth to Vault, for real: two OpenBao servers of this test get the
// `kubernetes` auth method, configured against the test kube-apiserver (its
// address and CA; Vault sends each login's JWT to the apiserver's TokenReview
// API with that JWT itself, so the ServiceAccount is bound to
// system:auth-delegator — what the Helm chart does). A ServiceAccount token
// from the TokenRequest API, written to a file as the kubelet projects it, is
// what `verify regions` logs in with. A token the apiserver does not vouch
// for is refused by Vault.
import {randomBytes} from 'node:crypto'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import * as k8s from '@kubernetes/client-node'
import {stringify} from 'yaml'

import {regionSchema} from '../../../src/lib/config/schema.js'
import {KubeClient} from '../../../src/lib/kube/client.js'
import {connectRegion} from '../../../src/lib/vault/connect.js'
import {sleep} from '../../env/net.js'
import {PROJECT_ROOT} from '../../helpers/binaries.js'
import {canary, expectNoCanary} from '../../helpers/canary.js'
import {runCli} from '../../helpers/cli.js'
import {testEnv} from '../../helpers/env.js'
import {startVaultServer, type VaultServerHandle} from '../../helpers/vault-server.js'

const env = testEnv()
const id = randomBytes(3).toString('hex')
const NS = `vault-auth-${id}`
const SA = 'secrets-toolkit'
const value = canary('k8s-auth')
let servers: VaultServerHandle[] = []
let dir: string
let jwt: string
/** A fresh ServiceAccount token from the TokenRequest API, as the kubelet projects it. */
let requestToken: () => Promise<string>

async function vault(server: VaultServerHandle, method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${server.address}/v1/${path}`, {method, headers: {'X-Vault-Token': server.token!}, body: body === undefined ? undefined : JSON.stringify(body)})
  const text = await response.text()
  if (response.status >= 300) throw new Error(`${method} ${path}: HTTP ${response.status} ${text}`)
  return text ? JSON.parse(text) : undefined
}

/** The kubernetes auth method as an operator sets it up for the toolkit's ServiceAccount. */
async function configureKubernetesAuth(server: VaultServerHandle, apiserver: string, caPem: string): Promise<void> {
  await vault(server, 'POST', 'sys/auth/kubernetes', {type: 'kubernetes'})
  await vault(server, 'POST', 'auth/kubernetes/config', {kubernetes_host: apiserver, kubernetes_ca_cert: caPem, disable_local_ca_jwt: true})
  await vault(server, 'PUT', 'sys/policies/acl/secrets-toolkit-read', {policy: 'path "secret/*" { capabilities = ["read", "list"] }\npath "sys/mounts" { capabilities = ["read"] }'})
  await vault(server, 'POST', 'auth/kubernetes/role/secrets-toolkit', {
    bound_service_account_names: [SA],
    bound_service_account_namespaces: [NS],
    token_policies: ['secrets-toolkit-read'],
    token_ttl: '1h',
  })
}

function writeKubernetesConfig(tokenFile: string): {config: string} {
  const config = join(dir, `kubernetes-auth-${randomBytes(3).toString('hex')}.yaml`)
  writeFileSync(
    config,
    stringify({
      regions: servers.map((server, index) => ({
        name: `k8s${index + 1}`,
        clusterSecretStore: `vault-k8s${index + 1}`,
        vault: {address: server.address, requestTimeoutMs: 10_000, auth: {method: 'kubernetes', role: 'secrets-toolkit', tokenFile}},
      })),
    }),
  )
  return {config}
}

beforeAll(async () => {
  dir = mkdtempSync(join(PROJECT_ROOT, 'test-output', 'vault-auth-'))
  const kubeConfig = new k8s.KubeConfig()
  kubeConfig.loadFromFile(env.kubeconfig)
  const cluster = kubeConfig.getCurrentCluster()!
  const caPem = Buffer.from(cluster.caData!, 'base64').toString('utf8')

  // The ServiceAccount, allowed to have its tokens reviewed (Vault reviews a login's JWT with that JWT).
  const kube = KubeClient.connect({kubeconfig: env.kubeconfig})
  await kube.ensureNamespace(NS)
  const core = kubeConfig.makeApiClient(k8s.CoreV1Api)
  await core.createNamespacedServiceAccount({namespace: NS, body: {metadata: {name: SA}}})
  await kubeConfig.makeApiClient(k8s.RbacAuthorizationV1Api).createClusterRoleBinding({
    body: {
      metadata: {name: `${NS}-tokenreview`},
      roleRef: {apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:auth-delegator'},
      subjects: [{kind: 'ServiceAccount', name: SA, namespace: NS}],
    },
  })
  requestToken = async () => (await core.createNamespacedServiceAccountToken({namespace: NS, name: SA, body: {spec: {expirationSeconds: 3600, audiences: []}}})).status!.token
  jwt = await requestToken()

  servers = await Promise.all([startVaultServer({initialize: true, name: 'k8s-auth-1'}), startVaultServer({initialize: true, name: 'k8s-auth-2'})])
  for (const server of servers) {
    await configureKubernetesAuth(server, cluster.server, caPem)
    await vault(server, 'POST', 'secret/data/apps/payments', {data: {password: value}})
  }
})

afterAll(async () => {
  await Promise.all(servers.map((server) => server.stop()))
})

describe('kubernetes auth method', () => {
  test('verify regions logs in to both Vaults with a ServiceAccount token (TokenRequest) reviewed by the real apiserver', async () => {
    const tokenFile = join(dir, 'token')
    writeFileSync(tokenFile, jwt, {mode: 0o600})
    const {config} = writeKubernetesConfig(tokenFile)
    // No Vault token anywhere in the environment: the only credential is the file.
    const run = await runCli(['verify', 'regions', '--config', config, '--json'], {env: {VAULT_TOKEN: '', SECRETS_TOOLKIT_REGION1_VAULT_TOKEN: '', SECRETS_TOOLKIT_REGION2_VAULT_TOKEN: ''}})
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    expect(JSON.parse(run.stdout)).toMatchObject({inSync: true, keysCompared: 1})
    expectNoCanary([run.stdout, run.stderr], [value, jwt])

    // The token the toolkit got is the role's: status reads its TTL (1h, renewable).
    const status = await runCli(['status', '--config', config, '--no-eso', '--min-token-ttl', '30m', '--json'], {env: {VAULT_TOKEN: ''}})
    expect(status.code).toBe(0)
    for (const region of JSON.parse(status.stdout).regions) {
      expect(region.token).toMatchObject({expires: true, renewable: true})
      expect(region.token.ttlSeconds).toBeGreaterThan(3000)
    }
    expectNoCanary([status.stdout, status.stderr], [jwt])
  })

  test('a long run logs in again when its Vault token reaches its max TTL, reading the rotated token file again', async () => {
    const [server] = servers
    await vault(server, 'POST', 'auth/kubernetes/role/short-lived', {bound_service_account_names: [SA], bound_service_account_namespaces: [NS], token_policies: ['secrets-toolkit-read'], token_ttl: '6s', token_max_ttl: '6s'})
    const tokenFile = join(dir, 'rotating-token')
    writeFileSync(tokenFile, jwt, {mode: 0o600})
    const region = regionSchema.parse({name: 'k8s1', clusterSecretStore: 'vault-k8s1', vault: {address: server.address, auth: {method: 'kubernetes', role: 'short-lived', tokenFile}}})
    const connected = await connectRegion(region, {env: {}})
    try {
      expect((await connected.store.read('apps/payments'))?.version).toBe(1)
      // The role's token: it can never live longer than 6 s (token_max_ttl), renewed or not.
      expect(await connected.admin.tokenInfo()).toMatchObject({expires: true, ttlSeconds: expect.any(Number)})
      expect((await connected.admin.tokenInfo()).ttlSeconds).toBeLessThanOrEqual(6)
      // The kubelet rotates the projected token; the first one is no longer in the file.
      writeFileSync(tokenFile, await requestToken(), {mode: 0o600})
      // Three times the max TTL: the first token, and every one before the last, has expired.
      await sleep(18_000)
      // Still reading, with a live token of the role (lookup-self of an expired token is refused): the toolkit logged in again.
      expect((await connected.store.read('apps/payments'))?.version).toBe(1)
      const info = await connected.admin.tokenInfo()
      expect(info.expires).toBe(true)
      // A renewal capped by the max TTL logs in again at once, so the token in use keeps at least a third of its
      // TTL (2 s here); Vault reports whole seconds, and a token in its last second would read 0.
      expect(info.ttlSeconds).toBeGreaterThan(0)
      expect(info.ttlSeconds).toBeLessThanOrEqual(6)
    } finally {
      await connected.close()
    }
  })

  test('a JWT the apiserver does not vouch for is refused by Vault: exit 2, nothing of the token shown', async () => {
    const forged = `${jwt.slice(0, -8)}AAAAAAAA`
    const tokenFile = join(dir, 'forged-token')
    writeFileSync(tokenFile, forged, {mode: 0o600})
    const {config} = writeKubernetesConfig(tokenFile)
    const run = await runCli(['verify', 'regions', '--config', config], {env: {VAULT_TOKEN: ''}})
    expect(run.code).toBe(2)
    expect(run.stderr).toMatch(/k8s1|k8s2/)
    expect(run.stderr).toMatch(/denied|permission|403/i)
    expectNoCanary([run.stdout, run.stderr], [forged, jwt])
  })

  test('a missing token file names the file and the region', async () => {
    const {config} = writeKubernetesConfig(join(dir, 'no-such-token'))
    const run = await runCli(['verify', 'regions', '--config', config], {env: {VAULT_TOKEN: ''}})
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('cannot read service-account token file')
    expect(run.stderr).toContain('no-such-token (ENOENT)')
  })
})
