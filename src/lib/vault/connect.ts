import {resolveVaultLogin} from '../config/credentials.js'
import {addressCredentialProblem, type RegionConfig} from '../config/schema.js'
import {ToolkitError} from '../errors/errors.js'
import {displayText} from '../report/display.js'
import {TokenKeeper} from './auth.js'
import {withActiveNode} from './nodes.js'
import type {Deadline, RetryPolicy} from './retry.js'
import {withStoreRetry} from './retrying-store.js'
import type {SecretStore} from './secret-store.js'
import {type RequestStats, VaultHttp} from './vault-http.js'
import {VaultKvStore} from './vault-kv-store.js'
import {type VaultAdmin, VaultSys} from './vault-sys.js'

/**
 * One region as domain code sees it: its name, its store (the SecretStore
 * interface: what another backend would implement too) and, for a Vault,
 * the admin side (health, seal, leader, Raft snapshots) that dr needs.
 */
export interface RegionStore {
  name: string
  store: SecretStore
  admin?: VaultAdmin
  close(): Promise<void>
}

/**
 * A region's KV v2 mount as callers get it: the SecretStore, its calls
 * retried (withStoreRetry), plus the mount's name and the KV-only destroy
 * (tests plant destroyed versions with it; not retried).
 */
export type VaultStore = SecretStore & Pick<VaultKvStore, 'mount' | 'destroyVersions'>

/** Everything a command needs to talk to one region's Vault. */
export interface RegionVault extends RegionStore {
  region: RegionConfig
  store: VaultStore
  admin: VaultAdmin
  /** The store of another KV v2 mount on the same connection (dr surveys every mount); closing it is this region's business. */
  storeFor(mount: string): SecretStore
  /** Holds every request of this region to the command's overall deadline (`--deadline`), or to none. */
  setDeadline(deadline: Deadline | undefined): void
  /** What the requests of this region met so far (retries, bad answers, timeouts): counts only, `verify regions` reports them. */
  requestStats(): RequestStats
}

export interface ConnectOptions {
  env?: NodeJS.ProcessEnv
  retry?: RetryPolicy
  /** Skip login (e.g. for sys/health or sys/init on an uninitialized server). */
  anonymous?: boolean
}

export async function connectRegion(region: RegionConfig, options: ConnectOptions = {}): Promise<RegionVault> {
  // The configuration loader refuses these already; a RegionConfig built in code (the library API) is checked here,
  // because a user:password in the address would be sent as Basic auth and shown by every message naming the server.
  const addressProblem = addressCredentialProblem(region.vault.address)
  if (addressProblem) {
    throw new ToolkitError('CONFIG_INVALID', `region ${displayText(region.name)}: vault.address ${addressProblem}`, {hint: 'Remove it from the address; see docs/configuration.md.'})
  }
  // A region listing several nodes is served by its active one (a standby cannot snapshot, restore or write).
  region = await withActiveNode(region)
  const http = new VaultHttp(region.name, region.vault, {retry: options.retry})
  // One retry policy for the region: the store's calls are retried by the wrapper (counted in the
  // request statistics, with the messages that say why retrying stopped); sys and login requests by VaultHttp.
  const retried = (kv: VaultKvStore): VaultStore =>
    Object.assign(
      withStoreRetry(kv, http.retryPolicy, {
        deadline: () => http.deadline,
        onRetry: () => void http.stats.retried++,
        exhausted: (error, exhaustion) => http.retriesStopped(error, exhaustion),
      }),
      {mount: kv.mount, destroyVersions: (key: string, versions: number[]) => kv.destroyVersions(key, versions)},
    )
  const kv = new VaultKvStore(http, region.vault.mount)
  const store = retried(kv)
  const admin = new VaultSys(http)
  let keeper: TokenKeeper | undefined
  if (!options.anonymous) {
    keeper = new TokenKeeper(http, resolveVaultLogin(region, options.env))
    await keeper.start()
  }
  return {
    name: region.name,
    region,
    store,
    admin,
    storeFor: (mount) => (mount === kv.mount ? store : retried(new VaultKvStore(http, mount))),
    setDeadline: (deadline) => void (http.deadline = deadline),
    requestStats: () => ({...http.stats}),
    async close() {
      keeper?.stop()
      await store.close()
    },
  }
}
