import {generatePassword} from '../../../src/lib/bootstrap/generate.js'
import {DIGITS, ESO_PASSWORD_DEFAULTS, LOWER_LETTERS, UPPER_LETTERS, type ResolvedGenerator} from '../../../src/lib/bootstrap/spec.js'
import {REDACTED} from '../../../src/lib/secret/secret-value.js'

const eso = (overrides: Partial<ResolvedGenerator> = {}): ResolvedGenerator => ({
  length: 24,
  digits: 6,
  symbols: 6,
  symbolCharacters: ESO_PASSWORD_DEFAULTS.symbolCharacters,
  noUpper: false,
  allowRepeat: false,
  ...overrides,
})

function classes(text: string, symbols: string) {
  const chars = [...text]
  return {
    lower: chars.filter((c) => LOWER_LETTERS.includes(c)).length,
    upper: chars.filter((c) => UPPER_LETTERS.includes(c)).length,
    digits: chars.filter((c) => DIGITS.includes(c)).length,
    symbols: chars.filter((c) => symbols.includes(c)).length,
  }
}

/** Upper tail of chi-square with `df` degrees of freedom at z standard deviations (Wilson–Hilferty). */
function chiSquareCritical(df: number, z: number): number {
  const a = 2 / (9 * df)
  return df * (1 - a + z * Math.sqrt(a)) ** 3
}

function chiSquare(counts: number[], expected: number): number {
  return counts.reduce((sum, count) => sum + (count - expected) ** 2 / expected, 0)
}

describe('password generator (ESO Password semantics)', () => {
  test('exact length and class counts, for many settings', () => {
    const settings: ResolvedGenerator[] = [
      eso(),
      eso({length: 8, digits: 0, symbols: 0}),
      eso({length: 40, digits: 10, symbols: 0}),
      eso({length: 64, digits: 10, symbols: 5, allowRepeat: true}),
      eso({length: 12, digits: 4, symbols: 3, symbolCharacters: '-_', allowRepeat: true}),
      eso({length: 20, digits: 5, symbols: 5, noUpper: true}),
      eso({length: 1, digits: 1, symbols: 0}),
    ]
    for (const setting of settings) {
      for (let round = 0; round < 200; round++) {
        const text = generatePassword(setting).revealString()
        expect(text.length).toBe(setting.length)
        const count = classes(text, setting.symbolCharacters)
        expect(count.digits).toBe(setting.digits)
        expect(count.symbols).toBe(setting.symbols)
        expect(count.lower + count.upper).toBe(setting.length - setting.digits - setting.symbols)
        if (setting.noUpper) expect(count.upper).toBe(0)
        if (!setting.allowRepeat) expect(new Set(text).size).toBe(text.length)
      }
    }
  })

  test('the value is a SecretValue: it prints as [REDACTED]', () => {
    const value = generatePassword(eso())
    expect(String(value)).toBe(REDACTED)
    expect(JSON.stringify({value})).not.toMatch(/[A-Za-z0-9]{24}/)
  })

  test('impossible settings are refused, not looped on', () => {
    expect(() => generatePassword(eso({length: 4, digits: 3, symbols: 3}))).toThrow(/exceed length/)
    expect(() => generatePassword(eso({length: 80, digits: 0, symbols: 0}))).toThrow(/without repeats is impossible/)
  })

  test('no bias: each character of a class and each position are equally likely', () => {
    const setting = eso({length: 24, digits: 6, symbols: 6, allowRepeat: true})
    const letters = LOWER_LETTERS + UPPER_LETTERS
    const symbols = setting.symbolCharacters
    const letterCounts = new Map([...letters].map((c) => [c, 0]))
    const digitCounts = new Map([...DIGITS].map((c) => [c, 0]))
    const symbolCounts = new Map([...symbols].map((c) => [c, 0]))
    const digitAtPosition = Array.from({length: setting.length}, () => 0)
    const samples = 20_000
    for (let round = 0; round < samples; round++) {
      const text = generatePassword(setting).revealString()
      ;[...text].forEach((c, position) => {
        if (letterCounts.has(c)) letterCounts.set(c, letterCounts.get(c)! + 1)
        else if (digitCounts.has(c)) {
          digitCounts.set(c, digitCounts.get(c)! + 1)
          digitAtPosition[position]++
        } else symbolCounts.set(c, symbolCounts.get(c)! + 1)
      })
    }
    // z = 5: a false alarm about once in 3.5 million runs; a modulo bias or a fixed layout fails by far.
    const z = 5
    const letterDraws = samples * (setting.length - setting.digits - setting.symbols)
    expect(chiSquare([...letterCounts.values()], letterDraws / letters.length)).toBeLessThan(chiSquareCritical(letters.length - 1, z))
    expect(chiSquare([...digitCounts.values()], (samples * setting.digits) / DIGITS.length)).toBeLessThan(chiSquareCritical(DIGITS.length - 1, z))
    expect(chiSquare([...symbolCounts.values()], (samples * setting.symbols) / symbols.length)).toBeLessThan(chiSquareCritical(symbols.length - 1, z))
    expect(chiSquare(digitAtPosition, (samples * setting.digits) / setting.length)).toBeLessThan(chiSquareCritical(setting.length - 1, z))
  })

  test('the chi-square check would catch a modulo bias', () => {
    // A biased source: byte % 52, which favours the first 48 letters (256 = 4*52 + 48).
    const biased = (max: number) => Math.floor(Math.random() * 256) % max
    const setting = eso({length: 24, digits: 0, symbols: 0, allowRepeat: true})
    const letters = LOWER_LETTERS + UPPER_LETTERS
    const counts = new Map([...letters].map((c) => [c, 0]))
    const samples = 20_000
    for (let round = 0; round < samples; round++) {
      for (const c of generatePassword(setting, biased).revealString()) counts.set(c, counts.get(c)! + 1)
    }
    expect(chiSquare([...counts.values()], (samples * 24) / letters.length)).toBeGreaterThan(chiSquareCritical(letters.length - 1, 5))
  })

  test('without repeats, sampling stays uniform over the whole alphabet', () => {
    const setting = eso({length: 10, digits: 10, symbols: 0})
    const firstDigit = new Map([...DIGITS].map((c) => [c, 0]))
    const samples = 20_000
    for (let round = 0; round < samples; round++) {
      const text = generatePassword(setting).revealString()
      expect([...text].sort().join('')).toBe(DIGITS)
      firstDigit.set(text[0], firstDigit.get(text[0])! + 1)
    }
    expect(chiSquare([...firstDigit.values()], samples / 10)).toBeLessThan(chiSquareCritical(9, 5))
  })
})
