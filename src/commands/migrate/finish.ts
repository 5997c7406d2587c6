import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../lib/cli/base-command.js'
import {confirmOrRefuse} from '../../lib/cli/confirm.js'
import {durationFlag} from '../../lib/cli/duration.js'
import {connectKube, kubeFlags} from '../../lib/cli/kube-flags.js'
import {stageRenderer} from '../../lib/cli/stages.js'
import {DEFAULT_REMOTE_KEY_TEMPLATE} from '../../lib/eso/push-secret.js'
import {migrationPlanOptions} from '../../lib/cli/migrate-options.js'
import {defaultBranch, runFinish} from '../../lib/migrate/finish.js'
import {type MigrateFinishJson} from '../../lib/migrate/output-schema.js'
import {verifyMigration, verifyUntil} from '../../lib/migrate/verify.js'
import {connectRegion, type RegionVault} from '../../lib/vault/connect.js'

export default class MigrateFinish extends BaseCommand<typeof MigrateFinish> {
  static override summary = 'Hand the migrated Secrets over in Git: remove the SOPS files and what used them, add the PushSecret manifests, as one commit on a new branch.'

  static override description = `The Git side of the migration, run after \`migrate verify\` exits 0, as one reviewable change in the GitOps repository that holds DIR (the tree \`migrate sops\` migrated; default .):

- removes the migrated SOPS files and their entries in every kustomization.yaml (resources, secretGenerator envs/files, generators), and the .sops.yaml files no remaining SOPS file matches;
- adds the PushSecret manifests (as \`migrate sops --output-dir\` writes them) beside the kustomization.yaml that listed each source, listed in its resources;
- for a secretGenerator-made Secret (migrated under the generator's name, without kustomize's hash suffix), shows which workloads' references resolve to it once the generator is gone;
- removes spec.decryption from Flux Kustomizations that no longer decrypt anything, and names the key Secret (e.g. flux-system/sops-age) to delete after the next reconcile;
- commits on a new branch (--branch, default secrets-toolkit/migrate-<date>) or, with --no-commit, leaves the change staged on the current branch. It never pushes.

Nothing else in the repository changes: edited YAML keeps every other byte (the yaml library re-serialises a file only for a layout it cannot edit in place, and the plan says so).

Stages: plan (decrypt the sources in memory, plan every edit, print the diff; --dry-run stops here, contacting nothing and writing nothing) → repository checks (not shallow, no uncommitted change, branch free) → verification (\`migrate verify\` against the decrypted sources: every Secret exists, equals its source, carries prune protection, its PushSecret is Ready and every region holds every value) → confirmation (--yes; refused without a TTY) → write and commit.

The Secrets must be protected from pruning before this commit reaches Flux: \`migrate sops\` adds that protection to every Secret a GitOps tool applied, and the verification refuses a Secret still prunable.

The --mapping, --namespace and PushSecret flags must be those given to \`migrate sops\`: the manifests written are the PushSecrets it applied.

Exit codes: 0 the change is committed (or staged), or the dry run planned it; 1 the verification found differences (nothing changed); 2 error or refused (not a repository, shallow, uncommitted changes, branch exists, cancelled).`

  static override examples = [
    {description: 'Plan the hand-off and show the diff (contacts nothing, changes nothing)', command: '<%= config.bin %> <%= command.id %> ./clusters/prod --dry-run'},
    {description: 'Verify, then commit the hand-off on a new branch', command: '<%= config.bin %> <%= command.id %> ./clusters/prod --mapping mapping.yaml --yes'},
    {description: 'Leave the change staged on the current branch instead', command: '<%= config.bin %> <%= command.id %> ./clusters/prod --no-commit --yes'},
    {description: 'Then push the branch, merge it, and check again after the reconcile', command: 'git push -u origin secrets-toolkit/migrate-20260131 && <%= config.bin %> migrate verify --wait 2m'},
  ]

  static override args = {
    dir: Args.string({description: 'the migrated GitOps tree (in a Git repository)', default: '.'}),
  }

  static override flags = {
    ...kubeFlags,
    'dry-run': Flags.boolean({description: 'print the plan and the diff, then stop: contacts nothing, writes nothing', default: false}),
    yes: Flags.boolean({char: 'y', description: 'write without asking (required without a TTY)', default: false}),
    branch: Flags.string({description: 'the new branch to commit on (default: secrets-toolkit/migrate-YYYYMMDD)'}),
    commit: Flags.boolean({description: 'commit on the new branch (--no-commit: stage the change on the current branch)', default: true, allowNo: true}),
    namespace: Flags.string({char: 'n', description: 'as given to migrate sops: namespace for Secrets whose source does not name one'}),
    mapping: Flags.string({description: 'as given to migrate sops: the mapping file'}),
    engine: Flags.string({description: 'decryption engine: auto = the sops binary when installed, else built-in (age only)', options: ['auto', 'sops', 'builtin'], default: 'auto'}),
    'ignore-mac': Flags.boolean({description: 'decrypt even when a file\'s MAC does not verify', default: false}),
    'remote-key-template': Flags.string({description: 'as given to migrate sops: Vault path of each Secret', default: DEFAULT_REMOTE_KEY_TEMPLATE}),
    'deletion-policy': Flags.string({description: 'as given to migrate sops: PushSecret deletionPolicy', options: ['None', 'Delete'], default: 'None'}),
    'refresh-interval': Flags.string({description: 'as given to migrate sops: PushSecret refreshInterval', default: '1h'}),
    wait: durationFlag({description: 'let the verification poll until everything matches or this much time has passed (e.g. 90s, 2m)'}),
    concurrency: Flags.integer({description: 'sops processes and Vault reads in flight', default: 16, min: 1, max: 64}),
  }

  public async run(): Promise<MigrateFinishJson> {
    const {args} = await this.parse(MigrateFinish)
    const flags = this.flags
    const {config} = this.loadConfig()
    const cwd = process.cwd()
    const output = await runFinish(
      {
        plan: migrationPlanOptions(flags, {paths: [args.dir], cwd, regions: config.regions}),
        dir: args.dir,
        dryRun: flags['dry-run'],
        branch: flags.branch ?? defaultBranch(),
        commit: flags.commit,
      },
      {
        renderer: stageRenderer({json: this.jsonEnabled()}),
        say: (text) => this.say(text),
        confirm: (question) => confirmOrRefuse({yes: flags.yes, ...question}),
        verify: async (plan) => {
          const kube = connectKube(flags, config)
          const vaults: RegionVault[] = []
          try {
            for (const region of config.regions) vaults.push(await connectRegion(region))
            for (const vault of vaults) await vault.store.ready()
            const sources = plan.migrations.map((migration) => migration.planned)
            return await verifyUntil(() => verifyMigration({kube, vaults}, {targets: [], sources, concurrency: flags.concurrency}), flags.wait ?? 0)
          } finally {
            await Promise.all(vaults.map((vault) => vault.close()))
          }
        },
      },
    )
    this.findings = output.verification !== undefined && !(output.verification.inSync && output.verification.proven)
    return output
  }
}
