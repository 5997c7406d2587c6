import {readFileSync} from 'node:fs'

import {detectSops, MAX_SOPS_FILE_BYTES} from '../../../src/lib/sops/detect.js'
import {fixture} from './fixtures.js'

const yamlFile = readFileSync(fixture('humphd__sops-age/tests/data/secret.enc.yaml'), 'utf8')
const jsonFile = readFileSync(fixture('humphd__sops-age/tests/data/secret.enc.json'), 'utf8')
const dotenvFile = readFileSync(fixture('humphd__sops-age/tests/data/secret.enc.env'), 'utf8')
const iniFile = readFileSync(fixture('getsops__sops/example.ini'), 'utf8')
const binaryFile = readFileSync(fixture('getsops__sops/example.txt'), 'utf8')
const detect = (text: string) => detectSops(Buffer.from(text))?.format

const indent = (text: string, by: string) => text.replace(/^(?=.)/gm, by)

describe('a top-level sops key spelled any way YAML and JSON allow is found (sops decrypts all of them)', () => {
  test.each([
    ['double-quoted', '"sops":'],
    ["single-quoted", "'sops':"],
    ['quoted, space before the colon', '"sops" :'],
    ['escaped letters', '"\\x73ops":'],
    ['unicode escape', '"\\u0073\\u006fps":'],
    ['explicit key', '? sops\n:'],
    ['tagged', '!!str sops:'],
    ['anchored and tagged', '&meta !!str sops:'],
    ['space before the colon', 'sops :'],
  ])('YAML, %s', (_name, key) => {
    expect(detect(yamlFile.replace(/^sops:/m, key))).toBe('yaml')
  })

  test('JSON with an escaped key', () => {
    expect(detect(jsonFile.replace('"sops":', '"\\u0073ops":'))).toBe('json')
  })

  test('YAML whose metadata keys are quoted too', () => {
    expect(detect(yamlFile.replace(/^sops:/m, '"sops":').replace(/^ {4}lastmodified:/m, '    "lastmodified":').replace(/^ {4}mac:/m, "    'mac':"))).toBe('yaml')
  })
})

describe('a SOPS example inside another document is not a SOPS file', () => {
  const fenced = (language: string, body: string) => `# Runbook: rotating the database password\n\nEncrypt with sops. The file then looks like this:\n\n\`\`\`${language}\n${body}\`\`\`\n\nThen commit it.\n`
  test.each([
    ['a Markdown runbook with a fenced YAML example', fenced('yaml', yamlFile)],
    ['a Markdown README with a fenced JSON example', fenced('json', jsonFile)],
    ['a Markdown page with a fenced dotenv example', fenced('sh', dotenvFile)],
    ['a Markdown page with a fenced INI example', fenced('ini', iniFile)],
    ['a Markdown page with the binary store example', fenced('json', binaryFile)],
    ['a YAML document embedding the file in a block string', `kind: ConfigMap\ndata:\n  example.yaml: |\n${indent(yamlFile, '    ')}`],
    ['a YAML document embedding the file under a nested key', `docs:\n${indent(yamlFile, '  ')}`],
    ['a JSON document embedding the file in a string', JSON.stringify({kind: 'Example', example: yamlFile})],
    ['a JSON document embedding a SOPS JSON object under a key', `{"example": ${jsonFile}}`],
    ['a multi-document YAML whose first document has no sops block', `kind: Page\n---\n${yamlFile}`],
    ['a YAML list of examples', `- ${indent(yamlFile, '  ').trimStart()}`],
    ['an INI file with a sops section that has no metadata', '[sops]\nenabled = true\n; mac and lastmodified are written by sops\n'],
  ])('%s', (_name, text) => {
    expect(detect(text)).toBeUndefined()
  })

  test('the same documents, unwrapped, are SOPS files (the test pieces are real)', () => {
    expect([yamlFile, jsonFile, dotenvFile, iniFile, binaryFile].map(detect)).toEqual(['yaml', 'json', 'dotenv', 'ini', 'binary'])
  })
})

describe('detection stays bounded', () => {
  test('a SOPS YAML file nested 3,000 levels deep is still found (its decryption says what is wrong)', () => {
    let deep = ''
    for (let level = 0; level < 3000; level++) deep += `${' '.repeat(level)}k${level}:\n`
    deep += `${' '.repeat(3000)}ENC[AES256_GCM,data:AAAA,iv:AAAA,tag:AAAA,type:str]\n`
    expect(detect(deep + yamlFile.slice(yamlFile.search(/^sops:/m)))).toBe('yaml')
  })

  test('content above the parse limit is judged by its lines, not parsed', () => {
    const padding = `padding: "${'x'.repeat(MAX_SOPS_FILE_BYTES)}"\n`
    const started = Date.now()
    expect(detect(padding + yamlFile)).toBe('yaml')
    expect(detect(fenced(padding))).toBeUndefined()
    expect(Date.now() - started).toBeLessThan(5000)
    function fenced(body: string) {
      return `${body}# docs\n\n\`\`\`yaml\nnot: [closed\n\`\`\`\n`
    }
  })

  test('a 64 MiB blob is judged on its first and last MiB, in bounded time and memory', () => {
    const block = Buffer.from(yamlFile.slice(yamlFile.search(/^sops:/m)))
    const huge = Buffer.alloc(64 * 1024 * 1024, 0x61)
    huge.write('padding: ', 0)
    huge.write('\n', huge.length - block.length - 1)
    block.copy(huge, huge.length - block.length)
    const started = Date.now()
    expect(detectSops(huge)).toEqual({format: 'yaml'})
    // The same block in the middle of a huge file is not where sops writes it.
    const middle = Buffer.alloc(64 * 1024 * 1024, 0x61)
    block.copy(middle, 32 * 1024 * 1024)
    expect(detectSops(middle)).toBeUndefined()
    expect(Date.now() - started).toBeLessThan(2000)
  })

  test('200 candidates of 40 KB (marker words, no SOPS structure) are rejected in well under a second each', () => {
    const candidate = Buffer.from(`${'text about sops and its lastmodified field\n'.repeat(1000)}`)
    const started = Date.now()
    for (let round = 0; round < 200; round++) expect(detectSops(candidate)).toBeUndefined()
    expect((Date.now() - started) / 200).toBeLessThan(200)
  })
})
