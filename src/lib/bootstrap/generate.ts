import {randomInt as cryptoRandomInt} from 'node:crypto'

import {ToolkitError} from '../errors/errors.js'
import {SecretValue} from '../secret/secret-value.js'
import {DIGITS, generatorProblem, LOWER_LETTERS, type ResolvedGenerator, UPPER_LETTERS} from './spec.js'

/** An unbiased integer in [0, max): node:crypto's randomInt rejects samples instead of taking a modulo. */
export type RandomInt = (max: number) => number

const defaultRandomInt: RandomInt = (max) => cryptoRandomInt(max)

/**
 * ESO's Password generator (go-password) semantics: exactly `digits`
 * digits, exactly `symbols` symbols, letters for the rest, no character
 * twice unless allowRepeat, in uniformly random positions. Each class is
 * sampled uniformly (without replacement when repeats are not allowed), then
 * a Fisher–Yates shuffle places them.
 */
export function generatePassword(generator: ResolvedGenerator, randomInt: RandomInt = defaultRandomInt): SecretValue {
  const problem = generatorProblem(generator)
  if (problem) throw new ToolkitError('GENERATOR_INVALID', `cannot generate: ${problem}`, {hint: 'Fix the generate settings in the bootstrap spec.'})
  const letters = generator.noUpper ? LOWER_LETTERS : LOWER_LETTERS + UPPER_LETTERS
  const symbols = [...new Set(generator.symbolCharacters)].join('')
  const chars = [
    ...pick(letters, generator.length - generator.digits - generator.symbols, generator.allowRepeat, randomInt),
    ...pick(DIGITS, generator.digits, generator.allowRepeat, randomInt),
    ...pick(symbols, generator.symbols, generator.allowRepeat, randomInt),
  ]
  shuffle(chars, randomInt)
  const value = SecretValue.fromString(chars.join(''))
  chars.fill('')
  return value
}

function pick(alphabet: string, count: number, allowRepeat: boolean, randomInt: RandomInt): string[] {
  if (count === 0) return []
  if (allowRepeat) return Array.from({length: count}, () => alphabet[randomInt(alphabet.length)])
  // Partial Fisher–Yates: the first `count` entries are a uniform sample without replacement.
  const pool = [...alphabet]
  for (let index = 0; index < count; index++) {
    const other = index + randomInt(pool.length - index)
    ;[pool[index], pool[other]] = [pool[other], pool[index]]
  }
  return pool.slice(0, count)
}

function shuffle<T>(items: T[], randomInt: RandomInt): void {
  for (let index = items.length - 1; index > 0; index--) {
    const other = randomInt(index + 1)
    ;[items[index], items[other]] = [items[other], items[index]]
  }
}
