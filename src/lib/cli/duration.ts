import {Flags} from '@oclif/core'

import {ToolkitError} from '../errors/errors.js'
import {displayText} from '../report/display.js'

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
  y: 365 * 86_400_000,
}

// `ms` before `m`, so that 250ms is one part and not 250 minutes followed by "s".
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)/g
const WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w|y))+$/

/**
 * The one duration grammar of every flag: numbers (decimals allowed), each
 * with a unit, combined as operators write them in Go and restic: `250ms`,
 * `90s`, `1.5h`, `1h30m`, `7d`, `2w`, `1y`, `1d12h`. `min` is the smallest
 * value the flag accepts (0s means "none" for some flags, nothing for others).
 */
export function parseDuration(text: string, flag: string, options: {min?: number} = {}): number {
  const trimmed = text.trim()
  if (!WHOLE.test(trimmed)) {
    throw new ToolkitError('BAD_DURATION', `${flag} ${displayText(JSON.stringify(text))} is not a duration`, {
      hint: 'Use a number and a unit, combined as needed: 250ms, 90s, 5m, 1.5h, 36h, 7d, 2w, 1y, 1h30m.',
    })
  }
  let total = 0
  for (const [, amount, unit] of trimmed.matchAll(PART)) total += Number(amount) * UNIT_MS[unit]
  total = Math.round(total)
  if (options.min !== undefined && total < options.min) {
    throw new ToolkitError('BAD_DURATION', `${flag} ${displayText(text)} ${options.min === 1 ? 'is zero' : 'is too short'}`, {hint: options.min === 1 ? 'Give a duration longer than zero.' : `Give at least ${options.min} ms.`})
  }
  return total
}

/**
 * The flag type of every duration: the value arrives in milliseconds, checked
 * at the edge. oclif does not parse a default, so a default is given in
 * milliseconds with `defaultHelp` as an operator would type it (`30m`).
 */
export const durationFlag = Flags.custom<number, {min?: number}>({
  async parse(input, _context, options) {
    return parseDuration(input, `--${options.name}`, {min: options.min})
  },
  helpValue: '<duration>',
})
