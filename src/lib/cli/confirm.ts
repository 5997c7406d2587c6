import {ExitCode, RefusedError} from '../errors/errors.js'

export interface ConfirmOptions {
  /** --yes was given. */
  yes: boolean
  /** The question, e.g. "Apply this plan to 3 Secrets?" */
  message: string
  /** When set, the operator must type this exact word (e.g. the region name) instead of answering y/N. */
  typeToConfirm?: string
  /** What to tell a runbook that runs without a TTY. */
  nonInteractiveHint?: string
  stdinIsTTY?: boolean
}

/**
 * The one confirmation policy of every destructive command: --yes skips the
 * question; without --yes a TTY is required, otherwise the action is refused.
 */
export async function confirmOrRefuse(options: ConfirmOptions): Promise<void> {
  if (options.yes) return
  const isTTY = options.stdinIsTTY ?? Boolean(process.stdin.isTTY)
  if (!isTTY) {
    throw new RefusedError(
      'refusing to proceed without confirmation: stdin is not a terminal',
      options.nonInteractiveHint ?? 'Review the plan with --dry-run, then re-run with --yes to proceed non-interactively.',
    )
  }
  const {confirm, input} = await import('@inquirer/prompts')
  let accepted: boolean
  try {
    if (options.typeToConfirm) {
      const typed = await input({message: `${options.message} Type "${options.typeToConfirm}" to confirm:`})
      accepted = typed.trim() === options.typeToConfirm
    } else {
      accepted = await confirm({message: options.message, default: false})
    }
  } catch (error) {
    // Ctrl-C at the prompt is an answer: no.
    if ((error as Error).name === 'ExitPromptError' || (error as Error).name === 'AbortPromptError') accepted = false
    else throw error
  }
  if (!accepted) {
    const error = new RefusedError('cancelled: nothing was changed')
    Object.assign(error, {exitCode: ExitCode.Error})
    throw error
  }
}
