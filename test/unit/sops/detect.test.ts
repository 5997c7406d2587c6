import {randomBytes} from 'node:crypto'
import {readFileSync} from 'node:fs'

import {detectSops, isSopsConfigFile} from '../../../src/lib/sops/detect.js'
import {EXPECTED, fixture} from './fixtures.js'

describe('detectSops', () => {
  const sopsFixtures = Object.entries(EXPECTED).filter(([, expected]) => ['yaml', 'json', 'dotenv', 'ini', 'binary'].includes(expected.format))
  test.each(sopsFixtures)('%s is detected as its format', (path, expected) => {
    expect(detectSops(readFileSync(fixture(path)))).toEqual({format: expected.format})
  })

  test('every fixture listed is covered (the nested Secret is plain YAML on the outside)', () => {
    const nested = 'fluxcd__kustomize-controller/internal/controller/testdata/sops/inside/secret.yaml'
    expect(sopsFixtures.length + 1).toBe(Object.keys(EXPECTED).length)
    expect(detectSops(readFileSync(fixture(nested)))).toBeUndefined()
  })

  test.each([
    ['plain YAML', 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: sops-demo\nstringData:\n  password: hunter2\n'],
    ['YAML documenting sops', '# encrypted with sops\nsops:\n  version: 3.9.0\n  note: ENC[AES256_GCM, is the value format\n'],
    ['plain JSON', '{"sops": "a tool", "data": "x"}'],
    ['plain .env', 'SOPS_AGE_KEY_FILE=/tmp/keys.txt\nPASSWORD=hunter2\n'],
    ['plain INI', '[sops]\nenabled = true\n[db]\npassword = hunter2\n'],
    ['a .sops.yaml', readFileSync(fixture('fluxcd__kustomize-controller/internal/controller/testdata/sops/.sops.yaml'), 'utf8')],
    ['a plaintext with an ENC comment', readFileSync(fixture('getsops__sops/functional-tests/res/comments.yaml'), 'utf8')],
    ['an age key file', readFileSync(fixture('humphd__sops-age/key.txt'), 'utf8')],
    ['empty', ''],
  ])('%s is not SOPS', (_name, text) => {
    expect(detectSops(Buffer.from(text))).toBeUndefined()
  })

  test('random bytes are not SOPS, even with the marker words inside', () => {
    for (let i = 0; i < 50; i++) expect(detectSops(randomBytes(4096))).toBeUndefined()
    const noisy = Buffer.concat([randomBytes(1000), Buffer.from('sops ENC[AES256_GCM, lastmodified'), randomBytes(1000)])
    expect(detectSops(noisy)).toBeUndefined()
  })

  test('formats are told apart by content, whatever the name', () => {
    const yaml = readFileSync(fixture('humphd__sops-age/tests/data/secret.enc.yaml'))
    const json = readFileSync(fixture('humphd__sops-age/tests/data/secret.enc.json'))
    const dotenv = readFileSync(fixture('humphd__sops-age/tests/data/secret.enc.env'))
    expect([yaml, json, dotenv].map((content) => detectSops(content)?.format)).toEqual(['yaml', 'json', 'dotenv'])
    // A UTF-8 BOM or leading blank lines do not hide a JSON document.
    expect(detectSops(Buffer.concat([Buffer.from('\ufeff\n\n'), json]))).toEqual({format: 'json'})
  })

  test('a multi-document YAML file (the sops block repeats per document) is yaml', () => {
    const one = readFileSync(fixture('fluxcd__kustomize-controller/internal/controller/testdata/sops/patches/merge1.yaml'), 'utf8')
    expect(detectSops(Buffer.from(`${one}---\n${one}`))).toEqual({format: 'yaml'})
  })
})

describe('isSopsConfigFile', () => {
  test.each([
    ['.sops.yaml', true],
    ['deploy/.sops.yaml', true],
    ['a/b/.sops.yml', true],
    ['C:\\repo\\.sops.yaml', true],
    ['sops.yaml', false],
    ['.sops.yaml.bak', false],
    ['secrets.sops.yaml', false],
  ])('%s → %s', (path, expected) => {
    expect(isSopsConfigFile(path)).toBe(expected)
  })
})
