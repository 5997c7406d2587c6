import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../lib/cli/base-command.js'
import {confirmOrRefuse} from '../../lib/cli/confirm.js'
import {connectKube, kubeFlags} from '../../lib/cli/kube-flags.js'
import {ToolkitError} from '../../lib/errors/errors.js'
import {DEFAULT_REMOTE_KEY_TEMPLATE, MANAGED_BY_LABEL, MANAGED_BY_VALUE, type DeletionPolicy} from '../../lib/eso/push-secret.js'
import {applyMigration, preflightMigration, writePushSecretManifests, type ApplyResult, type Preflight} from '../../lib/migrate/apply.js'
import {loadMappingFile} from '../../lib/migrate/mapping.js'
import {buildMigrationPlan, type MigrationPlan} from '../../lib/migrate/plan.js'
import {renderActions, renderApplyResult, renderPlan} from '../../lib/migrate/render.js'
import {runSteps} from '../../lib/report/progress.js'
import type {SopsEngine} from '../../lib/sops/decrypt.js'
import {connectRegion, type RegionVault} from '../../lib/vault/connect.js'

/** What --json prints: names, paths and counts — never a value. */
interface MigrateOutput {
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
    secretAction?: string
    pushSecretAction?: string
  }[]
  manifests: string[]
  result?: ApplyResult
  changed: boolean
}

export default class MigrateSops extends BaseCommand<typeof MigrateSops> {
  static override summary = 'Migrate SOPS-encrypted files to Kubernetes Secrets pushed by ESO PushSecrets to every regional Vault.'

  static override description = `Finds SOPS files by content (YAML incl. multi-document, JSON, dotenv, INI, binary) under PATHS, honouring .gitignore; decrypts them in memory (the sops binary when installed, else the built-in age engine, MAC verified); maps each to Kubernetes Secrets (a SOPS-encrypted Secret manifest keeps its name, namespace, type, labels and annotations; any other file becomes one Opaque Secret named after the file); and creates, for each Secret, a PushSecret that pushes every key to every region's ClusterSecretStore.

Stages: plan (--dry-run stops here, contacting nothing) → pre-flight against Kubernetes and every Vault (CRD and ClusterSecretStores present, namespaces, existing Secrets, Vault paths free or already ESO's) → confirmation (--yes; refused without a TTY) → PushSecret manifests to --output-dir → server-side apply. One bad file stops the run before anything is written (or is skipped with --continue-on-error). Re-running after success changes nothing; re-running after an interruption completes the migration.

Then run \`secrets migrate verify\`: when it exits 0, remove the SOPS files.

Mapping file (--mapping), names only:
  files:        [{path: "apps/db/*.enc.yaml", name: db-credentials, namespace: db}]
  directories:  [{path: clusters/prod/payments, namespace: payments}]

Exit codes: 0 done (or nothing to change), 1 some files skipped with --continue-on-error, 2 error (nothing written).`

  static override examples = [
    {description: 'Show the plan without touching anything (no cluster needed)', command: '<%= config.bin %> <%= command.id %> ./clusters/prod --dry-run'},
    {description: 'Migrate, writing the PushSecret manifests into the GitOps repository', command: '<%= config.bin %> <%= command.id %> ./clusters/prod --output-dir ./clusters/prod/pushsecrets --yes'},
    {description: 'Plain SOPS files (not Secret manifests) go to a namespace; keep migrating past bad files', command: '<%= config.bin %> <%= command.id %> ./secrets --namespace payments --continue-on-error'},
    {description: 'Then prove every value reached both Vaults', command: '<%= config.bin %> migrate verify --wait 2m'},
  ]

  static override strict = false

  static override args = {
    paths: Args.string({description: 'directories or files to search for SOPS files (default: .)'}),
  }

  static override flags = {
    ...kubeFlags,
    'dry-run': Flags.boolean({description: 'print the plan and stop: contacts no cluster and no Vault', default: false}),
    yes: Flags.boolean({char: 'y', description: 'apply without asking (required without a TTY)', default: false}),
    apply: Flags.boolean({description: 'create/update the Secrets and PushSecrets by server-side apply (--no-apply: only write manifests)', default: true, allowNo: true}),
    'output-dir': Flags.string({description: 'write the PushSecret manifests (never Secret values) here, to commit to the GitOps repository'}),
    namespace: Flags.string({char: 'n', description: 'namespace for Secrets whose source does not name one'}),
    mapping: Flags.string({description: 'YAML file mapping files and directories to Secret names and namespaces'}),
    overwrite: Flags.boolean({description: 'replace existing Secrets whose content differs', default: false}),
    'create-namespaces': Flags.boolean({description: 'create missing namespaces', default: false}),
    'continue-on-error': Flags.boolean({description: 'skip files that cannot be decrypted or mapped, and report them', default: false}),
    engine: Flags.string({description: 'decryption engine: auto = the sops binary when installed, else built-in (age only)', options: ['auto', 'sops', 'builtin'], default: 'auto'}),
    'ignore-mac': Flags.boolean({description: 'decrypt even when a file\'s MAC does not verify (the file may have been tampered with)', default: false}),
    'remote-key-template': Flags.string({description: 'Vault path of each Secret under the KV mount: {namespace}, {name}, {key}', default: DEFAULT_REMOTE_KEY_TEMPLATE}),
    'deletion-policy': Flags.string({description: 'PushSecret deletionPolicy: Delete removes the Vault secret when the PushSecret goes', options: ['None', 'Delete'], default: 'None'}),
    'refresh-interval': Flags.string({description: 'PushSecret refreshInterval', default: '1h'}),
    concurrency: Flags.integer({description: 'sops processes, Kubernetes and Vault requests in flight at once', default: 16, min: 1, max: 64}),
  }

  public async run(): Promise<MigrateOutput> {
    const {argv} = await this.parse(MigrateSops)
    const flags = this.flags
    if (!flags.apply && !flags['output-dir']) {
      throw new ToolkitError('USAGE', '--no-apply without --output-dir would do nothing', {hint: 'Add --output-dir DIR to write the PushSecret manifests, or drop --no-apply.'})
    }
    const {config} = this.loadConfig()
    const regions = config.regions
    const cwd = process.cwd()

    let plan!: MigrationPlan
    await runSteps(
      [
        {
          title: 'Find and decrypt SOPS files',
          run: async (_ctx, update) => {
            plan = await buildMigrationPlan({
              paths: (argv as string[]).length > 0 ? (argv as string[]) : ['.'],
              cwd,
              regions,
              decrypt: {engine: flags.engine as SopsEngine, ignoreMac: flags['ignore-mac']},
              mapping: {cwd, namespace: flags.namespace, mapping: flags.mapping ? loadMappingFile(flags.mapping) : undefined},
              push: {
                remoteKeyTemplate: flags['remote-key-template'],
                deletionPolicy: flags['deletion-policy'] as DeletionPolicy,
                refreshInterval: flags['refresh-interval'],
                labels: {[MANAGED_BY_LABEL]: MANAGED_BY_VALUE},
              },
              continueOnError: flags['continue-on-error'],
              concurrency: flags.concurrency,
              onProgress: (done, total, file) => update(`${done}/${total} ${file}`),
            })
          },
        },
      ],
      {},
      {json: this.jsonEnabled()},
    )
    const mountOf = (name: string) => regions.find((region) => region.name === name)?.vault.mount ?? 'secret'
    this.say(renderPlan(plan, mountOf))
    this.findings = plan.failures.length > 0
    const output: MigrateOutput = {
      dryRun: flags['dry-run'],
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
    if (plan.migrations.length === 0) {
      this.say('\nNo SOPS file to migrate.')
      return output
    }
    if (flags['dry-run']) {
      this.say('\nDry run: nothing was contacted or written. Re-run without --dry-run to apply.')
      return output
    }

    let preflight: Preflight | undefined
    const vaults: RegionVault[] = []
    try {
      if (flags.apply) {
        const kube = connectKube(flags, config)
        await runSteps(
          [
            {
              title: `Pre-flight: Kubernetes (${kube.server}) and ${regions.length} Vault region(s)`,
              run: async () => {
                for (const region of regions) vaults.push(await connectRegion(region))
                preflight = await preflightMigration(plan, {kube, vaults}, {overwrite: flags.overwrite, createNamespaces: flags['create-namespaces'], concurrency: flags.concurrency})
              },
            },
          ],
          {},
          {json: this.jsonEnabled()},
        )
        const prepared = preflight!.prepared
        output.secrets.forEach((secret, index) => Object.assign(secret, {secretAction: prepared[index].secretAction, pushSecretAction: prepared[index].pushSecretAction}))
        const pending = prepared.filter((item) => item.secretAction !== 'unchanged' || item.pushSecretAction !== 'unchanged')
        this.say(`\n${renderActions(prepared)}`)
        if (pending.length === 0 && preflight!.missingNamespaces.length === 0 && !flags['output-dir']) {
          this.say(`\nNothing to change: all ${prepared.length} Secret(s) and PushSecret(s) already match. Next: secrets migrate verify`)
          return output
        }
      }
      await confirmOrRefuse({
        yes: flags.yes,
        message: flags.apply ? `Apply ${plan.migrations.length} Secret(s) and PushSecret(s)?` : `Write ${plan.migrations.length} PushSecret manifest(s)?`,
        nonInteractiveHint: 'Review the plan with --dry-run, then re-run with --yes.',
      })
      if (flags['output-dir']) {
        output.manifests = await writePushSecretManifests(plan, flags['output-dir'])
        this.say(`Wrote ${output.manifests.length} PushSecret manifest(s) under ${flags['output-dir']} (no values): commit them to the GitOps repository.`)
      }
      if (flags.apply && preflight) {
        const kube = connectKube(flags, config)
        await runSteps(
          [
            {
              title: 'Apply Secrets and PushSecrets (server-side apply, field manager secrets-toolkit)',
              run: async (_ctx, update) => {
                output.result = await applyMigration(preflight!, kube, {overwrite: flags.overwrite, concurrency: flags.concurrency, onProgress: (done, total) => update(`${done}/${total}`)})
              },
            },
          ],
          {},
          {json: this.jsonEnabled()},
        )
        output.changed = true
        this.say(`\n${renderApplyResult(output.result!)}`)
        this.say('\nNext: secrets migrate verify --wait 2m   (exit 0 proves every value is in every region; then remove the SOPS files)')
      }
    } finally {
      await Promise.all(vaults.map((vault) => vault.close()))
    }
    return output
  }
}
