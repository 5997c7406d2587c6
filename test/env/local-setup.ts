import {execFileSync} from 'node:child_process'
import {delimiter, resolve} from 'node:path'

import {PROJECT_ROOT, requireBinary} from '../helpers/binaries.js'

/** Provides (once, cached) the local binaries the `local` tests use, before any test starts. */
export default async function localSetup(): Promise<void> {
  process.env.SOPS_BIN = requireBinary('sops')
  process.env.SOPS_DISABLE_VERSION_CHECK = '1'
  let filterRepoDir: string
  try {
    filterRepoDir = execFileSync(resolve(PROJECT_ROOT, 'scripts/test-env/git-filter-repo.sh'), {encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit']}).trim()
  } catch (error) {
    throw new Error(`git-filter-repo is required by the git scrub tests and could not be provided (${(error as Error).message}).\nRun: apt-get install -y git-filter-repo   (or pip install git-filter-repo)`)
  }
  process.env.PATH = `${filterRepoDir}${delimiter}${process.env.PATH ?? ''}`
}
