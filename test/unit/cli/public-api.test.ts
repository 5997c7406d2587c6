import * as api from '../../../src/index.js'
import * as store from '../../../src/lib/vault/secret-store.js'

describe('the library API (src/index.ts)', () => {
  it('offers SOPS decryption, the store interface and the region comparison, and nothing else', () => {
    const own = Object.keys(api).filter((name) => !(name in store)).sort()
    expect(own).toEqual(
      ['ExitCode', 'REDACTED', 'SecretValue', 'SopsError', 'ToolkitError', 'compareRegions', 'connectRegion', 'decryptSopsFile', 'detectSops', 'findRegion', 'isSecretValue', 'isSopsError', 'isToolkitError', 'loadConfig', 'resolveEngine'].sort(),
    )
    // The store module's values (its error class and predicates) are all public.
    for (const name of Object.keys(store)) expect(api).toHaveProperty(name)
  })
})
