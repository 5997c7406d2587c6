import {createHash} from 'node:crypto'

import {ToolkitError} from '../errors/errors.js'
import {MANAGED_BY_LABEL, MANAGED_BY_VALUE} from '../eso/push-secret.js'
import type {KubeClient, KubeObject} from '../kube/client.js'
import type {MigrationPlan} from './plan.js'

/**
 * What a `migrate sops` run set out to migrate, kept in the cluster before the
 * first Secret is written: the label found on every Secret proves only what
 * exists, so a run cut off at 183 of 200 files would otherwise verify as
 * complete. One ConfigMap per target namespace (where the run may write
 * anyway), holding names, source paths and key counts — never a value.
 */
export const RUN_RECORD_LABEL = 'secrets-toolkit.io/migration-run'
export const RUN_RECORD_PREFIX = 'secrets-toolkit-migration-'
const RUN_RECORD_KEY = 'run.json'
/** Entries per ConfigMap: about 300 KiB, well under the 1 MiB object limit. */
const ENTRIES_PER_RECORD = 2000

export type RunState = 'planned' | 'applied'

export interface RunRecordEntry {
  namespace: string
  name: string
  source: string
  keys: number
}

/** One stored record (one part of one run, in one namespace). */
export interface RunRecord {
  /** Same for every namespace and re-run of the same plan. */
  id: string
  /** ConfigMap namespace/name, to name in reports and for `kubectl delete`. */
  object: string
  state: RunState
  /** Secrets the whole run planned, across namespaces. */
  plannedTotal: number
  entries: RunRecordEntry[]
  /** Files the run skipped (--continue-on-error): never migrated by it. */
  skippedSources: string[]
}

interface StoredRun {
  version: 1
  id: string
  state: RunState
  plannedTotal: number
  namespaces: string[]
  secrets: {name: string; source: string; keys: number}[]
  skippedSources: string[]
}

/** The run's identity: the set of Secrets it plans, so re-running the same plan updates the same record. */
export function runId(plan: MigrationPlan): string {
  const ids = plan.migrations.map((m) => `${m.planned.spec.namespace}/${m.planned.spec.name}`).sort()
  return createHash('sha256').update(ids.join('\n')).digest('hex').slice(0, 12)
}

/** The ConfigMaps that record the plan, one (or more, for huge namespaces) per target namespace. */
export function runRecordObjects(plan: MigrationPlan, state: RunState): KubeObject[] {
  const id = runId(plan)
  const byNamespace = new Map<string, StoredRun['secrets']>()
  for (const migration of plan.migrations) {
    const {spec, source} = migration.planned
    byNamespace.set(spec.namespace, [...(byNamespace.get(spec.namespace) ?? []), {name: spec.name, source, keys: spec.data.size}])
  }
  const namespaces = [...byNamespace.keys()].sort()
  const objects: KubeObject[] = []
  for (const namespace of namespaces) {
    const secrets = byNamespace.get(namespace)!
    for (let part = 0; part * ENTRIES_PER_RECORD < secrets.length; part++) {
      const stored: StoredRun = {
        version: 1,
        id,
        state,
        plannedTotal: plan.migrations.length,
        namespaces,
        secrets: secrets.slice(part * ENTRIES_PER_RECORD, (part + 1) * ENTRIES_PER_RECORD),
        skippedSources: plan.failures.map((failure) => failure.source).sort(),
      }
      objects.push({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: `${RUN_RECORD_PREFIX}${id}${part > 0 ? `-p${part}` : ''}`,
          namespace,
          labels: {[RUN_RECORD_LABEL]: id, [MANAGED_BY_LABEL]: MANAGED_BY_VALUE},
          annotations: {'secrets-toolkit.io/description': 'What a `secrets migrate sops` run set out to migrate (names only); `secrets migrate verify` checks against it.'},
        },
        data: {[RUN_RECORD_KEY]: JSON.stringify(stored)},
      } as KubeObject)
    }
  }
  return objects
}

/** Every run record in the cluster (or in one namespace). A record that does not parse is an error, not an empty plan. */
export async function readRunRecords(kube: KubeClient, namespace?: string): Promise<RunRecord[]> {
  const items = await kube.list('v1', 'ConfigMap', {namespace, labelSelector: RUN_RECORD_LABEL})
  return items
    .map((item) => parseRunRecord(item))
    .sort((a, b) => (a.object < b.object ? -1 : 1))
}

export function parseRunRecord(item: KubeObject): RunRecord {
  const namespace = item.metadata?.namespace ?? ''
  const object = `${namespace}/${item.metadata?.name ?? ''}`
  const text = (item as {data?: Record<string, string>}).data?.[RUN_RECORD_KEY]
  let stored: Partial<StoredRun> | undefined
  try {
    stored = text === undefined ? undefined : (JSON.parse(text) as Partial<StoredRun>)
  } catch {
    stored = undefined
  }
  const valid =
    stored?.version === 1 &&
    typeof stored.id === 'string' &&
    Array.isArray(stored.secrets) &&
    stored.secrets.every((entry) => typeof entry?.name === 'string' && typeof entry.source === 'string')
  if (!stored || !valid) {
    throw new ToolkitError('RUN_RECORD_INVALID', `the migration run record ConfigMap ${object} is not one this toolkit wrote (no valid ${RUN_RECORD_KEY})`, {
      hint: `Re-run the \`secrets migrate sops\` that wrote it (it rewrites the record), or delete it: kubectl delete configmap -n ${namespace} ${item.metadata?.name ?? ''}`,
    })
  }
  return {
    id: stored.id!,
    object,
    state: stored.state === 'applied' ? 'applied' : 'planned',
    plannedTotal: typeof stored.plannedTotal === 'number' ? stored.plannedTotal : stored.secrets!.length,
    entries: stored.secrets!.map((entry) => ({namespace, name: entry.name, source: entry.source, keys: typeof entry.keys === 'number' ? entry.keys : 0})),
    skippedSources: Array.isArray(stored.skippedSources) ? stored.skippedSources.filter((source): source is string => typeof source === 'string') : [],
  }
}
