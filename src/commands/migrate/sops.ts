import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../lib/cli/base-command.js'
import {confirmOrRefuse} from '../../lib/cli/confirm.js'
import {connectKube, kubeFlags} from '../../lib/cli/kube-flags.js'
import {ToolkitError} from '../../lib/errors/errors.js'
import {DEFAULT_REMOTE_KEY_TEMPLATE} from '../../lib/eso/push-secret.js'
import {type MigrateSopsJson} from '../../lib/migrate/output-schema.js'
import {runMigration} from '../../lib/migrate/run.js'
import {migrationPlanOptions} from '../../lib/cli/migrate-options.js'
import {stageRenderer} from '../../lib/cli/stages.js'
import {connectRegion} from '../../lib/vault/connect.js'

export default class MigrateSops extends BaseCommand<typeof MigrateSops> {
  static override summary = 'Migrate SOPS-encrypted files to Kubernetes Secrets pushed by ESO PushSecrets to every regional Vault.'

  static override description = `Finds SOPS files by content (YAML incl. multi-document, JSON, dotenv, INI, binary: a document that parses in its format with sops' metadata at its top; an example inside another page is not one) under PATHS, honouring .gitignore; decrypts them in memory (the sops binary when installed, else the built-in age engine, MAC verified); maps each to Kubernetes Secrets (a SOPS-encrypted Secret manifest keeps its name, namespace, type, labels and annotations; any other file becomes one Opaque Secret named after the file); and creates, for each Secret, a PushSecret that pushes every key to every region's ClusterSecretStore.

Only regular files up to 8 MiB are read: symbolic links under PATHS are not followed, and pipes, devices and sockets are never opened (each is named in the report, and refused when named as a PATH); a file with sops' marks over 8 MiB, a file name with control characters, a map under a Secret's data: and nesting deeper than 512 levels are errors of that file.

Stages: plan (--dry-run stops here, contacting nothing) → pre-flight against Kubernetes and every Vault (CRD and ClusterSecretStores present, namespaces, existing Secrets, Vault paths free or already ESO's) → confirmation (--yes; refused without a TTY) → run record (a ConfigMap per target namespace naming the planned Secrets and their sources, never values; \`migrate verify\` checks against it) → PushSecret manifests to --output-dir → server-side apply. One bad file stops the run before anything is written (or is skipped with --continue-on-error). Re-running after success changes nothing; re-running after an interruption completes the migration.

Then run \`secrets migrate verify\`: when it exits 0, remove the SOPS files.

Mapping file (--mapping), names only:
  files:        [{path: "apps/db/*.enc.yaml", name: db-credentials, namespace: db}]
  directories:  [{path: clusters/prod/payments, namespace: payments}]

Exit codes: 0 done (or nothing to change), 1 some files skipped with --continue-on-error, 2 error (before the confirmation nothing is written; after it, the message lists what was written — counts, Secrets without a PushSecret — and re-running the same command completes it).`

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

  public async run(): Promise<MigrateSopsJson> {
    const {argv} = await this.parse(MigrateSops)
    const flags = this.flags
    if (!flags.apply && !flags['output-dir']) {
      throw new ToolkitError('USAGE', '--no-apply without --output-dir would do nothing', {hint: 'Add --output-dir DIR to write the PushSecret manifests, or drop --no-apply.'})
    }
    const {config} = this.loadConfig()
    const cwd = process.cwd()
    const paths = argv as string[]
    const output = await runMigration(
      {
        plan: migrationPlanOptions(flags, {paths, cwd, regions: config.regions}),
        dryRun: flags['dry-run'],
        apply: flags.apply,
        outputDir: flags['output-dir'],
        overwrite: flags.overwrite,
        createNamespaces: flags['create-namespaces'],
      },
      {
        renderer: stageRenderer({json: this.jsonEnabled()}),
        say: (text) => this.say(text),
        confirm: (question) => confirmOrRefuse({yes: flags.yes, ...question}),
        kube: () => connectKube(flags, config),
        vault: (region) => connectRegion(region),
      },
    )
    this.findings = output.failures.length > 0
    return output
  }
}
