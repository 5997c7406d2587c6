import {Flags} from '@oclif/core'

import {BaseCommand} from '../../lib/cli/base-command.js'
import {durationFlag} from '../../lib/cli/duration.js'
import {connectKube, kubeFlags} from '../../lib/cli/kube-flags.js'
import {ToolkitError} from '../../lib/errors/errors.js'
import type {DrReseedJson} from '../../lib/dr/rehydrate-schema.js'
import {reseedRegion, type ReseedReport} from '../../lib/dr/reseed.js'
import {displayText} from '../../lib/report/display.js'
import {connectRegion, type RegionVault} from '../../lib/vault/connect.js'

export default class DrReseed extends BaseCommand<typeof DrReseed> {
  static override summary = 'Refill a region\'s Vault that was rebuilt empty: make ESO push every PushSecret to it now, and wait until it holds every value.'

  static override description = `A region's Vault was rebuilt empty (or lost keys) and has no usable snapshot. ESO pushes only on each PushSecret's refreshInterval, so the region would stay empty, silently, for up to that long. For every PushSecret that pushes to the region's ClusterSecretStore, this sets the push-requested-at annotation (what makes ESO push now; a merge patch, so no field changes owner), waits until the region holds every value (--wait), and compares each with the Kubernetes Secret in memory (constant time; nothing printed). What is still missing is reported per Secret with the PushSecret's Ready condition message from ESO.

--dry-run reads the region once and lists what it lacks; nothing is nudged.

The Kubernetes Secrets must exist: after a cluster loss run \`secrets dr rehydrate\` first. Afterwards, \`secrets verify regions\` compares the two regions key by key.

Exit codes: 0 the region holds every value; 1 something is still missing or different (named per Secret and key, with ESO's condition), or with --dry-run something is lacking; 2 error (unknown region, Kubernetes or the Vault unreachable).`

  static override examples = [
    {description: 'What the rebuilt region lacks (nothing is changed)', command: '<%= config.bin %> <%= command.id %> --region region2 --dry-run'},
    {description: 'Push everything to region2 now and wait up to 5 minutes', command: '<%= config.bin %> <%= command.id %> --region region2 --wait 5m'},
    {description: 'Then compare both regions key by key', command: '<%= config.bin %> verify regions'},
  ]

  static override flags = {
    ...kubeFlags,
    region: Flags.string({description: 'the region whose Vault was rebuilt (as named in the configuration)', required: true}),
    namespace: Flags.string({char: 'n', description: 'only PushSecrets of this namespace'}),
    wait: durationFlag({description: 'how long to wait for ESO to push everything (e.g. 90s, 5m; default 2m)'}),
    'dry-run': Flags.boolean({description: 'list what the region lacks; nudge nothing', default: false}),
  }

  public async run(): Promise<DrReseedJson> {
    const flags = this.flags
    const {config} = this.loadConfig()
    const region = config.regions.find((candidate) => candidate.name === flags.region)
    if (!region) {
      throw new ToolkitError('USAGE', `--region ${displayText(flags.region)}: no such region in the configuration (${config.regions.map((candidate) => candidate.name).join(', ')})`, {hint: 'Name one of the configured regions.'})
    }
    const kube = connectKube(flags, config)
    let vault: RegionVault | undefined
    try {
      vault = await connectRegion(region)
      await vault.store.ready()
      const report = await reseedRegion(
        {kube, region: {name: region.name, clusterSecretStore: region.clusterSecretStore, store: vault.store}},
        {dryRun: flags['dry-run'], waitMs: flags.wait ?? 120_000, namespace: flags.namespace},
      )
      this.say(renderReseed(report))
      this.findings = !report.inSync
      return report
    } finally {
      await vault?.close()
    }
  }
}

function renderReseed(report: ReseedReport): string {
  const lines = [`Region ${report.region} (ClusterSecretStore ${report.store}): ${report.pushSecrets} PushSecret(s)${report.dryRun ? '' : `, ${report.nudged} asked to push now`}`]
  for (const row of report.rows) {
    if (row.state === 'in-sync') continue
    const keys = row.keys.length > 0 ? ` [${row.keys.map(displayText).join(', ')}]` : ''
    lines.push(`  ${row.state.padEnd(14)} ${displayText(row.secret)}${keys}${row.condition ? ` — ESO: ${displayText(row.condition)}` : ''}${row.detail ? ` — ${displayText(row.detail)}` : ''}`)
  }
  const inSync = report.counts['in-sync'] ?? 0
  lines.push(report.inSync ? `The region holds every value (${inSync} Secret(s)).` : `${report.rows.length - inSync} of ${report.rows.length} Secret(s) not complete in ${report.region}${report.dryRun ? ' (dry run: nothing was pushed)' : ''}.`)
  return lines.join('\n')
}
