import {parseConfig} from '../../../src/lib/config/load.js'
import {displayKey} from '../../../src/lib/compare/render.js'
import {newVerifyContext, selectRegions} from '../../../src/lib/regions/verify.js'

const region = (name: string) => `  - name: ${name}\n    clusterSecretStore: vault-${name}\n    vault:\n      address: http://127.0.0.1:8200\n`
const config = (...names: string[]) => parseConfig(`regions:\n${names.map(region).join('')}`, 'test.yaml')

describe('selectRegions', () => {
  test('defaults to the two configured regions', () => {
    expect(selectRegions(config('region1', 'region2')).map((r) => r.name)).toEqual(['region1', 'region2'])
  })

  test('--regions picks two of several, in the order given', () => {
    expect(selectRegions(config('a', 'b', 'c'), 'c, a').map((r) => r.name)).toEqual(['c', 'a'])
  })

  test('more than two configured regions need --regions', () => {
    expect(() => selectRegions(config('a', 'b', 'c'))).toThrow(/3 regions \(a, b, c\): choose two with --regions/)
  })

  test('one region is not enough', () => {
    expect(() => selectRegions(config('a'))).toThrow(/needs two regions/)
  })

  test('--regions must name two different, known regions', () => {
    expect(() => selectRegions(config('a', 'b'), 'a')).toThrow(/exactly two different regions/)
    expect(() => selectRegions(config('a', 'b'), 'a,a')).toThrow(/exactly two different regions/)
    expect(() => selectRegions(config('a', 'b'), 'a,z')).toThrow(/region "z" is not in the configuration/)
  })
})

describe('newVerifyContext', () => {
  const regions = selectRegions(config('region1', 'region2'))

  test('--from must be one of the compared regions', () => {
    expect(() => newVerifyContext({regions, prefix: '', exclude: [], repair: {from: 'region3', deleteExtra: false}})).toThrow(/--from region3 is not one of the compared regions/)
  })

  test('--concurrency must be 1..256', () => {
    expect(() => newVerifyContext({regions, prefix: '', exclude: [], concurrency: 0})).toThrow(/--concurrency 0/)
    expect(newVerifyContext({regions, prefix: '', exclude: [], concurrency: 32}).concurrency).toBe(32)
  })
})

describe('displayKey', () => {
  test('shows keys as they are, control characters escaped', () => {
    expect(displayKey('apps/ünï code/ключ')).toBe('apps/ünï code/ключ')
    expect(displayKey('a\nb')).toBe('"a\\nb"')
    // A right-to-left override would reorder what the operator reads; an escape sequence would drive the terminal.
    expect(displayKey('apps/\u202egnp.exe')).toBe('"apps/\\u202egnp.exe"')
    expect(displayKey('apps/\u001b[2Jx')).toBe('"apps/\\x1b[2Jx"')
  })
})
