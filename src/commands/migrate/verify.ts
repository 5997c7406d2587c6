import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../lib/cli/base-command.js'
import {confirmOrRefuse} from '../../lib/cli/confirm.js'
import {parseDuration} from '../../lib/cli/duration.js'
import {connectKube, kubeFlags} from '../../lib/cli/kube-flags.js'
import {ToolkitError} from '../../lib/errors/errors.js'
import {DEFAULT_REMOTE_KEY_TEMPLATE, MANAGED_BY_LABEL, MANAGED_BY_VALUE} from '../../lib/eso/push-secret.js'
import {loadMappingFile} from '../../lib/migrate/mapping.js'
import {buildMigrationPlan} from '../../lib/migrate/plan.js'
import {renderVerifyReport} from '../../lib/migrate/render.js'
import {removeSources, type RemovedSources} from '../../lib/migrate/remove-sources.js'
import {findMigratedSecrets, verifyMigration, verifyUntil, type VerifyReport, type VerifyTarget} from '../../lib/migrate/verify.js'
import type {SopsEngine} from '../../lib/sops/decrypt.js'
import {connectRegion, type RegionVault} from '../../lib/vault/connect.js'

export default class MigrateVerify extends BaseCommand<typeof MigrateVerify> {
  static override summary = 'Prove every migrated value arrived: Secret, PushSecret Ready, and an equal value in every regional Vault.'

  static override description = `For every migrated Secret (found by the secrets-toolkit.io/migrated-from label, or named as NAMESPACE/NAME): the Kubernetes Secret exists; its PushSecret is Ready=True; and in each region, the Vault KV v2 secret at the PushSecret's remote key holds each property with a value equal to the Kubernetes value (compared in memory, in constant time; never printed). With --source, the decrypted SOPS files are compared with the Secrets too.

--remove-sources (with --source) then runs \`git rm\` on the SOPS files whose Secrets all verified, and on the .sops.yaml files found, after confirmation.

Exit codes: 0 everything matches, 1 something is missing or different (the table names secret, key and region), 2 error.`

  static override examples = [
    {description: 'Verify every migrated Secret, waiting up to 2 minutes for ESO to push', command: '<%= config.bin %> <%= command.id %> --wait 2m'},
    {description: 'Verify two Secrets explicitly, JSON report', command: '<%= config.bin %> <%= command.id %> payments/db-credentials payments/api-keys --json'},
    {description: 'Compare with the SOPS sources too, then git rm them', command: '<%= config.bin %> <%= command.id %> --source ./clusters/prod --remove-sources'},
  ]

  static override strict = false

  static override args = {
    secrets: Args.string({description: 'NAMESPACE/NAME of Secrets to verify (default: every Secret labelled by a migration)'}),
  }

  static override flags = {
    ...kubeFlags,
    namespace: Flags.string({char: 'n', description: 'only Secrets in this namespace'}),
    source: Flags.string({description: 'SOPS files or directories to compare against (decrypted in memory; repeatable)', multiple: true, default: []}),
    mapping: Flags.string({description: 'the mapping file used by migrate sops (with --source)'}),
    'source-namespace': Flags.string({description: 'the --namespace used by migrate sops (with --source)'}),
    engine: Flags.string({description: 'decryption engine for --source', options: ['auto', 'sops', 'builtin'], default: 'auto'}),
    wait: Flags.string({description: 'poll until everything matches or this much time has passed (e.g. 90s, 5m)'}),
    'remove-sources': Flags.boolean({description: 'after a full match, git rm the verified SOPS files and .sops.yaml (needs --source)', default: false}),
    yes: Flags.boolean({char: 'y', description: 'do not ask before --remove-sources (required without a TTY)', default: false}),
    concurrency: Flags.integer({description: 'Secrets checked at once (Vault reads in flight)', default: 16, min: 1, max: 64}),
  }

  public async run(): Promise<VerifyReport & {removed?: RemovedSources}> {
    const {argv} = await this.parse(MigrateVerify)
    const flags = this.flags
    if (flags['remove-sources'] && flags.source.length === 0) {
      throw new ToolkitError('USAGE', '--remove-sources needs --source PATHS', {hint: 'Name the SOPS files or directories that were migrated, so that only verified files are removed.'})
    }
    const waitMs = flags.wait ? parseDuration(flags.wait, '--wait') : 0
    const explicit: VerifyTarget[] = (argv as string[]).map((text) => {
      const match = /^([^/]+)\/([^/]+)$/.exec(text)
      if (!match) throw new ToolkitError('USAGE', `"${text}" is not NAMESPACE/NAME`, {hint: 'Name Secrets as namespace/name, e.g. payments/db-credentials.'})
      return {namespace: match[1], name: match[2]}
    })
    const {config} = this.loadConfig()
    const kube = connectKube(flags, config)
    const cwd = process.cwd()
    const plan =
      flags.source.length > 0
        ? await buildMigrationPlan({
            paths: flags.source,
            cwd,
            regions: config.regions,
            decrypt: {engine: flags.engine as SopsEngine},
            mapping: {cwd, namespace: flags['source-namespace'], mapping: flags.mapping ? loadMappingFile(flags.mapping) : undefined},
            push: {remoteKeyTemplate: DEFAULT_REMOTE_KEY_TEMPLATE, deletionPolicy: 'None', refreshInterval: '1h', labels: {[MANAGED_BY_LABEL]: MANAGED_BY_VALUE}},
            continueOnError: false,
            concurrency: flags.concurrency,
          })
        : undefined
    const vaults: RegionVault[] = []
    try {
      for (const region of config.regions) vaults.push(await connectRegion(region))
      for (const vault of vaults) await vault.sys.requireActive()
      const targets = explicit.length > 0 || plan ? explicit : await findMigratedSecrets(kube, flags.namespace)
      if (targets.length === 0 && !plan) {
        throw new ToolkitError('NOTHING_TO_VERIFY', `no Secret labelled secrets-toolkit.io/migrated-from${flags.namespace ? ` in namespace ${flags.namespace}` : ''} in ${kube.server}`, {
          hint: 'Run `secrets migrate sops` first, or name Secrets as NAMESPACE/NAME, or pass --source.',
        })
      }
      const sources = plan?.migrations.map((migration) => migration.planned)
      const report = await verifyUntil(() => verifyMigration({kube, vaults}, {targets, sources, concurrency: flags.concurrency}), waitMs)
      this.findings = !report.inSync
      this.say(renderVerifyReport(report))
      if (!flags['remove-sources'] || !plan) return report
      if (!report.inSync) {
        this.say('\nNot removing any source: fix the differences above and re-run.')
        return report
      }
      const files = plan.migrations.map((migration) => migration.planned.source).filter((source, index, all) => all.indexOf(source) === index && report.verifiedSources.includes(source))
      this.say(`\nTo remove with git rm: ${[...files, ...plan.discovery.configFiles].join(', ')}`)
      await confirmOrRefuse({yes: flags.yes, message: `git rm ${files.length} SOPS file(s) and ${plan.discovery.configFiles.length} .sops.yaml?`})
      const removed = await removeSources([...files, ...plan.discovery.configFiles], cwd)
      this.say(`Removed from the working tree and staged: ${removed.files.length} file(s). Commit and push; then scrub history with \`secrets git scrub\`.`)
      return {...report, removed}
    } finally {
      await Promise.all(vaults.map((vault) => vault.close()))
    }
  }
}
