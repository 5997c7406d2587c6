import type {SecretStore} from '../vault/secret-store.js'
import type {CompareOptions, RegionComparison} from './types.js'

export type {CompareOptions, RegionComparison} from './types.js'

/**
 * Walks both stores under `options.prefix` concurrently and classifies every
 * key. Values are hashed with a random per-run key and dropped at once.
 */
export async function compareRegions(a: SecretStore, b: SecretStore, options: CompareOptions = {}): Promise<RegionComparison> {
  void a
  void b
  void options
  throw new Error('compareRegions: not implemented yet')
}
