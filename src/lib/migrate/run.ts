import type {KubeClient} from '../kube/client.js'
import type {RegionConfig} from '../config/schema.js'
import type {RegionVault} from '../vault/connect.js'
import {applyMigration, preflightMigration, writePushSecretManifests, type ApplyResult, type ObjectAction, type Preflight} from './apply.js'
import {buildMigrationPlan, type MigrationPlan, type PlanOptions} from './plan.js'
import {renderActions, renderApplyResult, renderPlan} from './render.js'

/** What a migration reports (--json): names, paths and counts — never a value. */
export interface MigrationOutput {
  dryRun: boolean
  engine: MigrationPlan['engine']
  files: {path: string; format: string}[]
  configFiles: string[]
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
  }[]
  manifests: string[]
  result?: ApplyResult
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

/** What the command provides: progress display, output, confirmation and connections. */
export interface MigrationHost {
  stage<T>(title: string, work: (update: (line: string) => void) => Promise<T>): Promise<T>
  say(text: string): void
  confirm(message: string): Promise<void>
  kube(): KubeClient
  vault(region: RegionConfig): Promise<RegionVault>
}

function outputOf(plan: MigrationPlan, dryRun: boolean): MigrationOutput {
  return {
    dryRun,
    engine: plan.engine,
    files: plan.discovery.sopsFiles,
    configFiles: plan.discovery.configFiles,
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

/**
 * `migrate sops` as named stages: plan (a dry run stops here, having contacted
 * nothing) → pre-flight against Kubernetes and every Vault → confirmation →
 * PushSecret manifests → server-side apply. Nothing is written before the
 * confirmation, and nothing at all when any check fails.
 */
export async function runMigration(request: MigrationRequest, host: MigrationHost): Promise<MigrationOutput> {
  const {regions} = request.plan
  const plan = await host.stage('Find and decrypt SOPS files', (update) =>
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
  try {
    let preflight: Preflight | undefined
    let kube: KubeClient | undefined
    if (request.apply) {
      kube = host.kube()
      preflight = await host.stage(`Pre-flight: Kubernetes (${kube.server}) and ${regions.length} Vault region(s)`, async () => {
        for (const region of regions) vaults.push(await host.vault(region))
        return preflightMigration(plan, {kube: kube!, vaults}, {overwrite: request.overwrite, createNamespaces: request.createNamespaces, concurrency: request.plan.concurrency})
      })
      output.secrets.forEach((secret, index) => Object.assign(secret, {secretAction: preflight!.prepared[index].secretAction, pushSecretAction: preflight!.prepared[index].pushSecretAction}))
      host.say(`\n${renderActions(preflight.prepared)}`)
      const pending = preflight.prepared.some((item) => item.secretAction !== 'unchanged' || item.pushSecretAction !== 'unchanged')
      if (!pending && preflight.missingNamespaces.length === 0 && !request.outputDir) {
        host.say(`\nNothing to change: all ${preflight.prepared.length} Secret(s) and PushSecret(s) already match. Next: secrets migrate verify`)
        return output
      }
    }
    await host.confirm(request.apply ? `Apply ${plan.migrations.length} Secret(s) and PushSecret(s)?` : `Write ${plan.migrations.length} PushSecret manifest(s)?`)
    if (request.outputDir) {
      output.manifests = await writePushSecretManifests(plan, request.outputDir)
      host.say(`Wrote ${output.manifests.length} PushSecret manifest(s) under ${request.outputDir} (no values): commit them to the GitOps repository.`)
    }
    if (preflight && kube) {
      output.result = await host.stage('Apply Secrets and PushSecrets (server-side apply, field manager secrets-toolkit)', (update) =>
        applyMigration(preflight!, kube!, {overwrite: request.overwrite, concurrency: request.plan.concurrency, onProgress: (done, total) => update(`${done}/${total}`)}),
      )
      output.changed = true
      host.say(`\n${renderApplyResult(output.result)}`)
      host.say('\nNext: secrets migrate verify --wait 2m   (exit 0 proves every value is in every region; then remove the SOPS files)')
    }
  } finally {
    await Promise.all(vaults.map((vault) => vault.close()))
  }
  return output
}
