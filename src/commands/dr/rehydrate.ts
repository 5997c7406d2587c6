import {Flags} from '@oclif/core'

import {BaseCommand} from '../../lib/cli/base-command.js'
import {confirmOrRefuse} from '../../lib/cli/confirm.js'
import {connectKube, kubeFlags} from '../../lib/cli/kube-flags.js'
import {stageRenderer} from '../../lib/cli/stages.js'
import {ToolkitError} from '../../lib/errors/errors.js'
import {readMapFromCluster, readMapFromDirectory} from '../../lib/dr/rehydrate-map.js'
import type {DrRehydrateJson} from '../../lib/dr/rehydrate-schema.js'
import {planWrites, runRehydrate, type RehydratePlan, type VerifyRow} from '../../lib/dr/rehydrate.js'
import {displayText} from '../../lib/report/display.js'
import {connectRegion, type RegionVault} from '../../lib/vault/connect.js'

export default class DrRehydrate extends BaseCommand<typeof DrRehydrate> {
  static override summary = 'Rebuild lost Kubernetes Secrets from the regional Vaults, where their PushSecrets pushed them.'

  static override description = `After a cluster loss (a fresh cluster with the GitOps repository applied has PushSecrets but no Secrets), reads the map — every PushSecret in --source (the manifests of a GitOps directory: multi-document YAML, kustomize directories) or in the cluster (--from-cluster): Secret, keys, region stores, remote keys and properties, including PushSecrets that push a whole Secret as JSON — then reads the values from the regions (in memory, never shown).

Without --from, every region a PushSecret pushes to is read, and any value they disagree on stops the run (exit 1, nothing written) naming the secret, key and regions; with --from REGION that region's values are used and the others' differences are reported. The Secret's type, labels and annotations come from the record migrate and bootstrap keep on the PushSecret (secrets-toolkit.io/secret-type, …); without one the Secret is restored as Opaque and the plan says so.

Plan (create / unchanged / differs: an existing Secret is left alone unless --overwrite) → confirmation (--yes; refused without a TTY) → server-side apply (--create-namespaces for missing namespaces) → the per-Secret × region check of \`migrate verify\`. Secrets filled by an ESO generator (bootstrap --output-dir's ExternalSecrets) are restored and their ExternalSecret is marked as synced, so ESO keeps the restored value instead of generating a new one: run this before the ESO controller starts (docs/runbooks/cluster-rebuild.md).

--dry-run reads the map and the regions and shows the plan; it writes nothing.

Exit codes: 0 every Secret restored (or already there) and matching its source region; 1 the regions disagree (nothing written), a key is in no region, a Secret differs and was left alone, an ExternalSecret would regenerate, or the check after writing found a difference; 2 error (unreachable Kubernetes or Vault, bad --source, missing namespace without --create-namespaces, refused or cancelled).`

  static override examples = [
    {description: 'The plan for a rebuilt cluster, from the GitOps repository (writes nothing)', command: '<%= config.bin %> <%= command.id %> --source ./clusters/prod --dry-run'},
    {description: 'Rebuild every Secret, creating missing namespaces', command: '<%= config.bin %> <%= command.id %> --source ./clusters/prod --create-namespaces --yes'},
    {description: 'The regions have drifted: take region1\'s values', command: '<%= config.bin %> <%= command.id %> --source ./clusters/prod --from region1 --yes'},
    {description: 'Use the PushSecrets already in the cluster as the map, JSON report', command: '<%= config.bin %> <%= command.id %> --from-cluster --yes --json'},
  ]

  static override flags = {
    ...kubeFlags,
    source: Flags.string({description: 'directory of the GitOps repository holding the PushSecret manifests', exactlyOne: ['source', 'from-cluster']}),
    'from-cluster': Flags.boolean({description: 'read the PushSecrets from the cluster instead of --source'}),
    namespace: Flags.string({char: 'n', description: 'only PushSecrets of this namespace (with --from-cluster)'}),
    from: Flags.string({description: 'take the values from this region (default: every region, refusing when they disagree)'}),
    overwrite: Flags.boolean({description: 'replace existing Secrets whose values differ from the region\'s', default: false}),
    'create-namespaces': Flags.boolean({description: 'create namespaces that do not exist', default: false}),
    'dry-run': Flags.boolean({description: 'read the map and the regions and show the plan; write nothing', default: false}),
    yes: Flags.boolean({char: 'y', description: 'do not ask for confirmation (required without a TTY)', default: false}),
  }

  public async run(): Promise<DrRehydrateJson> {
    const flags = this.flags
    const {config} = this.loadConfig()
    const kube = connectKube(flags, config)
    const map = flags.source ? await readMapFromDirectory(flags.source) : await readMapFromCluster(kube, flags.namespace)
    for (const skipped of map.skipped) this.warn(`${skipped.path}: ${skipped.reason}; not read`)
    if (map.mappings.length === 0) {
      throw new ToolkitError('NOTHING_TO_REHYDRATE', `no PushSecret in ${map.origin}`, {
        hint: flags.source ? 'Name the directory that holds the PushSecret manifests (the one migrate sops --output-dir wrote).' : 'Apply the GitOps manifests (PushSecrets) first, or use --source DIR.',
      })
    }
    const vaults: RegionVault[] = []
    try {
      for (const region of config.regions) vaults.push(await connectRegion(region))
      for (const vault of vaults) await vault.store.ready()
      const regions = vaults.map((vault) => ({name: vault.region.name, clusterSecretStore: vault.region.clusterSecretStore, store: vault.store}))
      const result = await runRehydrate(
        {kube, regions},
        map,
        {from: flags.from, overwrite: flags.overwrite, createNamespaces: flags['create-namespaces'], dryRun: flags['dry-run'], onPlan: (plan) => this.say(renderPlan(plan))},
        {renderer: stageRenderer({json: this.jsonEnabled()}), confirm: (question) => confirmOrRefuse({yes: flags.yes, ...question})},
      )
      const {plan, findings} = result
      const base = {dryRun: flags['dry-run'], origin: plan.origin, ...(flags.from ? {from: flags.from} : {}), items: plan.items, counts: plan.counts, missingNamespaces: plan.missingNamespaces, skipped: plan.skipped, findings}
      this.findings = !result.ok
      if (result.stoppedAt === 'conflicts') {
        this.say(`\nThe regions disagree on ${plan.conflicts} Secret(s): nothing was written. Take one region's values with --from REGION, or look first with \`secrets verify regions\`.`)
        return {...base, ok: false}
      }
      if (result.stoppedAt === 'dry-run') {
        this.say(`\nDry run: ${planWrites(plan).length} Secret(s) would be written; nothing was.`)
        return {...base, ok: result.ok}
      }
      const applied = result.applied!
      if (planWrites(plan).length === 0) this.say('\nNothing to change.')
      else this.say(`\nWrote ${applied.written.length} Secret(s)${applied.externalSecretsMarked.length > 0 ? `; marked ${applied.externalSecretsMarked.length} ExternalSecret(s) as synced so ESO keeps the restored values` : ''}.`)
      this.say(renderVerify(result.verify!))
      return {...base, applied, verify: result.verify, ok: result.ok}
    } finally {
      await Promise.all(vaults.map((vault) => vault.close()))
    }
  }
}

function renderPlan(plan: RehydratePlan): string {
  const lines = [`Map: ${plan.items.length} Secret(s) from the PushSecrets in ${plan.origin}`]
  for (const item of plan.items) {
    const from = item.from.length > 0 ? ` from ${item.from.join(', ')}` : ''
    lines.push(`  ${item.action.padEnd(11)} ${displayText(item.secret)} (${item.type}, ${item.keys.length} key(s)${from})`)
    for (const conflict of item.conflicts) lines.push(`      key ${displayText(conflict.key)}: ${conflict.regions.join(' and ')} hold different values`)
    for (const note of item.regionNotes) lines.push(`      key ${displayText(note.key)}: ${note.state === 'missing' ? 'missing in' : 'differs in'} region ${note.region}`)
    if (item.generated?.markRestored) lines.push(`      generated by ExternalSecret ${displayText(item.generated.externalSecret)}: marked as synced so ESO keeps the restored value`)
    for (const note of item.notes) lines.push(`      ${displayText(note)}`)
  }
  if (plan.missingNamespaces.length > 0) lines.push(`Namespaces to create: ${plan.missingNamespaces.join(', ')}`)
  const counts = Object.entries(plan.counts).map(([action, count]) => `${count} ${action}`)
  lines.push(`Plan: ${counts.join(', ') || 'nothing'}`)
  return lines.join('\n')
}

function renderVerify(rows: VerifyRow[]): string {
  const lines = ['Check (Secret × region):']
  for (const row of rows) {
    const keys = row.keys.length > 0 ? ` [${row.keys.map(displayText).join(', ')}]` : ''
    lines.push(`  ${row.state.padEnd(16)} ${displayText(row.secret)} in ${row.where}${keys}${row.source ? '' : ' (not a source)'}${row.detail ? ` — ${displayText(row.detail)}` : ''}`)
  }
  return lines.join('\n')
}
