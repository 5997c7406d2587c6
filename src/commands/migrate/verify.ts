import {Args, Flags} from '@oclif/core'

import {metricsFlags, startMetrics} from '../../lib/cli/metrics-flags.js'
import {recordMigrateVerify} from '../../lib/metrics/families.js'
import {BaseCommand} from '../../lib/cli/base-command.js'
import {confirmOrRefuse} from '../../lib/cli/confirm.js'
import {durationFlag} from '../../lib/cli/duration.js'
import {connectKube, kubeFlags} from '../../lib/cli/kube-flags.js'
import {ToolkitError} from '../../lib/errors/errors.js'
import {DEFAULT_REMOTE_KEY_TEMPLATE, MANAGED_BY_LABEL, MANAGED_BY_VALUE} from '../../lib/eso/push-secret.js'
import {loadMappingFile} from '../../lib/migrate/mapping.js'
import {buildMigrationPlan} from '../../lib/migrate/plan.js'
import {renderVerifyReport} from '../../lib/migrate/render.js'
import {type MigrateVerifyJson} from '../../lib/migrate/output-schema.js'
import {removeSources, type RemovedSources} from '../../lib/migrate/remove-sources.js'
import {readRunRecords, type RunRecord} from '../../lib/migrate/run-record.js'
import {findMigratedSecrets, verifyMigration, verifyUntil, type VerifyReport, type VerifyTarget} from '../../lib/migrate/verify.js'
import type {SopsEngine} from '../../lib/sops/decrypt.js'
import {connectRegion, type RegionVault} from '../../lib/vault/connect.js'

export default class MigrateVerify extends BaseCommand<typeof MigrateVerify> {
  static override summary = 'Prove every migrated value arrived: Secret, PushSecret Ready, and an equal value in every regional Vault.'

  static override description = `For every Secret a migration planned or created — those listed in the run records \`migrate sops\` keeps in the cluster (ConfigMaps labelled secrets-toolkit.io/migration-run, written before its first Secret), those labelled secrets-toolkit.io/migrated-from, or those named as NAMESPACE/NAME: the Kubernetes Secret exists; its PushSecret is Ready=True; and in each region, the Vault KV v2 secret at the PushSecret's remote key holds each property with a value equal to the Kubernetes value (compared in memory, in constant time; never printed). With --source, the decrypted SOPS files are compared with the Secrets too.

A Secret a run record or a SOPS file plans but Kubernetes does not hold (a run that was interrupted) is reported as secret-missing. A Secret that Flux, Argo CD or Helm applied and could still delete once its source leaves Git (no kustomize.toolkit.fluxcd.io/prune: disabled, argocd.argoproj.io/sync-options: Prune=false or helm.sh/resource-policy: keep; \`migrate sops\` adds them) is still-prunable. Without a run record, --source or named Secrets, only the Secrets that exist can be checked: completeness is not proven and the exit code is 1.

--remove-sources (with --source) then runs \`git rm\` on the SOPS files whose Secrets all verified, and on the .sops.yaml files found, after confirmation — only when everything planned is present and in sync.

Exit codes: 0 everything planned exists and matches, 1 something is missing or different (the table names secret, key and region) or completeness is not proven, 2 error (e.g. Kubernetes or a Vault unreachable).`

  static override examples = [
    {description: 'Verify every migrated Secret, waiting up to 2 minutes for ESO to push', command: '<%= config.bin %> <%= command.id %> --wait 2m'},
    {description: 'Verify two Secrets explicitly, JSON report', command: '<%= config.bin %> <%= command.id %> payments/db-credentials payments/api-keys --json'},
    {description: 'Compare with the SOPS sources too, then git rm them', command: '<%= config.bin %> <%= command.id %> --source ./clusters/prod --remove-sources'},
  ]

  static override strict = false

  static override args = {
    secrets: Args.string({description: 'NAMESPACE/NAME of Secrets to verify (default: every Secret a migration run recorded or labelled)'}),
  }

  static override flags = {
    ...kubeFlags,
    namespace: Flags.string({char: 'n', description: 'only Secrets in this namespace'}),
    source: Flags.string({description: 'SOPS files or directories to compare against (decrypted in memory; repeatable)', multiple: true, default: []}),
    mapping: Flags.string({description: 'the mapping file used by migrate sops (with --source)'}),
    'source-namespace': Flags.string({description: 'the --namespace used by migrate sops (with --source)'}),
    engine: Flags.string({description: 'decryption engine for --source', options: ['auto', 'sops', 'builtin'], default: 'auto'}),
    wait: durationFlag({description: 'poll until everything matches or this much time has passed (e.g. 90s, 5m); stops early when only what waiting cannot fix is left (a Secret never created, a skipped file)'}),
    'remove-sources': Flags.boolean({description: 'after a full match, git rm the verified SOPS files and .sops.yaml (needs --source)', default: false}),
    yes: Flags.boolean({char: 'y', description: 'do not ask before --remove-sources (required without a TTY)', default: false}),
    concurrency: Flags.integer({description: 'Secrets checked at once (Vault reads in flight)', default: 16, min: 1, max: 64}),
    ...metricsFlags,
  }

  public async run(): Promise<MigrateVerifyJson> {
    const {argv} = await this.parse(MigrateVerify)
    const flags = this.flags
    this.metricsRun = await startMetrics('migrate verify', flags)
    if (flags['remove-sources'] && flags.source.length === 0) {
      throw new ToolkitError('USAGE', '--remove-sources needs --source PATHS', {hint: 'Name the SOPS files or directories that were migrated, so that only verified files are removed.'})
    }
    const waitMs = flags.wait ?? 0
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
      for (const vault of vaults) await vault.store.ready()
      const named = explicit.length > 0
      const targets = named || plan ? explicit : await findMigratedSecrets(kube, flags.namespace)
      // Named Secrets are a question about those only; otherwise every run record counts.
      const runRecords: RunRecord[] = named ? [] : await readRunRecords(kube, flags.namespace)
      if (targets.length === 0 && !plan && runRecords.length === 0) {
        throw new ToolkitError('NOTHING_TO_VERIFY', `no migration run record and no Secret labelled secrets-toolkit.io/migrated-from${flags.namespace ? ` in namespace ${flags.namespace}` : ''} in ${kube.server}`, {
          hint: 'Run `secrets migrate sops` first, or name Secrets as NAMESPACE/NAME, or pass --source.',
        })
      }
      const sources = plan?.migrations.map((migration) => migration.planned)
      const report = await verifyUntil(() => verifyMigration({kube, vaults}, {targets, sources, runRecords, named, concurrency: flags.concurrency}), waitMs)
      const complete = report.inSync && report.completeness.proven
      this.findings = !complete
      if (this.metricsRun) recordMigrateVerify(this.metricsRun.metrics, report)
      this.say(renderVerifyReport(report))
      this.say(describeCompleteness(report))
      if (!flags['remove-sources'] || !plan) return report
      if (!complete) {
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

/** What the verdict rests on, in one or two lines: which records, and whether completeness is proven. */
function describeCompleteness(report: VerifyReport): string {
  const {completeness} = report
  if (!completeness.proven) {
    return 'Completeness NOT proven: no migration run record was found, so only the Secrets that exist were checked (a run that stopped early would look complete). Pass --source PATHS to compare with the SOPS files, or re-run `secrets migrate sops` (it records the run).'
  }
  const records = completeness.runRecords
  const unfinished = records.filter((record) => record.state !== 'applied').map((record) => record.object)
  const lines: string[] = []
  if (records.length > 0) {
    lines.push(`Checked against ${records.length} migration run record(s): ${records.map((record) => record.object).join(', ')}.`)
  }
  if (completeness.missing.length > 0) {
    lines.push(`${completeness.missing.length} planned Secret(s) do not exist in Kubernetes: ${completeness.missing.slice(0, 20).join(', ')}${completeness.missing.length > 20 ? ` and ${completeness.missing.length - 20} more` : ''}. Re-run the same \`secrets migrate sops\` command to complete the migration.`)
  }
  if (unfinished.length > 0 && completeness.missing.length > 0) lines.push(`Run(s) that did not finish: ${unfinished.join(', ')}.`)
  return lines.join('\n')
}
