#!/usr/bin/env node
import {flush, handle, run} from '@oclif/core'

// @oclif/plugin-warn-if-update-available asks the npm registry in the
// background; a secrets tool runs in CI and air-gapped clusters, so it stays
// off unless the operator turns it on with SECRETS_TOOLKIT_SKIP_NEW_VERSION_CHECK=false.
process.env.SECRETS_TOOLKIT_SKIP_NEW_VERSION_CHECK ??= 'true'

// On Node 20 the AWS SDK prints a nine-line warning, on every S3 run, that its
// releases after January 2027 will need Node 22. The toolkit pins its SDK
// version, which runs on Node 20, so the warning is about our upgrades, not the
// operator's run (README: Node 20 is end of life, 22 and 24 are supported); in
// a CronJob's log it would only bury the lines that matter.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'

await run(process.argv.slice(2), import.meta.url)
  .then(async (result) => {
    flush()
    return result
  })
  .catch(async (error) => {
    // @oclif/plugin-not-found exits 127 on an unknown command; the toolkit's
    // contract is 2 for every error, usage errors included.
    if (error?.oclif?.exit === 127) error.oclif.exit = 2
    return handle(error)
  })
