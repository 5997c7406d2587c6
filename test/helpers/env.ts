// The contract between the integration global setup (test/env/) and the
// integration tests. The global setup starts the servers once and writes a
// TestEnv as JSON to the file named by $SECRETS_TOOLKIT_TEST_ENV; tests read
// it with testEnv(). Everything here is test-only: the tokens are root tokens
// of throw-away servers on loopback ports.
import {readFileSync} from 'node:fs'

export const TEST_ENV_VARIABLE = 'SECRETS_TOOLKIT_TEST_ENV'

export interface TestRegion {
  /** region1 | region2 */
  name: string
  /** http://127.0.0.1:PORT */
  address: string
  /** Root token of this test server. */
  token: string
  /** Unseal key (1 share, threshold 1). */
  unsealKey: string
  /** KV v2 mount: "secret". */
  mount: string
  /** The ESO ClusterSecretStore that pushes to this server: vault-region1 | vault-region2. */
  clusterSecretStore: string
  /** Raft data directory. */
  dataDir: string
}

export interface TestEnv {
  /** A secrets-toolkit.yaml naming both regions (tokens come from the environment, see tokenEnv). */
  configPath: string
  /** Admin kubeconfig for the test kube-apiserver. */
  kubeconfig: string
  /** Variables a CLI run needs besides configPath/kubeconfig: SECRETS_TOOLKIT_REGION1_VAULT_TOKEN, …, KUBECONFIG. */
  tokenEnv: Record<string, string>
  regions: TestRegion[]
  /** Namespace where the ClusterSecretStores' token Secrets live. */
  esoNamespace: string
  /** Paths of the real binaries in use (sops, bao, etcd, kube-apiserver, kubectl, eso). */
  binaries: Record<string, string>
  /** Directory for this run's logs and scratch files (under test-output/). */
  workDir: string
  /** workDir/logs: one log per server (etcd, kube-apiserver, eso, vault-region1, …) and timings.json. */
  logsDir?: string
}

export function testEnv(): TestEnv {
  const file = process.env[TEST_ENV_VARIABLE]
  if (!file) {
    throw new Error(
      `${TEST_ENV_VARIABLE} is not set: integration tests run only under the integration global setup.\n` +
        'Run: npm run test:integration   (it builds or finds the real servers; see docs/testing.md)',
    )
  }
  return JSON.parse(readFileSync(file, 'utf8')) as TestEnv
}

export function region(name: string): TestRegion {
  const found = testEnv().regions.find((candidate) => candidate.name === name)
  if (!found) throw new Error(`the test environment has no region ${name}`)
  return found
}
