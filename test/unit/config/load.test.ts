import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {resolveVaultLogin, regionEnvName} from '../../../src/lib/config/credentials.js'
import {findRegion, loadConfig, parseConfig} from '../../../src/lib/config/load.js'
import {ToolkitError} from '../../../src/lib/errors/errors.js'

const VALID = `
kubernetes: {context: prod-eu}
regions:
  - name: region1
    clusterSecretStore: vault-region1
    vault:
      address: https://vault-r1.example.com
      mount: secret
      auth: {method: token}
      tls: {caCert: /etc/ca.pem, skipVerify: false}
  - name: region2
    clusterSecretStore: vault-region2
    vault:
      address: https://vault-r2.example.com:8200
      namespace: team-a
      auth: {method: approle, roleId: my-role}
`

function problemsOf(text: string): string {
  try {
    parseConfig(text, 'test.yaml')
  } catch (error) {
    expect(error).toBeInstanceOf(ToolkitError)
    expect((error as ToolkitError).code).toBe('CONFIG_INVALID')
    return (error as Error).message
  }
  throw new Error('expected the configuration to be rejected')
}

describe('configuration', () => {
  test('a valid file parses, with defaults filled in', () => {
    const config = parseConfig(VALID, 'test.yaml')
    expect(config.kubernetes.context).toBe('prod-eu')
    expect(config.regions.map((r) => r.name)).toEqual(['region1', 'region2'])
    expect(config.regions[1].vault.mount).toBe('secret')
    expect(config.regions[1].vault.namespace).toBe('team-a')
    expect(config.regions[1].vault.auth).toEqual({method: 'approle', mount: 'approle', roleId: 'my-role'})
    expect(config.regions[1].vault.tls.skipVerify).toBe(false)
  })

  test.each([
    ['address is not a URL', VALID.replace('https://vault-r1.example.com', 'not a url'), 'regions[0].vault.address: must be a URL'],
    ['bad region name', VALID.replace('name: region2', 'name: Region_2'), 'regions[1].name: must be lowercase'],
    ['duplicate region', VALID.replace('name: region2', 'name: region1'), 'regions[1].name: duplicates regions[0].name'],
    ['unknown field (a token in the file)', VALID.replace('auth: {method: token}', 'auth: {method: token, token: s.abc}'), 'regions[0].vault.auth'],
    ['unknown auth method', VALID.replace('auth: {method: token}', 'auth: {method: ldap}'), 'regions[0].vault.auth.method'],
    ['approle without roleId', VALID.replace('roleId: my-role', 'mount: approle'), 'regions[1].vault.auth.roleId'],
    ['mount with slashes', VALID.replace('mount: secret', 'mount: /secret/'), 'regions[0].vault.mount: must not start or end with /'],
    ['no regions', 'regions: []', 'regions: must list at least one region'],
    ['skipVerify not a boolean', VALID.replace('skipVerify: false', 'skipVerify: "no"'), 'regions[0].vault.tls.skipVerify'],
  ])('%s is reported with its path', (_what, text, expected) => {
    expect(problemsOf(text)).toContain(expected)
  })

  test('every problem is reported, not just the first', () => {
    const text = VALID.replace('https://vault-r1.example.com', 'nope').replace('name: region2', 'name: BAD')
    const message = problemsOf(text)
    expect(message).toContain('2 problem(s)')
    expect(message).toContain('regions[0].vault.address')
    expect(message).toContain('regions[1].name')
  })

  test('invalid YAML names the file', () => {
    expect(() => parseConfig('regions: [', 'broken.yaml')).toThrow(/broken\.yaml is not valid YAML/)
  })

  describe('discovery order', () => {
    const dir = mkdtempSync(join(tmpdir(), 'secrets-config-'))
    const explicit = join(dir, 'explicit.yaml')
    const fromEnv = join(dir, 'from-env.yaml')
    writeFileSync(explicit, VALID)
    writeFileSync(fromEnv, VALID.replace('prod-eu', 'from-env'))
    writeFileSync(join(dir, 'secrets-toolkit.yaml'), VALID.replace('prod-eu', 'local'))

    test('--config wins over $SECRETS_TOOLKIT_CONFIG and ./secrets-toolkit.yaml', () => {
      const loaded = loadConfig({path: explicit, env: {SECRETS_TOOLKIT_CONFIG: fromEnv}, cwd: dir})
      expect(loaded.source).toBe(explicit)
    })

    test('$SECRETS_TOOLKIT_CONFIG wins over ./secrets-toolkit.yaml', () => {
      expect(loadConfig({env: {SECRETS_TOOLKIT_CONFIG: fromEnv}, cwd: dir}).config.kubernetes.context).toBe('from-env')
    })

    test('./secrets-toolkit.yaml is used when nothing else is given', () => {
      expect(loadConfig({env: {}, cwd: dir}).config.kubernetes.context).toBe('local')
    })

    test('a missing explicit file is an error naming where the path came from', () => {
      expect(() => loadConfig({env: {SECRETS_TOOLKIT_CONFIG: join(dir, 'nope.yaml')}, cwd: dir})).toThrow(/from \$SECRETS_TOOLKIT_CONFIG\) does not exist/)
    })

    test("without any file, Vault's own variables make a one-region configuration", () => {
      const empty = mkdtempSync(join(tmpdir(), 'secrets-config-empty-'))
      const {config, source} = loadConfig({
        env: {VAULT_ADDR: 'https://vault.example.com:8200', VAULT_NAMESPACE: 'ns1', VAULT_CACERT: '/ca.pem', VAULT_SKIP_VERIFY: 'true'},
        cwd: empty,
      })
      expect(source).toBe('environment (VAULT_ADDR)')
      expect(config.regions).toHaveLength(1)
      expect(config.regions[0].vault).toMatchObject({address: 'https://vault.example.com:8200', namespace: 'ns1', tls: {caCert: '/ca.pem', skipVerify: true}})
    })

    test('nothing at all is a clear error', () => {
      const empty = mkdtempSync(join(tmpdir(), 'secrets-config-none-'))
      expect(() => loadConfig({env: {}, cwd: empty})).toThrow(/no configuration/)
    })
  })

  test('findRegion names the known regions when one is unknown', () => {
    const config = parseConfig(VALID, 'test.yaml')
    expect(() => findRegion(config, 'region3')).toThrow('region "region3" is not in the configuration (known: region1, region2)')
  })
})

describe('credentials', () => {
  const config = parseConfig(VALID, 'test.yaml')

  test('per-region variable names', () => {
    expect(regionEnvName('region1', 'VAULT_TOKEN')).toBe('SECRETS_TOOLKIT_REGION1_VAULT_TOKEN')
    expect(regionEnvName('eu-west', 'VAULT_TOKEN')).toBe('SECRETS_TOOLKIT_EU_WEST_VAULT_TOKEN')
  })

  test('the per-region token wins over VAULT_TOKEN, and stays redacted', () => {
    const login = resolveVaultLogin(config.regions[0], {SECRETS_TOOLKIT_REGION1_VAULT_TOKEN: 'canary-region-token', VAULT_TOKEN: 'canary-global-token'})
    expect(login.method).toBe('token')
    if (login.method !== 'token') throw new Error('unreachable')
    expect(login.token.revealString()).toBe('canary-region-token')
    expect(JSON.stringify(login)).not.toContain('canary')
  })

  test('VAULT_TOKEN is the fallback', () => {
    const login = resolveVaultLogin(config.regions[0], {VAULT_TOKEN: 'canary-global-token'})
    expect(login.method === 'token' && login.token.revealString()).toBe('canary-global-token')
  })

  test('a missing token names the variables to set', () => {
    expect(() => resolveVaultLogin(config.regions[0], {})).toThrow(ToolkitError)
    try {
      resolveVaultLogin(config.regions[0], {})
    } catch (error) {
      expect((error as ToolkitError).hint).toContain('SECRETS_TOOLKIT_REGION1_VAULT_TOKEN')
    }
  })

  test('AppRole secret id comes from the region variable', () => {
    const login = resolveVaultLogin(config.regions[1], {SECRETS_TOOLKIT_REGION2_VAULT_SECRET_ID: 'canary-secret-id'})
    expect(login).toMatchObject({method: 'approle', mount: 'approle', roleId: 'my-role'})
    expect(JSON.stringify(login)).not.toContain('canary')
  })
})
