import {ToolkitError} from '../errors/errors.js'

const UNITS: Record<string, number> = {ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000}

/** Parses Go-style durations as operators write them: `90s`, `5m`, `1h30m`, `7d`. */
export function parseDuration(text: string, flag: string): number {
  const trimmed = text.trim()
  const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g)]
  if (parts.length === 0 || parts.map((part) => part[0]).join('') !== trimmed) {
    throw new ToolkitError('USAGE', `${flag} ${JSON.stringify(text)} is not a duration`, {hint: 'Use a number with a unit: 90s, 5m, 1h30m, 7d.'})
  }
  return parts.reduce((total, [, amount, unit]) => total + Number(amount) * UNITS[unit], 0)
}
