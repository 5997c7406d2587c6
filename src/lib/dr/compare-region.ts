import {compareRegions} from '../compare/compare.js'
import {renderSummary} from '../compare/render.js'
import type {RegionComparison} from '../compare/types.js'
import type {RegionStore} from '../vault/connect.js'

export interface RegionCheck {
  inSync: boolean
  summary: string
  comparison: RegionComparison
}

/**
 * `dr restore --compare-region`: the restored region against another, key by
 * key, with the same code as `secrets verify regions` (never a second copy).
 */
export async function compareWithRegion(restored: RegionStore, other: RegionStore): Promise<RegionCheck> {
  await other.store.ready()
  const comparison = await compareRegions(restored.store, other.store)
  return {inSync: comparison.inSync, summary: renderSummary(comparison, 'table').split('\n')[0], comparison}
}
