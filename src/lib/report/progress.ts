import {Listr, type ListrTask} from 'listr2'

export interface Step<C> {
  title: string
  run: (context: C, update: (output: string) => void) => Promise<void>
  skip?: (context: C) => boolean | string
}

/**
 * Runs named steps in order: listr2's live display on a TTY, plain
 * "[step] title … ok" lines otherwise (CI logs, runbook captures), nothing
 * with --json. Step titles and outputs must never hold secret values.
 */
export async function runSteps<C extends object>(steps: Step<C>[], context: C, options: {json: boolean; concurrent?: boolean}): Promise<C> {
  const renderer = options.json ? 'silent' : process.stderr.isTTY ? 'default' : 'simple'
  const tasks: ListrTask<C>[] = steps.map((step) => ({
    title: step.title,
    skip: step.skip ? (ctx: C) => step.skip!(ctx) : undefined,
    task: async (ctx, task) => {
      await step.run(ctx, (output) => {
        task.output = output
      })
    },
  }))
  const list = new Listr<C>(tasks, {
    concurrent: options.concurrent ?? false,
    exitOnError: true,
    renderer,
    fallbackRenderer: 'simple',
    rendererOptions: {} as never,
    ctx: context,
  } as never)
  return list.run(context)
}

/** One named stage that returns a value, shown like runSteps. */
export async function runStage<T>(title: string, work: (update: (output: string) => void) => Promise<T>, options: {json: boolean}): Promise<T> {
  let result: T | undefined
  await runSteps([{title, run: async (_context, update) => void (result = await work(update))}], {}, options)
  return result as T
}
