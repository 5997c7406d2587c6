import {rmSync} from 'node:fs'
import {inspect} from 'node:util'

import {SecretValue} from '../../../src/lib/secret/secret-value.js'
import {decryptSops, SopsError, type SopsTree} from '../../../src/lib/sops/decrypt.js'
import {AGE_FIXTURES, fixture, isolatedEnv, plaintextValues, scratchDir} from './fixtures.js'

let scratch: string
beforeAll(() => {
  scratch = scratchDir()
})
afterAll(() => rmSync(scratch, {recursive: true, force: true}))

function keysOf(tree: SopsTree): string[] {
  if (tree === null || tree instanceof SecretValue) return []
  if (Array.isArray(tree)) return tree.flatMap(keysOf)
  return Object.entries(tree).flatMap(([key, value]) => [key, ...keysOf(value)])
}

/** Every rendering an operator or a log could see. */
function renderings(value: unknown): string[] {
  return [String(value), `${JSON.stringify(value)}`, inspect(value, {depth: Infinity}), inspect(value, {depth: Infinity, showHidden: true})]
}

describe('canary: decrypted values never show in how results and errors render', () => {
  let checked = 0
  test.each(AGE_FIXTURES)('%s', async (path, expected) => {
    const env = isolatedEnv(scratch, {SOPS_AGE_KEY_FILE: fixture(expected.key)})
    const outcome = await decryptSops(fixture(path), {engine: 'builtin', env}).catch((error: unknown) => error)
    // Values that are also key names, part of the path or plain short words ('value', 'one') cannot be told
    // apart from the structure and the prose of messages; every other one is a canary.
    const structure = outcome instanceof SopsError ? [] : (outcome as {documents: SopsTree[]}).documents.flatMap(keysOf)
    const canaries = plaintextValues(expected.plaintext).filter((value) => !structure.includes(value) && !fixture(path).includes(value) && !/^[a-z]{1,7}$/.test(value))
    checked += canaries.length
    const shown = outcome instanceof SopsError ? [...renderings(outcome), outcome.message, outcome.hint ?? '', outcome.stack ?? '', outcome.describe()] : [...renderings(outcome), ...renderings((outcome as {documents: SopsTree[]}).documents)]
    for (const text of shown) for (const canary of canaries) expect(text.includes(canary) ? `${canary} shown` : 'hidden').toBe('hidden')
  })

  test('the fixtures gave enough distinctive values to check', () => {
    expect(checked).toBeGreaterThan(15)
  })
})
