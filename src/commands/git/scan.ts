import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../lib/cli/base-command.js'
import {loadKnownValues, type ValueSourceName} from '../../lib/git/known-values.js'
import {assertWholeHistory} from '../../lib/git/repository-checks.js'
import {type ScanOutput} from '../../lib/git/output-schema.js'
import {renderScanReport} from '../../lib/git/render.js'
import {scanRepository} from '../../lib/git/scan.js'
import {sopsDetector} from '../../lib/git/sops-adapter.js'
import {MIN_VALUE_BYTES} from '../../lib/git/value-patterns.js'

export default class GitScan extends BaseCommand<typeof GitScan> {
  static override summary = 'Find SOPS files, .sops.yaml and known secret values in every object of a Git repository.'

  static override description = `Reads every object (git cat-file --batch-all-objects) and reports SOPS-encrypted blobs by content, with the paths and commits that introduced them, every .sops.yaml, and occurrences of known plaintext values (as is, base64, URL-encoded, JSON-escaped) in blobs and commit/tag messages.

Values are taken in memory from --values-from sops (the values sops encrypted in the SOPS files found — an ENC[…] in the file — decrypted with the usual keys; clear fields such as kind, metadata.name or unencrypted_suffix keys are not secrets and are not searched for) and/or --values-from vault (the regions' KV trees). Values shorter than --min-value-length bytes (default 8) are left out and named in the report. A value is never printed: only object ids, paths, commits and secret/key names.

Git LFS pointers are followed into .git/lfs/objects; an LFS object that is not there is a finding ("cannot be checked"). Blobs over 16 MiB are searched for values as a stream (memory stays bounded); SOPS detection parses blobs up to 4 MiB, and a larger blob, or one that does not parse, is reported as a finding when it carries SOPS markers.

Exit codes: 0 clean, 1 findings (including blobs that cannot be checked), 2 error — among them a shallow or partial clone, or a repository missing objects, which are refused since a scan could not see all of their history. Run it in CI on every push.`

  static override examples = [
    {description: 'Scan the current repository for SOPS files and .sops.yaml', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'Also look for the plaintext of every SOPS value in history', command: 'SOPS_AGE_KEY_FILE=~/.config/sops/age/keys.txt <%= config.bin %> <%= command.id %> ./repo --values-from sops'},
    {description: 'CI gate: look for every value held in the regions\' Vaults, JSON report', command: '<%= config.bin %> <%= command.id %> . --values-from vault --config secrets-toolkit.yaml --json > scan.json'},
  ]

  static override args = {
    // Checked by the command (a usage error naming the path), not by oclif.
    repo: Args.string({description: 'repository to scan', default: '.'}),
  }

  static override flags = {
    'values-from': Flags.string({
      description: 'where to take known plaintext values from (repeatable)',
      options: ['sops', 'vault'],
      multiple: true,
      default: [],
    }),
    'ignore-mac': Flags.boolean({description: 'decrypt SOPS files even when their MAC does not verify (values-from sops)', default: false}),
    'min-value-length': Flags.integer({description: 'values shorter than this many bytes are not searched for (they would match ordinary text); the report names them', default: MIN_VALUE_BYTES, min: 1}),
  }

  public async run(): Promise<ScanOutput> {
    const {args} = await this.parse(GitScan)
    const detector = sopsDetector()
    const sources = this.flags['values-from'] as ValueSourceName[]
    await assertWholeHistory(args.repo, 'the scan')
    const {patterns, warnings} = await loadKnownValues({
      repo: args.repo,
      sources,
      detector,
      regions: () => this.loadConfig().config.regions,
      ignoreMac: this.flags['ignore-mac'],
      minValueLength: this.flags['min-value-length'],
      repositoryChecked: true,
    })
    const {report} = await scanRepository(args.repo, {detector, patterns, repositoryChecked: true})
    report.warnings.unshift(...warnings)
    this.findings = !report.clean
    this.say(renderScanReport(report))
    return report
  }
}
