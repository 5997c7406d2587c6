import type {RegionConfig} from '../config/schema.js'
import {ToolkitError} from '../errors/errors.js'
import {scanRepository, type SopsDetector} from './scan.js'
import {valuesFromSopsBlobs} from './sops-adapter.js'
import {buildPatternSet, type KnownValue, type PatternSet} from './value-patterns.js'
import {valuesFromRegions} from './vault-values.js'

export type ValueSourceName = 'sops' | 'vault'

export interface KnownValuesOptions {
  repo: string
  sources: ValueSourceName[]
  detector: SopsDetector
  /** Regions to read for `vault` (from the configuration). */
  regions?: () => RegionConfig[]
  ignoreMac?: boolean
}

/**
 * Gathers the plaintext values to look for, in memory: from the SOPS files in
 * the repository's own history (decrypted) and/or the regions' KV trees.
 * Returns warnings naming what could not be read — never values.
 */
export async function loadKnownValues(options: KnownValuesOptions): Promise<{patterns: PatternSet | undefined; warnings: string[]}> {
  const values: KnownValue[] = []
  const warnings: string[] = []
  if (options.sources.includes('sops')) {
    const {report} = await scanRepository(options.repo, {detector: options.detector})
    const {values: decrypted, failures} = await valuesFromSopsBlobs(options.repo, report.sopsBlobs, {ignoreMac: options.ignoreMac})
    values.push(...decrypted)
    for (const failure of failures) warnings.push(`could not decrypt ${failure}`)
    if (report.sopsBlobs.length > 0 && decrypted.length === 0) {
      throw new ToolkitError('NO_VALUES', `none of the ${report.sopsBlobs.length} SOPS blobs could be decrypted, so no value can be searched for`, {
        hint: 'Provide the keys as for sops itself (SOPS_AGE_KEY_FILE, SOPS_AGE_KEY or a GnuPG keyring), or use --values-from vault.',
      })
    }
  }
  if (options.sources.includes('vault')) {
    if (!options.regions) throw new ToolkitError('CONFIG', '--values-from vault needs the regions configuration', {hint: 'Pass --config or set VAULT_ADDR.'})
    values.push(...(await valuesFromRegions(options.regions())))
  }
  if (options.sources.length === 0) return {patterns: undefined, warnings}
  return {patterns: buildPatternSet(values), warnings}
}
