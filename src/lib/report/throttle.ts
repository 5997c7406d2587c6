/**
 * At most one call per interval. Progress goes to listr2 on a terminal and,
 * elsewhere, to plain lines where every update is a line of its own: without
 * a throttle a fast loop floods a CI log. An update dropped here is replaced
 * by the next one; the caller reports the final state itself.
 */
export function throttled<T>(report: (value: T) => void, intervalMs = 1000): (value: T) => void {
  let last = 0
  return (value) => {
    const now = Date.now()
    if (now - last < intervalMs) return
    last = now
    report(value)
  }
}
