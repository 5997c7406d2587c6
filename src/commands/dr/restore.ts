import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../lib/cli/base-command.js'
import {confirmOrRefuse} from '../../lib/cli/confirm.js'
import {findRegion} from '../../lib/config/load.js'
import {ToolkitError} from '../../lib/errors/errors.js'
import {loadIdentities, validateRecipients} from '../../lib/dr/age.js'
import {type DrRestoreOutput} from '../../lib/dr/output-schema.js'
import {renderPlan, renderRestoreReport} from '../../lib/dr/render.js'
import {
  newRestoreContext,
  restoreSucceeded,
  runRestore,
  type PostRestoreCheck,
  type RestoreContext,
  type RestorePlan,
} from '../../lib/dr/restore.js'
import type {SnapshotContext} from '../../lib/dr/save.js'
import type {RegionComparison} from '../../lib/compare/types.js'
import {abortOnInterrupt, removeOnInterrupt} from '../../lib/cli/interrupt.js'
import {s3Flags, storeSettingsFrom} from '../../lib/cli/s3-flags.js'
import {stageRenderer} from '../../lib/cli/stages.js'
import {connectRegion, type RegionVault} from '../../lib/vault/connect.js'

interface RestoreOutput {
  dryRun: boolean
  checkOnly: boolean
  restored: boolean
  ok: boolean
  plan?: RestorePlan
  safetySnapshot?: {file: string; manifestFile: string; verified: boolean}
  upload?: RestoreContext['upload']
  serverState?: string
  checks: PostRestoreCheck[]
  comparison?: RegionComparison
}

type Context = RestoreContext & {snapshot: SnapshotContext}

export default class DrRestore extends BaseCommand<typeof DrRestore> {
  // It streams the snapshot up, and its safety snapshot walks every key and streams a download as `dr snapshot` does (memory/bounded-memory.ts).
  static override boundedMemory = true
  static override summary = 'Restore a verified Raft snapshot into a region\'s Vault: pre-flight, safety snapshot, streamed upload, and proof that the data is the snapshot\'s.'

  static override description = `Stages, each shown as it runs:
  0. for s3://BUCKET/PREFIX/NAME.snap: download it and its manifest into --work-dir, checking size and SHA-256 as it streams (the local copy is removed afterwards);
  1. verify the snapshot — nothing is sent to any server before it passes: a plain archive whose SHA-256 and size are the ones its manifest records (written after its members passed the full check when it was taken) is hashed only; anything else gets the full \`dr verify\` check. The upload hashes the bytes again and holds back the last block until they match;
  2. pre-flight the target: reachable, initialized, unsealed, the active node, and the token may snapshot and restore; the plan shows the target, its cluster and Raft index against the snapshot's. A snapshot of another cluster is refused unless --force (which uses snapshot-force: afterwards the snapshot's unseal keys and root token apply);
  3. confirmation: type the region name (--yes skips it; refused without --yes when stdin is not a terminal). --dry-run stops before this;
  4. safety snapshot of the target's current state, checked like \`dr snapshot\` and read back from disk (unless --no-safety-snapshot);
  5. upload the snapshot as a stream (POST /v1/sys/storage/raft/snapshot, or snapshot-force), with progress;
  6. wait until the server is healthy again, or report that it is sealed and needs the snapshot's unseal keys;
  7. post-restore checks that the data is the snapshot's, not merely a healthy server: the Raft applied index is past the snapshot's (and the index before the upload), every key's current version (number, created and deletion time: recorded by \`dr snapshot\`, never a value) is the one the manifest records, the key count of every mount matches, and with --compare-region the other region agrees key by key. A server that answered the upload and then lost it (crash, restart, auto-unseal) is "not confirmed".

Exit codes: 0 restored and the data confirmed to be the snapshot's; 1 the restore ran but is not confirmed (sealed, data differs from the snapshot, a manifest without key versions and no --compare-region, regions differ: see the report and docs/runbooks/dr-restore.md); 2 error or refusal, with nothing changed unless the message says the upload started.`

  static override examples = [
    {description: 'See the plan without changing anything', command: '<%= config.bin %> <%= command.id %> /backups/vault/20250131T021500.000Z-region1.snap --region region1 --dry-run'},
    {description: 'Restore region1 from its own snapshot (asks you to type "region1")', command: '<%= config.bin %> <%= command.id %> /backups/vault/20250131T021500.000Z-region1.snap --region region1'},
    {description: 'Non-interactive, encrypted snapshot, then compare with the other region', command: '<%= config.bin %> <%= command.id %> /backups/vault/20250131T021500.000Z-region1.snap.age --region region1 --identity ~/.config/age/dr.txt --compare-region region2 --yes'},
    {description: 'Rebuild region2 from region1\'s snapshot (different cluster)', command: '<%= config.bin %> <%= command.id %> /backups/vault/20250131T021500.000Z-region1.snap --region region2 --force --yes'},
    {description: 'From a bucket: downloaded into --work-dir through the checker first, the safety snapshot into the bucket', command: '<%= config.bin %> <%= command.id %> s3://dr-backups/vault/20250131T021500.000Z-region1.snap --region region1 --work-dir /var/tmp --yes'},
    {description: 'After unsealing a restored server: run only the post-restore checks', command: '<%= config.bin %> <%= command.id %> /backups/vault/20250131T021500.000Z-region1.snap --region region2 --check-only'},
  ]

  static override args = {
    file: Args.string({description: 'the snapshot (.snap / .snap.age) or its manifest (.json)', required: true}),
  }

  static override flags = {
    region: Flags.string({char: 'r', description: 'region to restore into (a name from the configuration)', required: true}),
    identity: Flags.file({char: 'i', description: 'age identity file to decrypt an encrypted snapshot', exists: true}),
    force: Flags.boolean({description: 'allow a snapshot of another cluster (uses snapshot-force; the snapshot\'s unseal keys and root token apply afterwards)', default: false}),
    'safety-snapshot': Flags.boolean({description: 'snapshot the target\'s current state first (--no-safety-snapshot to skip)', default: true, allowNo: true}),
    'safety-dir': Flags.string({description: 'where to write the safety snapshot: a directory or s3://BUCKET/PREFIX (default: beside the snapshot, in its bucket for one in a bucket)'}),
    'work-dir': Flags.directory({description: 'where a snapshot from s3:// is downloaded and checked before the restore (default: the system\'s temporary directory); needs room for one snapshot, removed afterwards'}),
    'encrypt-to': Flags.string({description: 'age recipient to encrypt the safety snapshot to; repeatable', multiple: true, default: []}),
    'compare-region': Flags.string({description: 'after the restore, compare the restored region key by key with this region (as `secrets verify regions`)'}),
    'wait-timeout': Flags.integer({description: 'seconds to wait for the server to apply the snapshot and be healthy after the upload', default: 300, min: 1}),
    'check-only': Flags.boolean({description: 'do not restore: only wait for health and run the post-restore checks (Raft index, key versions, key counts) against the snapshot\'s manifest', default: false}),
    'dry-run': Flags.boolean({description: 'verify, pre-flight and show the plan; change nothing', default: false}),
    yes: Flags.boolean({char: 'y', description: 'do not ask for confirmation (required without a TTY)', default: false}),
    ...s3Flags,
  }

  public async run(): Promise<DrRestoreOutput> {
    const {args} = await this.parse(DrRestore)
    const flags = this.flags
    const {config} = this.loadConfig()
    const region = findRegion(config, flags.region)
    const otherRegion = flags['compare-region'] === undefined ? undefined : findRegion(config, flags['compare-region'])
    if (otherRegion?.name === region.name) {
      throw new ToolkitError('SAME_REGION', `--compare-region ${region.name} is the region being restored`, {hint: 'Name the other region, whose data should equal the snapshot\'s.'})
    }
    await validateRecipients(flags['encrypt-to'])
    const identities = flags.identity ? await loadIdentities(flags.identity) : undefined
    const json = this.jsonEnabled()

    const vaults: RegionVault[] = []
    try {
      const ctx = newRestoreContext({
        file: args.file,
        region: region.name,
        connect: async () => {
          const target = await connectRegion(region)
          vaults.push(target)
          const compareWith = otherRegion ? await connectRegion(otherRegion) : undefined
          if (compareWith) vaults.push(compareWith)
          return {target, compareWith}
        },
        identities,
        force: flags.force,
        safetySnapshot: flags['safety-snapshot'],
        safetyDir: flags['safety-dir'],
        safetyEncryptTo: flags['encrypt-to'],
        onTemporaryFile: removeOnInterrupt,
        workDir: flags['work-dir'],
        storage: storeSettingsFrom(flags),
        onPendingUpload: abortOnInterrupt,
        compare: otherRegion !== undefined,
        waitTimeoutMs: flags['wait-timeout'] * 1000,
        sealedGraceMs: 3_000,
        pollIntervalMs: 1000,
      }) as Context

      const mode = flags['check-only'] ? 'check-only' : flags['dry-run'] ? 'dry-run' : 'restore'
      await runRestore(ctx, {mode, compareRegion: otherRegion?.name, targetAddress: region.vault.address}, {
        renderer: stageRenderer({json}),
        planned: (plan) => {
          this.say(renderPlan(plan))
          if (mode === 'restore') for (const warning of plan.warnings) this.warn(warning)
        },
        confirm: (question) => confirmOrRefuse({yes: flags.yes, ...question}),
      })
      if (mode === 'check-only') return this.finish(ctx, {dryRun: false, checkOnly: true, restored: false})
      if (mode === 'dry-run') {
        this.say('Dry run: nothing was changed.')
        return {dryRun: true, checkOnly: false, restored: false, ok: true, plan: ctx.plan, checks: []}
      }
      return this.finish(ctx, {dryRun: false, checkOnly: false, restored: true})
    } finally {
      for (const vault of vaults) await vault.close()
    }
  }

  private finish(ctx: Context, mode: {dryRun: boolean; checkOnly: boolean; restored: boolean}): RestoreOutput {
    const ok = restoreSucceeded(ctx)
    this.findings = !ok
    this.say(renderRestoreReport(ctx, ok))
    return {
      ...mode,
      ok,
      plan: ctx.plan,
      safetySnapshot: ctx.snapshot?.archiveFile ? {file: ctx.snapshot.archiveFile, manifestFile: ctx.snapshot.manifestFile!, verified: ctx.safetyVerify?.ok ?? false} : undefined,
      upload: ctx.upload,
      serverState: ctx.after?.state,
      checks: ctx.checks,
      comparison: ctx.comparison?.comparison,
    }
  }
}
