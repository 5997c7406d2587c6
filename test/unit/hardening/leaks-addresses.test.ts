import {describeRegionVault} from '../../../src/lib/bootstrap/init-vault.js'
import {configFromVaultEnv, parseConfig} from '../../../src/lib/config/load.js'
import {addressCredentialProblem, type RegionConfig} from '../../../src/lib/config/schema.js'
import {ToolkitError} from '../../../src/lib/errors/errors.js'
import {connectRegion} from '../../../src/lib/vault/connect.js'
import {toolkitFailureOf} from '../../helpers/failure.js'

// A password in a Vault address is a credential in the
// configuration; it is refused by name, and never printed.
const CANARY = 'pwcanary5e1b77c2'

const ADDRESSES = [
  `https://admin:${CANARY}@vault.example.com:8200`,
  `https://${CANARY}@vault.example.com`,
  `https://:${CANARY}@vault.example.com`,
  `http://user:${CANARY}@127.0.0.1:8200/prefix`,
  `https://vault.example.com:8200/?token=${CANARY}`,
  `https://vault.example.com:8200/#${CANARY}`,
]

function configWith(address: string): string {
  return `regions:\n  - name: region1\n    clusterSecretStore: vault-region1\n    vault: {address: "${address}", auth: {method: token}}\n`
}


describe('a Vault address with credentials is refused, naming the field, never the address', () => {
  test.each(ADDRESSES)('in the configuration file: %s', (address) => {
    const error = toolkitFailureOf(() => parseConfig(configWith(address), 'cfg.yaml'))
    expect(error.code).toBe('CONFIG_INVALID')
    expect(error.message).toContain('regions[0].vault.address: must not')
    expect(`${error.message}${error.hint}`).not.toContain(CANARY)
  })

  test('from VAULT_ADDR', () => {
    const error = toolkitFailureOf(() => configFromVaultEnv({VAULT_ADDR: `https://root:${CANARY}@vault.example.com`}))
    expect(error.message).toContain('vault.address: must not contain a user name or password')
    expect(`${error.message}${error.hint}`).not.toContain(CANARY)
  })

  test('plain addresses stay accepted', () => {
    for (const address of ['https://vault.example.com:8200', 'http://127.0.0.1:8200', 'https://vault.example.com/prefix/', 'https://[::1]:8200']) {
      expect(addressCredentialProblem(address)).toBeUndefined()
      expect(() => parseConfig(configWith(address), 'cfg.yaml')).not.toThrow()
    }
  })

  test.each(ADDRESSES)('a RegionConfig built in code is refused before any request: %s', async (address) => {
    const region = {name: 'region1', clusterSecretStore: 'vault-region1', vault: {address, mount: 'secret', namespace: '', auth: {method: 'token'}, tls: {skipVerify: false}, requestTimeoutMs: 1000, maxConcurrency: 1}} as unknown as RegionConfig
    const error = await connectRegion(region, {anonymous: true}).then(
      () => undefined,
      (error_: unknown) => error_ as ToolkitError,
    )
    expect(error).toBeInstanceOf(ToolkitError)
    expect(error!.message).toMatch(/^region region1: vault\.address must not/)
    expect(`${error!.message}${error!.hint}`).not.toContain(CANARY)
  })
})

describe('--init-vault names the region by its address without credentials', () => {
  test('user:password and credential parameters are redacted', () => {
    for (const address of ADDRESSES.slice(0, 5)) {
      const shown = describeRegionVault({name: 'region1', vault: {address} as RegionConfig['vault']})
      expect(shown).toMatch(/^region region1 \(https?:\/\/(\*\*\*@)?(vault\.example\.com|127\.0\.0\.1)/)
      expect(shown).not.toContain(CANARY)
    }
    expect(describeRegionVault({name: 'region1', vault: {address: 'https://vault.example.com:8200'} as RegionConfig['vault']})).toBe('region region1 (https://vault.example.com:8200)')
  })
})
