import {Command, Flags, type Interfaces} from '@oclif/core'

import {loadConfig, type LoadedConfig} from '../config/load.js'
import {describeUnexpected, ExitCode, isToolkitError, ToolkitError} from '../errors/errors.js'
import {boundMemory} from '../memory/bounded-memory.js'
import {exitCodeOf, type MetricsRun} from './metrics-flags.js'

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>

/**
 * What every command shares: --config, --json, and the exit-code contract
 * (0 ok, 1 findings, 2 error). Errors become one clear line plus a hint on
 * stderr (or a JSON error object with --json), never a stack trace. Warnings
 * go through warn(), so that a script reading --json learns what an operator
 * reading the terminal would: every JSON result carries a `warnings` array.
 */
export abstract class BaseCommand<T extends typeof Command> extends Command {
  static override enableJsonFlag = true
  /** Set by commands that stream snapshots of any size (and walk every key): their memory stays flat (memory/bounded-memory.ts). */
  static boundedMemory = false

  static override baseFlags = {
    config: Flags.string({
      description: 'configuration file (default: $SECRETS_TOOLKIT_CONFIG, else ./secrets-toolkit.yaml, else Vault\'s VAULT_* variables)',
      helpGroup: 'GLOBAL',
    }),
  }

  protected flags!: BaseFlags<T>
  /** Set by a command whose check found differences or findings. */
  protected findings = false
  /** Set in run() by a command given --metrics-file/--pushgateway (startMetrics): published when the run ends, failed or not. */
  protected metricsRun?: MetricsRun
  /** Every warning given so far, in order, for the JSON result. */
  private readonly warnings: string[] = []

  public override async init(): Promise<void> {
    if ((this.ctor as typeof BaseCommand).boundedMemory) boundMemory()
    await super.init()
    const {flags} = await this.parse({flags: this.ctor.flags, baseFlags: (this.ctor as typeof BaseCommand).baseFlags, enableJsonFlag: true, args: this.ctor.args, strict: this.ctor.strict})
    this.flags = flags as BaseFlags<T>
  }

  protected loadConfig(): LoadedConfig {
    return loadConfig({path: this.flags.config})
  }

  /** Prints a human line only when not in --json mode. */
  protected say(message = ''): void {
    if (!this.jsonEnabled()) this.log(message)
  }

  /** A warning line on stderr for a human, and an entry of `warnings` in the --json result. */
  public override warn(input: Error | string): Error | string {
    const text = typeof input === 'string' ? input : input.message
    this.warnings.push(text)
    if (!this.jsonEnabled()) this.logToStderr(`warning: ${text}`)
    return input
  }

  /** Adds the warnings to a result; a report with its own `warnings` keeps them, followed by the ones given here. */
  protected override toSuccessJson(result: unknown): unknown {
    if (result === null || typeof result !== 'object' || Array.isArray(result)) return result
    const own: unknown = (result as {warnings?: unknown}).warnings
    const earlier = Array.isArray(own) ? own : []
    return {...result, warnings: [...earlier, ...this.warnings.filter((warning) => !earlier.includes(warning))]}
  }

  protected override async catch(error: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<unknown> {
    // oclif's own parse errors (unknown flag, missing arg) keep their text but use the error exit code.
    if (!isToolkitError(error) && error.oclif?.exit !== undefined && error.oclif.exit !== 0) {
      if (this.jsonEnabled()) this.logJson({error: {code: 'USAGE', message: error.message}, warnings: this.warnings})
      else this.logToStderr(`Error: ${error.message}\n  → See --help for usage.`)
      return this.exit(ExitCode.Error)
    }
    if (error.oclif?.exit === 0) throw error
    // oclif rewrites the message of an error thrown by a flag's parse (a duration, say) into
    // "Parsing --flag \n\t<message>\nSee more help with --help"; ours has a hint instead.
    if (isToolkitError(error)) error.message = error.message.replace(/^Parsing --\S+ \n\t([\s\S]*)\nSee more help with --help$/, '$1')
    const toolkitError = isToolkitError(error)
      ? error
      : new ToolkitError('UNEXPECTED', `unexpected error: ${describeUnexpected(error)}`, {hint: 'This is a bug: please report it with the command line (never with secret values).'})
    if (this.jsonEnabled()) {
      this.logJson({error: {code: toolkitError.code, message: toolkitError.message, hint: toolkitError.hint, ...(toolkitError.details ? {details: toolkitError.details} : {})}, warnings: this.warnings})
    } else {
      this.logToStderr(`Error: ${toolkitError.describe()}`)
    }
    return this.exit(toolkitError.exitCode)
  }

  protected override async finally(error: Error | undefined): Promise<unknown> {
    const result = await super.finally(error)
    if (!error && this.findings) process.exitCode = ExitCode.Findings
    if (this.metricsRun) {
      // A failed run writes its metrics too: that is when they matter. Failing to write them is an error of its own.
      await this.metricsRun.publish(exitCodeOf(error, this.findings)).catch((publishError: ToolkitError) => {
        if (!error) process.exitCode = ExitCode.Error
        if (this.jsonEnabled() && !error) this.warn(publishError.message)
        else this.logToStderr(`Error: ${publishError.describe()}`)
      })
    }
    return result
  }
}
