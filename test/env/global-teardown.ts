import type {RunningEnvironment} from './environment.js'
import {ENVIRONMENT_GLOBAL} from './global-setup.js'

/** Stops every server of the run, including any a test started and left running; the logs stay. */
export default async function globalTeardown(): Promise<void> {
  const running = (globalThis as Record<string, unknown>)[ENVIRONMENT_GLOBAL] as RunningEnvironment | undefined
  if (!running) return
  await running.stop()
  delete (globalThis as Record<string, unknown>)[ENVIRONMENT_GLOBAL]
}
