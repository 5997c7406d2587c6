import {execFileSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {loadConfig} from '../../../src/lib/config/load.js'
import {SecretValue} from '../../../src/lib/secret/secret-value.js'
import {connectRegion} from '../../../src/lib/vault/connect.js'
import {runCli} from '../../helpers/cli.js'
import {testEnv} from '../../helpers/env.js'

test('git scan --values-from vault finds a value held in a regional Vault, naming the Vault secret and key, never the value', async () => {
  const env = testEnv()
  const CANARY = `canary-scan-vault-${randomBytes(4).toString('hex')}`
  const secretPath = `scan-vault-${randomBytes(3).toString('hex')}/app`
  const region1 = await connectRegion(loadConfig({path: env.configPath}).config.regions[0], {env: env.tokenEnv})
  try {
    await region1.store.write(secretPath, new Map([['token', SecretValue.fromString(CANARY)]]))
  } finally {
    await region1.close()
  }
  const repo = mkdtempSync(join(tmpdir(), 'secrets-scan-vault-'))
  const git = (...args: string[]) => execFileSync('git', ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args])
  git('init', '--quiet')
  writeFileSync(join(repo, 'settings.json'), JSON.stringify({token: encodeURIComponent(`${CANARY}/x`)}))
  git('add', '-A')
  git('commit', '--quiet', '-m', 'settings')

  const result = await runCli(['git', 'scan', repo, '--values-from', 'vault', '--config', env.configPath, '--json'], {env: env.tokenEnv})
  expect(result.stdout + result.stderr).not.toContain(CANARY)
  expect(result.code).toBe(1)
  const findings = JSON.parse(result.stdout).valueFindings
  expect(findings).toHaveLength(1)
  expect(findings[0].paths).toEqual(['settings.json'])
  expect(findings[0].matches).toEqual(expect.arrayContaining([expect.objectContaining({secret: secretPath, key: 'token'})]))

  const unreachable = await runCli(['git', 'scan', repo, '--values-from', 'vault'], {env: {VAULT_ADDR: 'http://127.0.0.1:1', VAULT_TOKEN: 'x', SECRETS_TOOLKIT_CONFIG: ''}})
  expect(unreachable.code).toBe(2)
  expect(unreachable.stderr).toContain('region default')
})
