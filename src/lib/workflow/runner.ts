import {RefusedError, ToolkitError} from '../errors/errors.js'

/**
 * One named stage of a workflow (preflight, plan, backup, act, verify…).
 * Titles and progress output are shown to the operator: names and counts
 * only, never a secret value.
 */
export interface Stage<C> {
  /** Short, stable name for progress lines and tests; defaults to the title. */
  name?: string
  title: string
  run: (context: C, update: (output: string) => void) => Promise<void>
  /** A reason (or true) to skip the stage for this context. */
  skip?: (context: C) => boolean | string
}

/** What a stage did, as the renderer reports it. */
export type StageOutcome = {state: 'done'} | {state: 'skipped'; reason?: string}

/**
 * How stages are shown. The runner decides what runs and in which order;
 * a renderer only draws while `execute` runs a stage (src/lib/cli/stages.ts
 * draws a live list on a terminal or plain lines; the default draws nothing).
 */
export interface StageRenderer {
  show<C>(
    stages: readonly Stage<C>[],
    execute: (index: number, update: (output: string) => void) => Promise<StageOutcome>,
    options: {concurrent: boolean},
  ): Promise<void>
}

/** The question a confirmation gate asks before a destructive stage. */
export interface ConfirmQuestion {
  message: string
  /** Typing this word instead of y/N (e.g. a region name). */
  typeToConfirm?: string
  /** What to tell a runbook that runs without a TTY. */
  nonInteractiveHint?: string
}

/** What the caller (the command) hands to a workflow: how to show it, ask, and stop it. */
export interface WorkflowHooks {
  renderer?: StageRenderer
  /** Resolves to go on; throws (a refusal) to stop. Without it a gate refuses: nothing destructive runs unasked. */
  confirm?: (question: ConfirmQuestion) => Promise<void>
  /** Stops the workflow between stages (Ctrl-C): the running stage finishes or observes the signal itself. */
  signal?: AbortSignal
  /** Each stage's start and end, by name (plain progress lines, logs). */
  onStage?: (name: string, state: 'start' | 'done' | 'skipped') => void
}

/** Draws nothing; runs the stages in order (or together). */
export const silentRenderer: StageRenderer = {
  async show(stages, execute, options) {
    if (options.concurrent) {
      await Promise.all(stages.map((_stage, index) => execute(index, () => {})))
      return
    }
    for (let index = 0; index < stages.length; index++) await execute(index, () => {})
  },
}

export function cancelledError(): ToolkitError {
  return new ToolkitError('CANCELLED', 'cancelled: stopped before the next stage', {
    hint: 'Stages that finished are listed above; re-run the same command to continue.',
  })
}

/**
 * The one workflow runner: runs named stages in order against a shared
 * context, stopping at the first failure or when the signal aborts, and
 * lets the renderer show them. It never draws, prompts or exits itself.
 */
export async function runStages<C>(stages: readonly Stage<C>[], context: C, hooks: WorkflowHooks = {}, options: {concurrent?: boolean} = {}): Promise<C> {
  const renderer = hooks.renderer ?? silentRenderer
  const execute = async (index: number, update: (output: string) => void): Promise<StageOutcome> => {
    if (hooks.signal?.aborted) throw cancelledError()
    const stage = stages[index]
    const name = stage.name ?? stage.title
    const skip = stage.skip?.(context)
    if (skip) {
      hooks.onStage?.(name, 'skipped')
      return {state: 'skipped', reason: typeof skip === 'string' ? skip : undefined}
    }
    hooks.onStage?.(name, 'start')
    await stage.run(context, update)
    hooks.onStage?.(name, 'done')
    return {state: 'done'}
  }
  await renderer.show(stages, execute, {concurrent: options.concurrent ?? false})
  return context
}

/** One stage that returns a value. */
export async function runStage<T>(title: string, work: (update: (output: string) => void) => Promise<T>, hooks: WorkflowHooks = {}): Promise<T> {
  let result: T | undefined
  await runStages([{title, run: async (_context, update) => void (result = await work(update))}], {}, hooks)
  return result as T
}

/** The confirmation gate between the plan and the first change. */
export async function confirmGate(hooks: WorkflowHooks, question: ConfirmQuestion): Promise<void> {
  if (hooks.signal?.aborted) throw cancelledError()
  if (!hooks.confirm) throw new RefusedError('refusing to proceed: nothing can confirm this action', question.nonInteractiveHint)
  await hooks.confirm(question)
}
