import {requireBinary} from '../helpers/binaries.js'

/** Builds (once, cached) the local binaries the `local` tests use, before any test starts. */
export default async function localSetup(): Promise<void> {
  process.env.SOPS_BIN = requireBinary('sops')
  process.env.SOPS_DISABLE_VERSION_CHECK = '1'
}
