import {Flags} from '@oclif/core'

import {initializeVault, ALLOW_NON_TTY_FLAG, checkInitVaultTerminal, type InitVaultResult} from '../../lib/bootstrap/init-vault.js'
import {writeClusterManifests, type WrittenManifest} from '../../lib/bootstrap/manifests.js'
import {renderInitVault, renderManifests, renderWizardResult} from '../../lib/bootstrap/render.js'
import {loadSpec} from '../../lib/bootstrap/spec.js'
import {readAllStdin} from '../../lib/bootstrap/stdin.js'
import {runWizard, type WizardResult} from '../../lib/bootstrap/wizard.js'
import {BaseCommand} from '../../lib/cli/base-command.js'
import {cancelledOr, interactiveValueSource} from '../../lib/cli/bootstrap-prompts.js'
import {confirmOrRefuse} from '../../lib/cli/confirm.js'
import {stageRenderer} from '../../lib/cli/stages.js'
import {type BootstrapJson} from '../../lib/bootstrap/output-schema.js'
import {findRegion} from '../../lib/config/load.js'
import {ToolkitError} from '../../lib/errors/errors.js'
import {KubeClient} from '../../lib/kube/client.js'
import {connectRegion} from '../../lib/vault/connect.js'

type BootstrapOutput = {mode: 'wizard'; result: WizardResult} | {mode: 'manifests'; files: WrittenManifest[]} | {mode: 'init-vault'; result: InitVaultResult} | {mode: 'print-spec'}

export default class Bootstrap extends BaseCommand<typeof Bootstrap> {
  static override summary = 'Seed the first credentials: ask for them (hidden), create the Secrets and PushSecrets, and wait until both Vaults hold them.'

  static override description = `Reads a bootstrap spec (names and validation rules, never values; --spec, or the built-in one: --print-spec shows it), reads which Secrets exist, shows the plan, asks each value twice with hidden input, shows a summary of names, asks for confirmation, then creates each Secret (server-side apply) with a PushSecret of the same name pushing every key to every region's ClusterSecretStore (remote key {namespace}/{name}), and waits until both Vaults hold the values. Nothing is written to a file, a flag, the environment or a log.

Before the first question it checks every region's ClusterSecretStore (exists, Ready) and Vault (reachable, unsealed), and reports every problem at once.

Re-running is safe: existing Secrets are kept unless --rotate names them; a Secret whose PushSecret is missing gets one; a PushSecret that does not push to every configured region (one added to the configuration) or every key is updated; a kept secret a Vault lacks is re-pushed (ESO is asked to push now). A property a Vault holds that the Secret no longer has is a difference; after a rotation it is removed (check-and-set). --rotate of a secret ESO generates (generatedInCluster) makes ESO generate a new value and push it. Automation pipes the values as JSON with --values-from-stdin (with --dry-run they are read and validated); without it, a stdin that is not a terminal is refused.

--output-dir writes, instead, the ESO Password generator + ExternalSecret + PushSecret manifests of the secrets marked generatedInCluster, to commit to Git.

--init-vault REGION initializes a region's uninitialized Vault, shows its unseal keys and root token once on the terminal, waits until you type STORED, unseals it, and stores nothing.

Exit codes: 0 done and every Vault holds every value, and nothing else (or nothing to do); 1 a Vault did not hold every value before --wait-timeout, or holds a property the Secret no longer has, or --dry-run found work to do; 2 error (including a pre-flight problem), refusal or cancellation.`

  // oclif's generated usage line cannot show the four modes (its exclusive-flag groups come out empty): spelled out instead.
  static override usage = [
    // The first line is also the README heading: the wizard with the built-in spec.
    'bootstrap',
    'bootstrap [--spec FILE] [--rotate NAMESPACE/NAME...] [--values-from-stdin] [--dry-run] [-y] [--wait-timeout SECONDS] [--kubeconfig FILE] [--context NAME] [--config FILE] [--json]',
    'bootstrap --output-dir DIR [--spec FILE] [--config FILE]',
    'bootstrap --init-vault REGION [--key-shares N] [--key-threshold N] [-y] [--allow-non-tty-stdout] [--config FILE]',
    'bootstrap --print-spec [--spec FILE] [--json]',
  ]

  static override examples = [
    {description: 'See what would be created, without asking anything', command: '<%= config.bin %> <%= command.id %> --dry-run'},
    {description: 'Run the wizard with the spec committed to the GitOps repository', command: '<%= config.bin %> <%= command.id %> --spec clusters/prod/bootstrap.yaml'},
    {description: 'Replace one credential (asked again); the others are left alone', command: '<%= config.bin %> <%= command.id %> --spec clusters/prod/bootstrap.yaml --rotate external-dns/cloudflare-credentials'},
    {description: 'Rotate a value ESO generates in the cluster: ESO generates a new one, pushed to every Vault', command: '<%= config.bin %> <%= command.id %> --spec clusters/prod/bootstrap.yaml --rotate flux-system/webhook-receiver-token'},
    {description: 'Automation: check the values on stdin against the spec, without writing', command: "pass show platform/bootstrap.json | <%= config.bin %> <%= command.id %> --spec bootstrap.yaml --values-from-stdin --dry-run"},
    {
      description: 'Automation: values as JSON on stdin (never flags or environment variables)',
      command: "pass show platform/bootstrap.json | <%= config.bin %> <%= command.id %> --spec bootstrap.yaml --values-from-stdin --yes",
    },
    {description: 'Write the manifests of the cluster-generated secrets, to commit to Git', command: '<%= config.bin %> <%= command.id %> --spec bootstrap.yaml --output-dir clusters/prod/bootstrap'},
    {description: 'Initialize and unseal region1\'s new Vault (keys shown once on this terminal)', command: '<%= config.bin %> <%= command.id %> --init-vault region1 --key-shares 5 --key-threshold 3'},
    {description: 'Start your own spec from the built-in one', command: '<%= config.bin %> <%= command.id %> --print-spec > bootstrap.yaml'},
  ]

  static override flags = {
    spec: Flags.string({description: 'bootstrap spec (YAML: names and rules, never values); default: the built-in spec (see --print-spec)'}),
    'print-spec': Flags.boolean({description: 'print the spec in use and exit', default: false}),
    rotate: Flags.string({description: 'NAMESPACE/NAME of an existing secret to ask again and replace (repeatable)', multiple: true, default: []}),
    'values-from-stdin': Flags.boolean({description: 'read the values as JSON from stdin ({"ns/name": {"key": "value"}}) instead of prompting; stdin must be a pipe', default: false}),
    yes: Flags.boolean({char: 'y', description: 'do not ask for confirmation (required without a TTY)', default: false}),
    'dry-run': Flags.boolean({description: 'show the plan and stop: nothing is asked or written', default: false}),
    'wait-timeout': Flags.integer({description: 'seconds to wait until both Vaults hold the values; 0 skips the check (and needs no Vault credentials)', default: 120, min: 0}),
    'output-dir': Flags.string({
      description: 'write ESO Password generator + ExternalSecret + PushSecret manifests for the spec\'s generatedInCluster secrets into this directory, and stop',
      exclusive: ['rotate', 'values-from-stdin', 'dry-run'],
    }),
    'init-vault': Flags.string({
      description: 'initialize this region\'s uninitialized Vault, show its unseal keys and root token once on the terminal, unseal it; stores nothing',
      helpValue: 'REGION',
      exclusive: ['spec', 'rotate', 'values-from-stdin', 'dry-run', 'output-dir', 'print-spec'],
    }),
    'key-shares': Flags.integer({description: 'with --init-vault: number of unseal key shares', default: 5}),
    'key-threshold': Flags.integer({description: 'with --init-vault: shares needed to unseal', default: 3}),
    [ALLOW_NON_TTY_FLAG]: Flags.boolean({
      description: 'with --init-vault: accept that the unseal keys and root token are printed although stdout is not a terminal (you take care of where they go)',
      default: false,
    }),
    kubeconfig: Flags.string({description: 'kubeconfig file (default: kubernetes.kubeconfig in the configuration, else $KUBECONFIG, else ~/.kube/config)'}),
    context: Flags.string({description: 'kubeconfig context (default: kubernetes.context in the configuration, else the current context)'}),
  }

  public async run(): Promise<BootstrapJson> {
    const flags = this.flags
    if (flags['init-vault']) return this.initVault(flags['init-vault'])
    const spec = loadSpec(flags.spec)
    if (flags['print-spec']) {
      // With --json, stdout must be one JSON document: the spec text goes inside it.
      if (this.jsonEnabled()) return {mode: 'print-spec', spec: spec.text}
      process.stdout.write(spec.text)
      return {mode: 'print-spec'}
    }
    const {config} = this.loadConfig()
    if (flags['output-dir']) {
      const files = await writeClusterManifests(flags['output-dir'], spec.spec.secrets, config.regions, spec.source)
      this.say(renderManifests(files))
      return {mode: 'manifests', files}
    }
    const kube = KubeClient.connect({kubeconfig: flags.kubeconfig ?? config.kubernetes.kubeconfig, context: flags.context ?? config.kubernetes.context})
    const rerun = [
      ...(flags.config ? ['--config', flags.config] : []),
      ...(flags.spec ? ['--spec', flags.spec] : []),
      ...(flags.kubeconfig ? ['--kubeconfig', flags.kubeconfig] : []),
      ...(flags.context ? ['--context', flags.context] : []),
      // Nothing is asked again: an empty stdin is no values.
      ...(flags['values-from-stdin'] ? ['--values-from-stdin', '--yes', '</dev/null'] : []),
    ]
    const result = await runWizard({
      spec,
      config,
      kube,
      rotate: flags.rotate,
      waitTimeoutMs: flags['wait-timeout'] * 1000,
      dryRun: flags['dry-run'],
      json: this.jsonEnabled(),
      valuesFromStdin: flags['values-from-stdin'],
      stdinIsTTY: Boolean(process.stdin.isTTY),
      readStdin: () => readAllStdin(),
      say: (line) => this.say(line),
      confirm: (question) =>
        confirmOrRefuse({yes: flags.yes, ...question, stdinIsTTY: Boolean(process.stdin.isTTY)}).catch((error: unknown) => {
          throw cancelledOr(error, 'at the confirmation')
        }),
      promptValues: () => interactiveValueSource((line) => this.say(line)),
      renderer: stageRenderer({json: this.jsonEnabled()}),
      kubeContext: kube.config.getCurrentContext() || undefined,
      rerunCommand: ['secrets bootstrap', ...rerun.map((word) => (/^[\w@%+=:,./<-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`))].join(' '),
    })
    if (!result.dryRun) this.say(`\n${renderWizardResult(result)}`)
    this.findings = !result.inSync
    return {mode: 'wizard', result}
  }

  private async initVault(regionName: string): Promise<BootstrapOutput> {
    const flags = this.flags
    const split = {keyShares: flags['key-shares'], keyThreshold: flags['key-threshold']}
    const stdoutIsTTY = Boolean(process.stdout.isTTY)
    checkInitVaultTerminal({json: this.jsonEnabled(), stdinIsTTY: Boolean(process.stdin.isTTY), stdoutIsTTY, allowNonTtyStdout: flags[ALLOW_NON_TTY_FLAG]}, split.keyShares, split.keyThreshold)
    const region = findRegion(this.loadConfig().config, regionName)
    const vault = await connectRegion(region, {anonymous: true})
    let initialized = false
    try {
      const result = await initializeVault(region, vault.admin, split, {
        write: (text) => process.stdout.write(text),
        progress: (line) => this.logToStderr(line),
        confirm: (message) => confirmOrRefuse({yes: flags.yes, message}),
        acknowledge: async (word) => {
          initialized = true
          const {input} = await import('@inquirer/prompts')
          for (;;) {
            const typed = await input({message: `Type ${word} once the unseal keys and the root token are stored offline:`})
            if (typed.trim() === word) return
            this.logToStderr(`Not acknowledged: type ${word} exactly. The Vault stays sealed until you do.`)
          }
        },
        clearAfterAcknowledge: stdoutIsTTY,
      })
      this.say(renderInitVault(result))
      return {mode: 'init-vault', result}
    } catch (error) {
      if (initialized && ['ExitPromptError', 'AbortPromptError'].includes((error as Error)?.name)) {
        throw new ToolkitError('INIT_NOT_ACKNOWLEDGED', `region ${region.name} is initialized but still sealed: the acknowledgement was cancelled`, {
          hint: 'Unseal it with the keys that were shown (`vault operator unseal`, threshold times). They were not stored anywhere and cannot be shown again.',
        })
      }
      throw cancelledOr(error, 'before initializing')
    } finally {
      await vault.close()
    }
  }
}
