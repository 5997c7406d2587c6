import {execFileSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {loadSpec, parseSpec} from '../../../src/lib/bootstrap/spec.js'
import {checkKubeconfigText} from '../../../src/lib/config/kubeconfig.js'
import {loadConfig, parseConfig} from '../../../src/lib/config/load.js'
import {ToolkitError} from '../../../src/lib/errors/errors.js'
import {loadKubeConfig} from '../../../src/lib/kube/client.js'
import {toolkitFailureOf} from '../../helpers/failure.js'

// A parse error of a file that can hold credentials names
// the file, line, column and problem, never the file's text.
const CANARY = 'kcanary0d9f3a7b'

/**
 * Broken YAML of every kind the parsers report, each with the canary where a
 * credential would sit (a value, a quoted string, a tag, an anchor, a key).
 */
const BROKEN: Array<[string, string]> = [
  ['invalid escape in a quoted token', `users:\n- name: u\n  user:\n    token: "${CANARY}\\q"\n`],
  ['unclosed double quote', `users:\n- name: u\n  user:\n    token: "${CANARY}\n`],
  ['unclosed single quote', `token: '${CANARY}\nother: 1\n`],
  ['unclosed flow sequence', `users: [${CANARY}, \n`],
  ['unclosed flow mapping', `user: {token: ${CANARY}\n`],
  ['bad indentation', `users:\n- name: u\n  user:\n    token: ${CANARY}\n   password: x\n`],
  ['tab as indentation', `users:\n\t- token: ${CANARY}\n`],
  ['duplicate key', `token: ${CANARY}\ntoken: ${CANARY}\n`],
  ['undefined alias', `token: *${CANARY}\n`],
  ['block scalar header with extra characters', `token: |${CANARY}\n  x\n`],
  ['reserved character at a plain value start', `token: @${CANARY}\n`],
  ['two documents', `token: ${CANARY}\n---\ntoken: ${CANARY}\n`],
  ['multi-line implicit key', `token ${CANARY}\n  more: x\n`],
  ['missing comma in a flow', `user: {token: "${CANARY}" password: "${CANARY}"}\n`],
  ['deep nesting', `token: ${CANARY}\nx: ${'['.repeat(20_000)}${CANARY}${']'.repeat(20_000)}\n`],
  ['alias bomb', `a: &a [${CANARY}, ${CANARY}, ${CANARY}, ${CANARY}, ${CANARY}, ${CANARY}, ${CANARY}, ${CANARY}, ${CANARY}, ${CANARY}]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n`],
]

const failureOf = (action: () => unknown) => toolkitFailureOf(action, 'expected the file to be rejected')

function expectNoCanary(error: ToolkitError): void {
  const shown = `${error.message}\n${error.hint ?? ''}\n${JSON.stringify({code: error.code, message: error.message, hint: error.hint})}`
  expect(shown).not.toContain(CANARY)
  // Nothing kept that a later handler could print (a parser's error as the cause).
  expect(String((error as {cause?: unknown}).cause ?? '')).not.toContain(CANARY)
}

describe('parse errors of credential-bearing files never show the text', () => {
  const dir = mkdtempSync(join(tmpdir(), 'leaks-parse-'))

  test.each(BROKEN)('toolkit configuration: %s', (_name, text) => {
    const error = failureOf(() => parseConfig(text, '/etc/secrets-toolkit.yaml'))
    expect(error.code).toBe('CONFIG_INVALID')
    expect(error.message).toContain('/etc/secrets-toolkit.yaml')
    expectNoCanary(error)
  })

  test.each(BROKEN)('bootstrap spec: %s', (_name, text) => {
    const error = failureOf(() => parseSpec(text, 'bootstrap.yaml'))
    expect(error.code).toBe('SPEC_INVALID')
    expect(error.message).toContain('bootstrap spec bootstrap.yaml')
    expectNoCanary(error)
  })

  test.each(BROKEN)('kubeconfig (our check): %s', (_name, text) => {
    const error = failureOf(() => checkKubeconfigText(text, '/home/op/.kube/config'))
    expect(error.code).toBe('KUBECONFIG_INVALID')
    expect(error.message).toContain('kubeconfig /home/op/.kube/config')
    expectNoCanary(error)
  })

  test.each(BROKEN)('kubeconfig loaded for the Kubernetes client: %s', (name, text) => {
    const file = join(dir, `${name.replaceAll(' ', '-')}.kubeconfig`)
    writeFileSync(file, text)
    const error = failureOf(() => loadKubeConfig({kubeconfig: file}))
    expect(error.code).toBe('KUBECONFIG_INVALID')
    expect(error.message).toContain(file)
    expectNoCanary(error)
  })

  test('the message names line and column, and what is wrong', () => {
    const error = failureOf(() => parseConfig(`regions:\n  - name: r1\n    token: "${CANARY}\\q"\n`, 'cfg.yaml'))
    expect(error.message).toBe('cfg.yaml is not valid YAML at line 3, column 28: a double-quoted string holds an invalid escape sequence')
    const spec = failureOf(() => parseSpec(`secrets:\n  - name: x\n   namespace: ${CANARY}\n`, 'spec.yaml'))
    expect(spec.message).toMatch(/^bootstrap spec spec\.yaml is not valid YAML at line \d+, column \d+: /)
    const alias = failureOf(() => parseConfig(`kubernetes: {}\nregions: *${CANARY}\n`, 'cfg.yaml'))
    expect(alias.message).toBe('cfg.yaml is not valid YAML at line 2, column 10: an alias refers to an anchor that is not defined before it')
  })

  // Files our parser (yaml) accepts but the Kubernetes client's (js-yaml) refuses, with a code frame of the file in its message.
  const CLIENT_ONLY: Array<[string, string]> = [
    ['an unknown tag on a token', `users:\n- name: u\n  user:\n    token: !vault ${CANARY}\n`],
    ['a !!binary that is not base64', `users:\n- name: u\n  user:\n    token: !!binary ${CANARY}$$$\n`],
    ['an !!int tag on a token', `users:\n- name: u\n  user:\n    token: !!int ${CANARY}\n`],
    ['a merge key that is not a mapping', `users:\n- name: u\n  user:\n    <<: ${CANARY}\n`],
  ]
  test.each(CLIENT_ONLY)('kubeconfig the client cannot parse: %s', (name, text) => {
    const file = join(dir, `client-${name.replaceAll(' ', '-')}.kubeconfig`)
    writeFileSync(file, text)
    const error = failureOf(() => loadKubeConfig({kubeconfig: file}))
    expect(error.code).toBe('KUBECONFIG_INVALID')
    expect(error.message).toMatch(/is not valid YAML at line 4, column \d+: the Kubernetes client cannot parse it$/)
    expectNoCanary(error)
  })

  test('a kubeconfig of the wrong shape is named by position, not content', () => {
    for (const text of [`${CANARY}\n`, `clusters: ${CANARY}\n`, `users:\n- ${CANARY}\n`, `users:\n- name: u\n  user: ${CANARY}\n`, '', '# only a comment\n']) {
      const file = join(dir, 'shape.kubeconfig')
      writeFileSync(file, text)
      const error = failureOf(() => loadKubeConfig({kubeconfig: file}))
      expect(error.code).toBe('KUBECONFIG_INVALID')
      expectNoCanary(error)
    }
  })

  test('every $KUBECONFIG entry is checked before the client reads it', () => {
    const good = join(dir, 'good.kubeconfig')
    writeFileSync(good, 'apiVersion: v1\nclusters:\n- name: c\n  cluster: {server: https://k.example:6443}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\nusers:\n- name: u\n  user: {token: t}\n')
    const bad = join(dir, 'second.kubeconfig')
    writeFileSync(bad, `users:\n- name: v\n  user:\n    token: !vault ${CANARY}\n`)
    const saved = process.env.KUBECONFIG
    process.env.KUBECONFIG = `${good}:${bad}`
    try {
      const error = failureOf(() => loadKubeConfig())
      expect(error.message).toContain(bad)
      expectNoCanary(error)
    } finally {
      if (saved === undefined) delete process.env.KUBECONFIG
      else process.env.KUBECONFIG = saved
    }
  })

  test('a valid kubeconfig still loads, with relative paths made absolute as the client does', () => {
    const file = join(dir, 'valid.kubeconfig')
    writeFileSync(file, 'apiVersion: v1\nclusters:\n- name: c\n  cluster: {server: https://k.example:6443, certificate-authority: ca.pem}\ncontexts:\n- name: x\n  context: {cluster: c, user: u, namespace: ns}\ncurrent-context: x\nusers:\n- name: u\n  user: {token: t}\n')
    const config = loadKubeConfig({kubeconfig: file})
    expect(config.getCurrentCluster()?.server).toBe('https://k.example:6443')
    expect(config.getCurrentCluster()?.caFile).toBe(join(dir, 'ca.pem'))
    expect(config.getCurrentUser()?.token).toBe('t')
  })

  test('a FIFO or directory named as a credential-bearing file is refused by name, without blocking', () => {
    const fifo = join(dir, 'fifo.yaml')
    execFileSync('mkfifo', [fifo])
    const directory = join(dir, 'a-directory.yaml')
    mkdirSync(directory)
    for (const path of [fifo, directory]) {
      expect(failureOf(() => loadConfig({path, env: {}})).message).toBe(`configuration file ${path} is not a regular file`)
      expect(failureOf(() => loadSpec(path)).message).toBe(`bootstrap spec ${path} is not a regular file`)
      expect(failureOf(() => loadKubeConfig({kubeconfig: path})).message).toBe(`kubeconfig ${path} is not a regular file`)
    }
    const unreadable = failureOf(() => loadKubeConfig({kubeconfig: join(dir, 'missing.kubeconfig')}))
    expect(unreadable.message).toBe(`cannot read kubeconfig ${join(dir, 'missing.kubeconfig')} (ENOENT)`)
  })

  test('a value pasted where a key goes is not named back (unknown keys shown only when they look like field names)', () => {
    const pasted = [`hvs.${CANARY}`, `ghp_${CANARY}0000000000000000000000`, `${CANARY}`, 'AbCdEfGhIjKlMnOpQrStUvWxYz']
    for (const key of pasted) {
      const config = failureOf(() => parseConfig(`regions:\n  - name: region1\n    clusterSecretStore: s\n    vault: {address: "https://vault.example.com", ${key}}\n`, 'cfg.yaml'))
      expect(config.message).toContain(`regions[0].vault: Unrecognized key: (a key of ${key.length} characters, not shown: it may be a credential)`)
      expect(config.message).not.toContain(key)
      const spec = failureOf(() => parseSpec(`secrets:\n  - {namespace: a, name: b, keys: [{key: k}], ${key}}\n`, 'spec.yaml'))
      expect(spec.message).not.toContain(key)
    }
    const typo = failureOf(() => parseConfig('regions:\n  - name: region1\n    clusterSecretStore: s\n    vault: {adress: "https://vault.example.com", token-file: x, secretId: y}\n', 'cfg.yaml'))
    expect(typo.message).toContain('regions[0].vault: Unrecognized keys: "adress", "token-file", "secretId"')
  })
})
