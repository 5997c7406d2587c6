import {durationFlag, parseDuration} from '../../../src/lib/cli/duration.js'
import {isToolkitError} from '../../../src/lib/errors/errors.js'

const HOUR = 3_600_000
const DAY = 24 * HOUR

function refusal(run: () => unknown): {code: string; message: string; hint?: string} {
  try {
    run()
  } catch (error) {
    if (isToolkitError(error)) return {code: error.code, message: error.message, hint: error.hint}
    throw error
  }
  throw new Error('accepted')
}

describe('parseDuration: one grammar for every duration flag', () => {
  test.each([
    // what --keep-within accepted (restic's units plus s, m, w)
    ['90m', 90 * 60_000],
    ['36h', 36 * HOUR],
    ['7d', 7 * DAY],
    ['2w', 14 * DAY],
    ['1y', 365 * DAY],
    ['1d12h', 36 * HOUR],
    ['30s', 30_000],
    // what --wait, --deadline, --request-timeout and --retry-budget accepted (Go style)
    ['250ms', 250],
    ['1h30m', 90 * 60_000],
    ['1.5h', 90 * 60_000],
    ['0s', 0],
    [' 5m ', 5 * 60_000],
  ])('%j', (text, ms) => expect(parseDuration(text, '--flag')).toBe(ms))

  test.each(['', '7', 'd', '7 days', '-1d', '1.5', 'h1', '5m trailing', '1e3s'])('%j is refused with a hint naming the flag', (text) => {
    const error = refusal(() => parseDuration(text, '--wait'))
    expect(error.code).toBe('BAD_DURATION')
    expect(error.message).toMatch(/^--wait .* is not a duration$/)
    expect(error.hint).toContain('90s')
  })

  test('a minimum refuses zero where a flag needs a length (--keep-within 0d keeps nothing)', () => {
    expect(refusal(() => parseDuration('0d', '--keep-within', {min: 1})).code).toBe('BAD_DURATION')
    expect(parseDuration('1s', '--keep-within', {min: 1})).toBe(1000)
  })

  test('control characters in a refused value are escaped', () => {
    expect(refusal(() => parseDuration('5m\u001b[2J', '--wait')).message).not.toContain('\u001b')
  })

  test('the flag type parses into milliseconds and names its flag', async () => {
    const flag = durationFlag({min: 1})
    const parse = flag.parse as (input: string, context: unknown, options: unknown) => Promise<number>
    await expect(parse('1m', {}, {...flag, name: 'keep-within'})).resolves.toBe(60_000)
    await expect(parse('0s', {}, {...flag, name: 'keep-within'})).rejects.toThrow('--keep-within 0s is zero')
  })
})
