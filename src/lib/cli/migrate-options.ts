import type {RegionConfig} from '../config/schema.js'
import {MANAGED_BY_LABEL, MANAGED_BY_VALUE, type DeletionPolicy} from '../eso/push-secret.js'
import {loadMappingFile} from '../migrate/mapping.js'
import type {PlanOptions} from '../migrate/plan.js'
import type {SopsEngine} from '../sops/decrypt.js'

/** The flags that decide what a migration plans: `migrate sops` and `migrate finish` must read them alike. */
export interface MigrationPlanFlags {
  engine: string
  'ignore-mac': boolean
  namespace?: string
  mapping?: string
  'remote-key-template': string
  'deletion-policy': string
  'refresh-interval': string
  'continue-on-error'?: boolean
  concurrency: number
}

/** The plan options of those flags, for the given paths, working directory and regions. */
export function migrationPlanOptions(flags: MigrationPlanFlags, where: {paths: string[]; cwd: string; regions: RegionConfig[]}): Omit<PlanOptions, 'onProgress'> {
  const {cwd} = where
  return {
    paths: where.paths.length > 0 ? where.paths : ['.'],
    cwd,
    regions: where.regions,
    decrypt: {engine: flags.engine as SopsEngine, ignoreMac: flags['ignore-mac']},
    mapping: {cwd, namespace: flags.namespace, mapping: flags.mapping ? loadMappingFile(flags.mapping) : undefined},
    push: {
      remoteKeyTemplate: flags['remote-key-template'],
      deletionPolicy: flags['deletion-policy'] as DeletionPolicy,
      refreshInterval: flags['refresh-interval'],
      labels: {[MANAGED_BY_LABEL]: MANAGED_BY_VALUE},
    },
    continueOnError: flags['continue-on-error'] ?? false,
    concurrency: flags.concurrency,
  }
}
