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
// While an upload is being aborted (abortOnInterrupt below), that handler exits once it is done.
const onSignal = () => {
  if (abortingUploads || pendingAborts.size > 0) return
  process.exit(130)
}

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

/**
 * Uploads to an object store in progress: interrupted, each is aborted
 * (its multipart upload removed, so no part is left in the bucket) before
 * the process exits with 130. Bounded: a store that does not answer within
 * ABORT_GRACE_MS is left to its lifecycle rule.
 */
const pendingAborts = new Set<() => Promise<void>>()
const ABORT_GRACE_MS = 15_000
let abortingUploads = false

function onSignalAbort(): void {
  abortingUploads = true
  const aborts = [...pendingAborts]
  pendingAborts.clear()
  const timeout = new Promise((resolve) => setTimeout(resolve, ABORT_GRACE_MS).unref())
  void Promise.race([Promise.allSettled(aborts.map((abort) => abort())), timeout]).then(() => process.exit(130))
}

/** Aborts the upload (calls `abort`) if the process is interrupted before the returned release is called. */
export function abortOnInterrupt(abort: () => Promise<void>): () => void {
  if (pendingAborts.size === 0) {
    process.prependOnceListener('SIGINT', onSignalAbort)
    process.prependOnceListener('SIGTERM', onSignalAbort)
  }
  pendingAborts.add(abort)
  return () => {
    if (!pendingAborts.delete(abort)) return
    if (pendingAborts.size === 0) {
      process.off('SIGINT', onSignalAbort)
      process.off('SIGTERM', onSignalAbort)
    }
  }
}
