import {unlinkSync} from 'node:fs'

/**
 * Files that must not outlive an interrupted run (a half-written snapshot).
 * Domain code only says which file is at stake (a hook it receives); the
 * process handlers live here, in the command layer, and are installed only
 * while a file is pending, so Ctrl-C otherwise keeps Node's default.
 */
const pending = new Set<string>()

function removePending(): void {
  for (const path of pending) {
    try {
      unlinkSync(path)
    } catch {
      // Already gone.
    }
  }
  pending.clear()
}

// Interrupted (Ctrl-C, a cron timeout): 130 as a shell reports SIGINT; the exit handler removes the files.
const onSignal = () => process.exit(130)

function watch(): void {
  process.on('exit', removePending)
  process.prependOnceListener('SIGINT', onSignal)
  process.prependOnceListener('SIGTERM', onSignal)
}

function unwatch(): void {
  process.off('exit', removePending)
  process.off('SIGINT', onSignal)
  process.off('SIGTERM', onSignal)
}

/** Removes `path` if the process is interrupted or exits before the returned release is called. */
export function removeOnInterrupt(path: string): () => void {
  if (pending.size === 0) watch()
  pending.add(path)
  return () => {
    if (!pending.delete(path)) return
    if (pending.size === 0) unwatch()
  }
}
