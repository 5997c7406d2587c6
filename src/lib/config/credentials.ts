import {readFileSync} from 'node:fs'

import {ToolkitError} from '../errors/errors.js'
import {displayText} from '../report/display.js'
import {SecretValue} from '../secret/secret-value.js'
import type {RegionConfig} from './schema.js'

/** SECRETS_TOOLKIT_<REGION>_<SUFFIX>: region1 → SECRETS_TOOLKIT_REGION1_VAULT_TOKEN, eu-west → SECRETS_TOOLKIT_EU_WEST_VAULT_TOKEN. */
export function regionEnvName(region: string, suffix: string): string {
  return `SECRETS_TOOLKIT_${region.toUpperCase().replaceAll(/[^A-Z0-9]/g, '_')}_${suffix}`
}

function readSecretFile(path: string, what: string, region: string): SecretValue {
  try {
    return SecretValue.fromString(readFileSync(path, 'utf8').trim())
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable'
    // The file is named by its path and the system's reason only: its content is the credential.
    throw new ToolkitError('CREDENTIALS_MISSING', `region ${region}: cannot read ${what} file ${displayText(path)} (${reason})`, {
      hint: 'Check the path and its permissions.',
    })
  }
}

export type VaultLogin =
  | {method: 'token'; token: SecretValue}
  | {method: 'approle'; mount: string; roleId: string; secretId: SecretValue}
  | {method: 'kubernetes'; mount: string; role: string; jwt: SecretValue; readJwt?: () => SecretValue}

/**
 * Resolves where a region's credential comes from. Order for tokens: the
 * region's tokenFile, SECRETS_TOOLKIT_<REGION>_VAULT_TOKEN, then VAULT_TOKEN.
 */
export function resolveVaultLogin(region: RegionConfig, env: NodeJS.ProcessEnv = process.env): VaultLogin {
  const {auth} = region.vault
  switch (auth.method) {
    case 'token': {
      if (auth.tokenFile) return {method: 'token', token: readSecretFile(auth.tokenFile, 'token', region.name)}
      const regionVar = regionEnvName(region.name, 'VAULT_TOKEN')
      const token = env[regionVar] ?? env.VAULT_TOKEN
      if (!token) {
        throw new ToolkitError('CREDENTIALS_MISSING', `region ${region.name}: no Vault token`, {
          hint: `Set ${regionVar} (or VAULT_TOKEN), or auth.tokenFile in the configuration.`,
        })
      }
      return {method: 'token', token: SecretValue.fromString(token)}
    }
    case 'approle': {
      const regionVar = regionEnvName(region.name, 'VAULT_SECRET_ID')
      let secretId: SecretValue | undefined
      if (auth.secretIdFile) secretId = readSecretFile(auth.secretIdFile, 'AppRole secret id', region.name)
      else if (env[regionVar]) secretId = SecretValue.fromString(env[regionVar] as string)
      if (!secretId) {
        throw new ToolkitError('CREDENTIALS_MISSING', `region ${region.name}: no AppRole secret id`, {
          hint: `Set ${regionVar}, or auth.secretIdFile in the configuration.`,
        })
      }
      return {method: 'approle', mount: auth.mount, roleId: auth.roleId, secretId}
    }
    case 'kubernetes':
      // A projected service-account token is rotated by the kubelet: each later login reads the file again.
      return {
        method: 'kubernetes',
        mount: auth.mount,
        role: auth.role,
        jwt: readSecretFile(auth.tokenFile, 'service-account token', region.name),
        readJwt: () => readSecretFile(auth.tokenFile, 'service-account token', region.name),
      }
  }
}
