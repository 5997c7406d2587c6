// "No value in process arguments": every process's command line on the
// machine, sampled while the tests run (values typed or read by the CLI must
// never become an argument of anything it starts).
import {readdirSync, readFileSync} from 'node:fs'

import type {CliResult} from '../../helpers/cli.js'

export interface ProcessArgumentWatch {
  /** Every distinct command line seen so far (arguments joined by spaces). */
  seen(): string[]
  stop(): void
}

export function watchProcessArguments(intervalMs = 100): ProcessArgumentWatch {
  const seen = new Set<string>()
  const sample = () => {
    for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
      try {
        const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim()
        if (args) seen.add(args)
      } catch {
        // The process ended between the listing and the read.
      }
    }
  }
  sample()
  const timer = setInterval(sample, intervalMs)
  timer.unref()
  return {seen: () => [...seen], stop: () => clearInterval(timer)}
}

/** The exit code, or a failure that shows what the command said (names only: the tests' canary checks cover it). */
export function expectExit(result: CliResult, code: number): void {
  if (result.code !== code) throw new Error(`exit ${result.code}, expected ${code}:\n${result.stdout}\n${result.stderr}`)
}
