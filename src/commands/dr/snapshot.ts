import {Flags} from '@oclif/core'

import {metricsFlags, startMetrics} from '../../lib/cli/metrics-flags.js'
import {recordSnapshot} from '../../lib/metrics/families.js'
import {BaseCommand} from '../../lib/cli/base-command.js'
import {findRegion} from '../../lib/config/load.js'
import {validateRecipients} from '../../lib/dr/age.js'
import {summarizeManifest, type ManifestSummary} from '../../lib/dr/manifest.js'
import {renderSnapshot} from '../../lib/dr/render.js'
import {durationFlag} from '../../lib/cli/duration.js'
import {type DrSnapshotOutput} from '../../lib/dr/output-schema.js'
import {runSnapshot, type PrunedSnapshot} from '../../lib/dr/save.js'
import {abortOnInterrupt, removeOnInterrupt} from '../../lib/cli/interrupt.js'
import {s3Flags, storeSettingsFrom} from '../../lib/cli/s3-flags.js'
import {stageRenderer} from '../../lib/cli/stages.js'
import {connectRegion} from '../../lib/vault/connect.js'

interface SnapshotOutput {
  file: string
  manifestFile: string
  manifest: ManifestSummary
  pruned: PrunedSnapshot[]
}

export default class DrSnapshot extends BaseCommand<typeof DrSnapshot> {
  static override boundedMemory = true
  static override summary = 'Save a verified Raft snapshot of a region\'s Vault, with a manifest, optionally age-encrypted and pruned.'

  static override description = `Streams GET /v1/sys/storage/raft/snapshot to a hidden temporary file in --out, hashing it (SHA-256) and checking it as it arrives: a gzip'd tar holding exactly meta.json, state.bin, SHA256SUMS (and SHA256SUMS.sealed), whose sums match. Only then is it renamed into place, never over an existing file. An empty, truncated or malformed snapshot is an error (exit 2) and nothing is kept.

Beside it, <name>.json records the archive's SHA-256 and size, the Raft index/term/id, the region, server version, cluster name and id, seal type, time taken, the number of keys in each KV v2 mount and, per key, a digest of its current version's metadata (version number, created and deletion time, destroyed; key names hashed; never a value or anything derived from one), read before the download when the token may list and read metadata, and again after it unless the Raft index shows nothing was written meanwhile. \`dr restore\` compares those digests to prove the restored server holds the snapshot's data. Names start with the UTC time, so they sort oldest first: 20250131T021500.000Z-region1.snap.

--out s3://BUCKET/PREFIX streams the snapshot through the same checks into a multipart upload (memory stays bounded at any size) and writes the manifest last: a snapshot that fails a check, or is interrupted, is aborted and leaves nothing in the bucket, and \`dr list\` ignores an object without its manifest. Credentials come from the AWS SDK's chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, web identity); AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL names a non-AWS endpoint (then path-style addressing is used unless --no-s3-path-style).

--encrypt-to encrypts on the fly with age (the manifest lists the recipients; restore needs --identity). --keep/--keep-within prune this region's older snapshots in --out after a successful save (safety snapshots taken by \`dr restore\` are never pruned).

Exit codes: 0 saved and verified, 2 error (nothing kept).`

  static override examples = [
    {description: 'Nightly snapshot of region1, keeping 14 of them', command: '<%= config.bin %> <%= command.id %> --region region1 --out /backups/vault --keep 14'},
    {description: 'Encrypt to two age recipients and keep a week', command: '<%= config.bin %> <%= command.id %> --region region1 --out /backups/vault --encrypt-to age1ops... --encrypt-to age1offsite... --keep-within 7d'},
    {description: 'Off-site: into a bucket, encrypted, keeping 30', command: '<%= config.bin %> <%= command.id %> --region region1 --out s3://dr-backups/vault/region1 --encrypt-to age1offsite... --keep 30'},
    {description: 'Into an on-premises S3 store (MinIO, Ceph, versitygw)', command: 'AWS_ENDPOINT_URL_S3=https://s3.internal:9000 <%= config.bin %> <%= command.id %> --region region1 --out s3://dr-backups/vault --s3-ca-bundle /etc/ssl/internal-ca.pem'},
    {description: 'Machine-readable result for a cron wrapper', command: '<%= config.bin %> <%= command.id %> --region region2 --out /backups/vault --json'},
  ]

  static override flags = {
    region: Flags.string({char: 'r', description: 'region to snapshot (a name from the configuration)', required: true}),
    out: Flags.string({char: 'o', description: 'directory to write the snapshot and its manifest to (created if missing), or s3://BUCKET/PREFIX', default: '.'}),
    'encrypt-to': Flags.string({description: 'age recipient (age1…) to encrypt the archive to; repeatable', multiple: true, default: []}),
    keep: Flags.integer({description: 'after saving, keep only the newest N snapshots of this region in --out', min: 1}),
    'keep-within': durationFlag({description: 'after saving, keep every snapshot of this region taken within this long of the newest (e.g. 36h, 7d, 2w)', min: 1}),
    'key-counts': Flags.boolean({description: 'count the keys of every KV v2 mount and record their version digests for the manifest (--no-key-counts to skip on huge Vaults: a restore of the snapshot then cannot confirm its data without --compare-region)', default: true, allowNo: true}),
    ...metricsFlags,
    ...s3Flags,
  }

  public async run(): Promise<DrSnapshotOutput> {
    const flags = this.flags
    // One group per region: each region's snapshot job pushes its own metrics.
    this.metricsRun = await startMetrics('dr snapshot', flags, {region: flags.region})
    const region = findRegion(this.loadConfig().config, flags.region)
    await validateRecipients(flags['encrypt-to'])
    const keepWithinMs = flags['keep-within']
    const vault = await connectRegion(region)
    try {
      const snapshot = await runSnapshot(
        {
          vault,
          outDir: flags.out,
          kind: 'snapshot',
          encryptTo: flags['encrypt-to'],
          countKeys: flags['key-counts'],
          retention: {keepLast: flags.keep, keepWithinMs},
          onTemporaryFile: removeOnInterrupt,
          storage: storeSettingsFrom(flags),
          onPendingUpload: abortOnInterrupt,
        },
        {renderer: stageRenderer({json: this.jsonEnabled()})},
      )
      this.say(renderSnapshot(snapshot))
      if (this.metricsRun) recordSnapshot(this.metricsRun.metrics, {region: region.name, bytes: snapshot.manifest!.archive.size, createdAt: new Date(snapshot.manifest!.createdAt)})
      return {file: snapshot.archiveFile!, manifestFile: snapshot.manifestFile!, manifest: summarizeManifest(snapshot.manifest!), pruned: snapshot.pruned ?? []}
    } finally {
      await vault.close()
    }
  }
}
