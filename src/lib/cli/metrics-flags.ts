import {Flags} from '@oclif/core'

import {ExitCode, isToolkitError, ToolkitError} from '../errors/errors.js'
import type {RunMetrics} from '../metrics/run-metrics.js'
import {displayText} from '../report/display.js'

/** The metric flags of every command that runs on a schedule (status, verify regions, migrate verify, dr snapshot). */
export const metricsFlags = {
  'metrics-file': Flags.string({
    description: 'write this run\'s metrics (OpenMetrics text) to this file, atomically, also when the run fails — for node-exporter\'s textfile collector use a *.prom name in its directory',
    helpGroup: 'METRICS',
  }),
  pushgateway: Flags.string({
    description: 'push this run\'s metrics to this Prometheus Pushgateway (e.g. http://pushgateway:9091), also when the run fails',
    helpGroup: 'METRICS',
    parse: async (input) => {
      let url: URL
      try {
        url = new URL(input)
      } catch {
        throw new ToolkitError('BAD_FLAG', `--pushgateway ${displayText(JSON.stringify(input))} is not a URL`, {hint: 'Give scheme://host:port, e.g. http://pushgateway.monitoring:9091.'})
      }
      if (!['http:', 'https:'].includes(url.protocol) || url.username || url.password || url.search) {
        throw new ToolkitError('BAD_FLAG', '--pushgateway must be an http(s) URL without credentials or query', {hint: 'Give scheme://host:port, e.g. http://pushgateway.monitoring:9091.'})
      }
      return input
    },
  }),
  'metrics-with-names': Flags.boolean({
    description: 'also label metrics with the names of PushSecrets and Secrets that are not in order (default: counts per store/region only)',
    helpGroup: 'METRICS',
    default: false,
  }),
}

export interface MetricsFlagValues {
  'metrics-file'?: string
  pushgateway?: string
  'metrics-with-names': boolean
}

/** A run's metrics and where they go; BaseCommand publishes them when the run ends, with its exit code. */
export interface MetricsRun {
  metrics: RunMetrics
  publish(exitCode: number): Promise<void>
}

/**
 * The metrics of this run, or undefined when neither --metrics-file nor
 * --pushgateway asks for them. `grouping` is the Pushgateway group beside
 * job and command (e.g. the region of dr snapshot, which runs once per region).
 */
export async function startMetrics(command: string, flags: MetricsFlagValues, grouping: Record<string, string> = {}): Promise<MetricsRun | undefined> {
  if (!flags['metrics-file'] && !flags.pushgateway) return undefined
  // Loaded only when asked for: prom-client costs every other run memory and start-up time.
  const {RunMetrics} = await import('../metrics/run-metrics.js')
  const metrics = new RunMetrics(command, {withNames: flags['metrics-with-names']})
  return {
    metrics,
    async publish(exitCode: number) {
      metrics.finish(exitCode)
      const failures: ToolkitError[] = []
      // Both are tried: a Pushgateway that is down must not cost the textfile (or the other way round).
      if (flags['metrics-file']) await metrics.writeFile(flags['metrics-file']).catch((error: ToolkitError) => failures.push(error))
      if (flags.pushgateway) await metrics.push(flags.pushgateway, {command: command.replaceAll(' ', '_'), ...grouping}).catch((error: ToolkitError) => failures.push(error))
      if (failures.length > 0) throw failures[0]
    },
  }
}

/** The exit code a run ends with: its error's, else the one it set (a report printed with exit 2), else 1 with findings, else 0. */
export function exitCodeOf(error: unknown, findings: boolean): number {
  if (error === undefined) {
    const set = Number(process.exitCode ?? 0)
    return set !== 0 ? set : findings ? ExitCode.Findings : ExitCode.Ok
  }
  if (isToolkitError(error)) return error.exitCode
  const oclifExit = (error as {oclif?: {exit?: number}}).oclif?.exit
  return oclifExit === 0 ? ExitCode.Ok : ExitCode.Error
}
