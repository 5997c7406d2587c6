import type {KubeClient} from '../kube/client.js'
import type {RegionConfig} from '../config/schema.js'
import {describeUnexpected, isToolkitError, ToolkitError} from '../errors/errors.js'
import {describeOwner} from '../gitops/ownership.js'
import type {RegionVault} from '../vault/connect.js'
import {
  applyMigration,
  createMissingNamespaces,
  emptyWritten,
  preflightMigration,
  writeCount,
  writePushSecretManifests,
  writeRunRecords,
  type ApplyResult,
  type ObjectAction,
  type Preflight,
  type WrittenSoFar,
} from './apply.js'
import {buildMigrationPlan, type MigrationPlan, type PlanOptions} from './plan.js'
import {renderActions, renderApplyResult, renderPlan} from './render.js'
import {runId, runRecordObjects} from './run-record.js'
import {confirmGate, runStage, type WorkflowHooks} from '../workflow/runner.js'

/** What a migration reports (--json): names, paths and counts — never a value. */
export interface MigrationOutput {
  dryRun: boolean
  engine: MigrationPlan['engine']
  files: {path: string; format: string}[]
  configFiles: string[]
  /** Files passed over and why (symbolic links, pipes and devices, too large, unreadable): names, never content. */
  skipped: MigrationPlan['discovery']['skipped']
  failures: MigrationPlan['failures']
  secrets: {
    source: string
    namespace: string
    name: string
    type: string
    keys: string[]
    remotes: MigrationPlan['migrations'][number]['remotes']
    secretAction?: ObjectAction
    pushSecretAction?: ObjectAction
    /** The GitOps tools that applied the existing Secret (pre-flight), e.g. `Flux Kustomization flux-system/apps`. */
    owners?: string[]
  }[]
  manifests: string[]
  result?: ApplyResult
  /** The ConfigMaps recording what this run set out to migrate (`migrate verify` checks against them). */
  runRecord?: {id: string; objects: string[]}
  changed: boolean
}

export interface MigrationRequest {
  plan: Omit<PlanOptions, 'onProgress'>
  dryRun: boolean
  /** Server-side apply (off: only write manifests). */
  apply: boolean
  outputDir?: string
  overwrite: boolean
  createNamespaces: boolean
}

/** What the command provides: rendering and confirmation (workflow hooks), output and connections. */
export interface MigrationHost extends WorkflowHooks {
  say(text: string): void
  kube(): KubeClient
  vault(region: RegionConfig): Promise<RegionVault>
}

function outputOf(plan: MigrationPlan, dryRun: boolean): MigrationOutput {
  return {
    dryRun,
    engine: plan.engine,
    files: plan.discovery.sopsFiles,
    configFiles: plan.discovery.configFiles,
    skipped: plan.discovery.skipped,
    failures: plan.failures,
    secrets: plan.migrations.map((m) => ({
      source: m.planned.source,
      namespace: m.planned.spec.namespace,
      name: m.planned.spec.name,
      type: m.planned.spec.type,
      keys: [...m.planned.spec.data.keys()].sort(),
      remotes: m.remotes,
    })),
    manifests: [],
    changed: false,
  }
}

/** Names, at most `limit` of them, then how many more. */
function someNames(names: string[], limit = 20): string {
  return names.length <= limit ? names.join(', ') : `${names.slice(0, limit).join(', ')} and ${names.length - limit} more`
}

/**
 * The error a run reports when it stops after its first write: what failed,
 * what exists now (counts, and the Secrets that have no PushSecret and so
 * reach no Vault), and that re-running the same command completes it.
 */
export function stoppedPartWayError(error: unknown, written: WrittenSoFar, total: number): ToolkitError {
  const cause = isToolkitError(error) ? error.message : `unexpected error: ${describeUnexpected(error)}`
  const lines = [`migration stopped part-way (${total} Secret(s) planned): ${cause}`]
  const confirmed = writeCount(written)
  if (confirmed === 0) {
    lines.push('No write was confirmed before the failure (the failed request itself may have reached the server).')
  } else {
    lines.push('Written before the failure:')
    if (written.namespacesCreated.length > 0) lines.push(`  namespaces created: ${someNames(written.namespacesCreated)}`)
    if (written.runRecords.length > 0) lines.push(`  run record: ${someNames(written.runRecords)} (ConfigMap; names only)`)
    if (written.manifests.length > 0) lines.push(`  ${written.manifests.length} PushSecret manifest file(s)`)
    lines.push(`  Secrets: ${written.secrets.create} created, ${written.secrets.update} updated`)
    lines.push(`  PushSecrets: ${written.pushSecrets.create} created, ${written.pushSecrets.update} updated`)
  }
  if (written.notWritten.secrets + written.notWritten.pushSecrets > 0) {
    lines.push(`Not written yet: ${written.notWritten.secrets} Secret(s), ${written.notWritten.pushSecrets} PushSecret(s).`)
  }
  if (written.secretsWithoutPushSecret.length > 0) {
    lines.push(`${written.secretsWithoutPushSecret.length} Secret(s) exist without their PushSecret (not pushed to any Vault): ${someNames(written.secretsWithoutPushSecret)}`)
  }
  if (written.uncertain.length > 0) {
    lines.push(`Failed while being written (the server may have applied them): ${someNames(written.uncertain)}`)
  }
  const hint = isToolkitError(error) && error.hint ? `${error.hint} Then re-run` : 'Fix the cause, then re-run'
  return new ToolkitError(isToolkitError(error) ? error.code : 'UNEXPECTED', lines.join('\n'), {
    hint: `${hint} the same \`secrets migrate sops\` command: it completes what is missing and leaves what is in place. \`secrets migrate verify\` lists what is still missing.`,
    cause: undefined,
    // The same account for automation (--json: error.details): names and counts only.
    details: {stoppedPartWay: true, planned: total, written},
  })
}

/**
 * `migrate sops` as named stages: plan (a dry run stops here, having contacted
 * nothing) → pre-flight against Kubernetes and every Vault → confirmation →
 * run record (what this run sets out to migrate, in the cluster) → PushSecret
 * manifests → server-side apply. Nothing is written before the confirmation,
 * nothing at all when any check fails, and an error after the first write
 * says what was written.
 */
export async function runMigration(request: MigrationRequest, host: MigrationHost): Promise<MigrationOutput> {
  const {regions} = request.plan
  const stage = <T>(title: string, work: (update: (line: string) => void) => Promise<T>): Promise<T> => runStage(title, work, host)
  const plan = await stage('Find and decrypt SOPS files', (update) =>
    buildMigrationPlan({...request.plan, onProgress: (done, total, file) => update(`${done}/${total} ${file}`)}),
  )
  const mountOf = (name: string) => regions.find((region) => region.name === name)?.vault.mount ?? 'secret'
  host.say(renderPlan(plan, mountOf))
  const output = outputOf(plan, request.dryRun)
  if (plan.migrations.length === 0) {
    host.say('\nNo SOPS file to migrate.')
    return output
  }
  if (request.dryRun) {
    host.say('\nDry run: nothing was contacted or written. Re-run without --dry-run to apply.')
    return output
  }

  const vaults: RegionVault[] = []
  const written = emptyWritten()
  try {
    let preflight: Preflight | undefined
    let kube: KubeClient | undefined
    if (request.apply) {
      kube = host.kube()
      preflight = await stage(`Pre-flight: Kubernetes (${kube.server}) and ${regions.length} Vault region(s)`, async () => {
        for (const region of regions) vaults.push(await host.vault(region))
        return preflightMigration(plan, {kube: kube!, vaults}, {overwrite: request.overwrite, createNamespaces: request.createNamespaces, concurrency: request.plan.concurrency})
      })
      output.secrets.forEach((secret, index) => {
        const prepared = preflight!.prepared[index]
        Object.assign(secret, {secretAction: prepared.secretAction, pushSecretAction: prepared.pushSecretAction, owners: prepared.owners.map(describeOwner)})
      })
      host.say(`\n${renderActions(preflight.prepared)}`)
      const pending = preflight.prepared.some((item) => item.secretAction !== 'unchanged' || item.pushSecretAction !== 'unchanged')
      if (!pending && preflight.missingNamespaces.length === 0 && !request.outputDir) {
        // Everything is in place (perhaps from a version that kept no record): record the run so
        // that `migrate verify` can prove completeness. Names only; re-applying is a no-op.
        const objects = await writeRunRecords(runRecordObjects(plan, 'applied'), kube)
        output.runRecord = {id: runId(plan), objects}
        host.say(`\nNothing to change: all ${preflight.prepared.length} Secret(s) and PushSecret(s) already match. Next: secrets migrate verify`)
        return output
      }
    }
    await confirmGate(host, {
      message: request.apply ? `Apply ${plan.migrations.length} Secret(s) and PushSecret(s)?` : `Write ${plan.migrations.length} PushSecret manifest(s)?`,
      nonInteractiveHint: 'Review the plan with --dry-run, then re-run with --yes.',
    })
    try {
      if (preflight && kube) {
        // The record goes first, so that a run cut off anywhere after it is seen as incomplete.
        await createMissingNamespaces(preflight, kube, written)
        await writeRunRecords(runRecordObjects(plan, 'planned'), kube, written)
        output.runRecord = {id: runId(plan), objects: [...written.runRecords]}
      }
      if (request.outputDir) {
        output.manifests = await writePushSecretManifests(plan, request.outputDir)
        written.manifests = output.manifests
        host.say(`Wrote ${output.manifests.length} PushSecret manifest(s) under ${request.outputDir} (no values): commit them to the GitOps repository.`)
      }
      if (preflight && kube) {
        output.result = await stage('Apply Secrets and PushSecrets (server-side apply, field manager secrets-toolkit)', (update) =>
          applyMigration(preflight!, kube!, {overwrite: request.overwrite, concurrency: request.plan.concurrency, written, onProgress: (done, total) => update(`${done}/${total}`)}),
        )
        output.changed = true
        await writeRunRecords(runRecordObjects(plan, 'applied'), kube)
        host.say(`\n${renderApplyResult(output.result)}`)
        host.say('\nNext: secrets migrate verify --wait 2m   (exit 0 proves every planned Secret exists and every value is in every region; then remove the SOPS files)')
      }
    } catch (error) {
      throw stoppedPartWayError(error, written, plan.migrations.length)
    }
  } finally {
    await Promise.all(vaults.map((vault) => vault.close()))
  }
  return output
}
