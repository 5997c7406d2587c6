import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../lib/cli/base-command.js'
import {loadIdentities} from '../../lib/dr/age.js'
import {renderVerify} from '../../lib/dr/render.js'
import {summarizeManifest} from '../../lib/dr/manifest.js'
import {type DrVerifyOutput} from '../../lib/dr/output-schema.js'
import {verifySnapshotFile} from '../../lib/dr/verify.js'
import {s3Flags, storeSettingsFrom} from '../../lib/cli/s3-flags.js'
import {isRemoteLocation, openSnapshotStore, splitLocation} from '../../lib/dr/snapshot-store.js'
import {verifyStoredSnapshot} from '../../lib/dr/snapshot-store-ops.js'

export default class DrVerify extends BaseCommand<typeof DrVerify> {
  static override boundedMemory = true
  static override summary = 'Check a snapshot file offline: archive structure, member checksums, and its manifest.'

  static override description = `Decompresses the archive, checks that its members are exactly meta.json, state.bin, SHA256SUMS (and SHA256SUMS.sealed), recomputes the SHA-256 of each member against SHA256SUMS, and compares the file's SHA-256 and size, the archive's and the Raft index/term/id with the manifest (<name>.json) when there is one. No server is contacted. This is the same check \`dr snapshot\` runs before keeping a file and \`dr restore\` runs before sending one.

An age-encrypted snapshot is decrypted on the fly with --identity; without it only the file's SHA-256 and size are checked against the manifest (and the report says so).

An s3://BUCKET/PREFIX/NAME.snap object is downloaded as a stream through the same check (nothing is written to disk) and compared with the manifest object beside it.

Only regular files are read: a FIFO or device given as the snapshot or found as its manifest is refused (exit 2) without being opened for reading.

Exit codes: 0 the snapshot verifies, 1 it does not (corrupt, truncated, not a snapshot, or not what its manifest records), 2 it could not be checked (missing file, not a regular file, wrong key).`

  static override examples = [
    {description: 'Check a snapshot before relying on it', command: '<%= config.bin %> <%= command.id %> /backups/vault/20250131T021500.000Z-region1.snap'},
    {description: 'Check an encrypted snapshot fully', command: '<%= config.bin %> <%= command.id %> /backups/vault/20250131T021500.000Z-region1.snap.age --identity ~/.config/age/dr.txt'},
    {description: 'A snapshot in a bucket: streamed through the same check, nothing written to disk', command: '<%= config.bin %> <%= command.id %> s3://dr-backups/vault/20250131T021500.000Z-region1.snap'},
    {description: 'In a script: branch on the exit code', command: '<%= config.bin %> <%= command.id %> snap.snap --json > verify.json || echo "do not restore this one"'},
  ]

  static override args = {
    file: Args.string({description: 'the snapshot (.snap / .snap.age) or its manifest (.json)', required: true}),
  }

  static override flags = {
    identity: Flags.file({char: 'i', description: 'age identity file to decrypt an encrypted snapshot (AGE-SECRET-KEY-… lines)', exists: true}),
    ...s3Flags,
  }

  public async run(): Promise<DrVerifyOutput> {
    const {args} = await this.parse(DrVerify)
    const identities = this.flags.identity ? await loadIdentities(this.flags.identity) : undefined
    const report = isRemoteLocation(args.file) ? await this.verifyStored(args.file, identities) : await verifySnapshotFile(args.file, {identities})
    this.findings = !report.ok
    this.say(renderVerify(report))
    return {...report, manifest: summarizeManifest(report.manifest)}
  }

  private async verifyStored(location: string, identities: Awaited<ReturnType<typeof loadIdentities>> | undefined) {
    const {parent, name} = splitLocation(location)
    const store = await openSnapshotStore(parent, storeSettingsFrom(this.flags))
    try {
      return await verifyStoredSnapshot(store, name, {identities})
    } finally {
      store.close()
    }
  }
}
