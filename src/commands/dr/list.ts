import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../lib/cli/base-command.js'
import {loadIdentities} from '../../lib/dr/age.js'
import {readCatalog, summarizeCatalog, verdict} from '../../lib/dr/catalog.js'
import {s3Flags, storeSettingsFrom} from '../../lib/cli/s3-flags.js'
import {isRemoteLocation, openSnapshotStore} from '../../lib/dr/snapshot-store.js'
import {readStoreCatalog} from '../../lib/dr/snapshot-store-ops.js'
import {type DrListOutput} from '../../lib/dr/output-schema.js'
import {renderCatalog} from '../../lib/dr/render.js'

export default class DrList extends BaseCommand<typeof DrList> {
  static override boundedMemory = true
  static override summary = 'List the snapshots in a directory, oldest first, and whether each one verifies.'

  static override description = `Shows region, time taken, kind (snapshot, or safety snapshot taken by \`dr restore\`), size, Raft index, encryption and the result of the same integrity check as \`dr verify\` for every *.snap / *.snap.age file. Interrupted downloads, manifests without an archive, and anything named like a snapshot or manifest that is not a regular file (a FIFO, a device: never opened) are listed as strays. Names are shown with control characters escaped. An s3://BUCKET/PREFIX location lists the objects directly under the prefix: a snapshot counts only once its manifest exists (written last, after it verified); an archive without one and unfinished multipart uploads are strays.

Exit codes: 0 every snapshot verifies, 1 at least one does not, 2 error.`

  static override examples = [
    {description: 'What can I restore from?', command: '<%= config.bin %> <%= command.id %> /backups/vault'},
    {description: 'Only region2, quickly (no verification)', command: '<%= config.bin %> <%= command.id %> /backups/vault --region region2 --no-verify'},
    {description: 'The snapshots in a bucket (each downloaded through the checker)', command: '<%= config.bin %> <%= command.id %> s3://dr-backups/vault/region1'},
    {description: 'Verify encrypted snapshots fully', command: '<%= config.bin %> <%= command.id %> /backups/vault --identity ~/.config/age/dr.txt --json'},
  ]

  static override args = {
    dir: Args.string({description: 'directory holding the snapshots, or s3://BUCKET/PREFIX', default: '.'}),
  }

  static override flags = {
    region: Flags.string({char: 'r', description: 'only snapshots of this region'}),
    verify: Flags.boolean({description: 'run the integrity check on each snapshot (--no-verify to skip)', default: true, allowNo: true}),
    identity: Flags.file({char: 'i', description: 'age identity file, to check the inside of encrypted snapshots', exists: true}),
    ...s3Flags,
  }

  public async run(): Promise<DrListOutput> {
    const {args} = await this.parse(DrList)
    const identities = this.flags.identity ? await loadIdentities(this.flags.identity) : undefined
    const catalogOptions = {verify: this.flags.verify, verifyOptions: {identities}, region: this.flags.region}
    let catalog
    if (isRemoteLocation(args.dir)) {
      // In a bucket, only published snapshots (with their manifest) are entries; the rest are strays.
      const store = await openSnapshotStore(args.dir, storeSettingsFrom(this.flags))
      try {
        catalog = await readStoreCatalog(store, catalogOptions)
      } finally {
        store.close()
      }
    } else {
      catalog = await readCatalog(args.dir, catalogOptions)
    }
    this.findings = catalog.entries.some((entry) => verdict(entry) === 'FAILED')
    this.say(renderCatalog(catalog))
    // --json: manifests summed up, not one line per key of every snapshot.
    return summarizeCatalog(catalog)
  }
}
