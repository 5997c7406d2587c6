import type {RegionConfig} from '../config/schema.js'
import {ToolkitError} from '../errors/errors.js'
import {displayText} from '../report/display.js'
import {scanRepository, type SopsDetector} from './scan.js'
import {valuesFromSopsBlobs} from './sops-adapter.js'
import {buildPatternSet, MIN_VALUE_BYTES, type KnownValue, type PatternSet} from './value-patterns.js'
import {valuesFromRegions} from './vault-values.js'

export type ValueSourceName = 'sops' | 'vault'

export interface KnownValuesOptions {
  repo: string
  sources: ValueSourceName[]
  detector: SopsDetector
  /** Regions to read for `vault` (from the configuration). */
  regions?: () => RegionConfig[]
  ignoreMac?: boolean
  /** Values shorter than this (bytes) are not searched for; default MIN_VALUE_BYTES. */
  minValueLength?: number
  /** The caller already ran assertCompleteRepository on the repository. */
  repositoryChecked?: boolean
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
    const {report, lfsObjectsDirectory} = await scanRepository(options.repo, {detector: options.detector, repositoryChecked: options.repositoryChecked})
    const {values: decrypted, failures, notEncrypted} = await valuesFromSopsBlobs(options.repo, report.sopsBlobs, {ignoreMac: options.ignoreMac, lfsObjects: lfsObjectsDirectory})
    values.push(...decrypted)
    for (const failure of failures) warnings.push(`could not decrypt ${failure}`)
    if (notEncrypted > 0) {
      warnings.push(`${notEncrypted} fields of the SOPS files were never encrypted by sops (e.g. kind, metadata.name, unencrypted_suffix keys): they are not secrets and are not searched for`)
    }
    if (report.sopsBlobs.length > 0 && failures.length === report.sopsBlobs.length) {
      throw new ToolkitError('NO_VALUES', `none of the ${report.sopsBlobs.length} SOPS blobs could be decrypted, so no value can be searched for (first: ${displayText(failures[0])})`, {
        hint: 'Provide the keys as for sops itself (SOPS_AGE_KEY_FILE, SOPS_AGE_KEY or a GnuPG keyring), or use --values-from vault.',
      })
    }
  }
  if (options.sources.includes('vault')) {
    if (!options.regions) throw new ToolkitError('CONFIG', '--values-from vault needs the regions configuration', {hint: 'Pass --config or set VAULT_ADDR.'})
    values.push(...(await valuesFromRegions(options.regions())))
  }
  if (options.sources.length === 0) return {patterns: undefined, warnings}
  return {patterns: buildPatternSet(values, options.minValueLength ?? MIN_VALUE_BYTES), warnings}
}
