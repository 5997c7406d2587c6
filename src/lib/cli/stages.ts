import {Listr, type ListrTask} from 'listr2'

import {silentRenderer, type Stage, type StageRenderer, type WorkflowHooks} from '../workflow/runner.js'

/**
 * The one stage renderer of the CLI: listr2's live display on a TTY, plain
 * "[stage] title … ok" lines otherwise (CI logs, runbook captures), nothing
 * with --json.
 */
export function stageRenderer(options: {json: boolean}): StageRenderer {
  if (options.json) return silentRenderer
  return {
    async show(stages, execute, {concurrent}) {
      const tasks: ListrTask<object>[] = stages.map((stage: Stage<never>, index) => ({
        title: stage.title,
        task: async (_ctx, task) => {
          const outcome = await execute(index, (output) => {
            task.output = output
          })
          if (outcome.state === 'skipped') task.skip(outcome.reason)
        },
      }))
      const list = new Listr<object>(tasks, {
        concurrent,
        exitOnError: true,
        renderer: process.stderr.isTTY ? 'default' : 'simple',
        fallbackRenderer: 'simple',
        rendererOptions: {} as never,
      } as never)
      await list.run({})
    },
  }
}

/**
 * Progress as "[name] …" / "[name] ok" lines (git scrub's stderr format,
 * which runbooks capture), nothing with --json.
 */
export function stageLines(write: (line: string) => void, options: {json: boolean}): Pick<WorkflowHooks, 'onStage'> {
  if (options.json) return {}
  return {onStage: (name, state) => write(`[${name}] ${state === 'start' ? '…' : state === 'done' ? 'ok' : 'skipped'}`)}
}
