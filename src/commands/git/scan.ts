import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../lib/cli/base-command.js'
import {loadKnownValues, type ValueSourceName} from '../../lib/git/known-values.js'
import {renderScanReport} from '../../lib/git/render.js'
import {scanRepository, type ScanReport} from '../../lib/git/scan.js'
import {sopsDetector} from '../../lib/git/sops-adapter.js'

export default class GitScan extends BaseCommand<typeof GitScan> {
  static override summary = 'Find SOPS files, .sops.yaml and known secret values in every object of a Git repository.'

  static override description = `Reads every object (git cat-file --batch-all-objects) and reports SOPS-encrypted blobs by content, with the paths and commits that introduced them, every .sops.yaml, and occurrences of known plaintext values (as is, base64, URL-encoded, JSON-escaped) in blobs and commit/tag messages.

Values are taken in memory from --values-from sops (the SOPS files found, decrypted with the usual keys) and/or --values-from vault (the regions' KV trees). A value is never printed: only object ids, paths, commits and secret/key names.

Exit codes: 0 clean, 1 findings, 2 error. Run it in CI on every push.`

  static override examples = [
    {description: 'Scan the current repository for SOPS files and .sops.yaml', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'Also look for the plaintext of every SOPS value in history', command: 'SOPS_AGE_KEY_FILE=~/.config/sops/age/keys.txt <%= config.bin %> <%= command.id %> ./repo --values-from sops'},
    {description: 'CI gate: look for every value held in the regions\' Vaults, JSON report', command: '<%= config.bin %> <%= command.id %> . --values-from vault --config secrets-toolkit.yaml --json > scan.json'},
  ]

  static override args = {
    repo: Args.directory({description: 'repository to scan', default: '.', exists: true}),
  }

  static override flags = {
    'values-from': Flags.string({
      description: 'where to take known plaintext values from (repeatable)',
      options: ['sops', 'vault'],
      multiple: true,
      default: [],
    }),
    'ignore-mac': Flags.boolean({description: 'decrypt SOPS files even when their MAC does not verify (values-from sops)', default: false}),
  }

  public async run(): Promise<ScanReport> {
    const {args} = await this.parse(GitScan)
    const detector = sopsDetector()
    const sources = this.flags['values-from'] as ValueSourceName[]
    const {patterns, warnings} = await loadKnownValues({
      repo: args.repo,
      sources,
      detector,
      regions: () => this.loadConfig().config.regions,
      ignoreMac: this.flags['ignore-mac'],
    })
    const {report} = await scanRepository(args.repo, {detector, patterns})
    report.warnings.unshift(...warnings)
    this.findings = !report.clean
    this.say(renderScanReport(report))
    return report
  }
}
