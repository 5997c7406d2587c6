import {esoVersion} from '../helpers/binaries.js'
import {startEnvironment} from './environment.js'

/** Where the global setup leaves the running environment for the global teardown (Jest shares globals between the two). */
export const ENVIRONMENT_GLOBAL = '__secretsToolkitIntegrationEnvironment'

/**
 * Starts the real servers once for the whole integration run and publishes
 * them to the tests through $SECRETS_TOOLKIT_TEST_ENV (test/helpers/env.ts).
 */
export default async function globalSetup(): Promise<void> {
  const running = await startEnvironment()
  ;(globalThis as Record<string, unknown>)[ENVIRONMENT_GLOBAL] = running
  const seconds = (running.timings.total / 1000).toFixed(1)
  process.stderr.write(`\nintegration environment up in ${seconds} s (two Vault regions, kube-apiserver, ESO ${esoVersion()}); logs: ${running.env.logsDir}\n`)
}
