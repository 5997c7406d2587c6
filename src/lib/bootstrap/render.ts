import {renderTable} from '../report/table.js'
import type {InitVaultResult} from './init-vault.js'
import type {WrittenManifest} from './manifests.js'
import type {VaultCheck} from './wait.js'
import type {WizardResult} from './wizard.js'

const STATE_TEXT: Record<VaultCheck['state'], string> = {
  'in-sync': 'in sync',
  missing: 'missing',
  differs: 'differs',
  error: 'error',
}

function cell(check: VaultCheck | undefined): string {
  if (!check) return '-'
  if (check.state === 'differs') {
    const parts = [check.keys.length > 0 ? check.keys.join(', ') : '', check.stale ? `stale: ${check.stale.join(', ')}` : ''].filter(Boolean)
    return `${STATE_TEXT[check.state]} (${parts.join('; ')})`
  }
  if (check.state === 'missing' && check.keys.length > 0 && check.keys.length < 4) return `${STATE_TEXT[check.state]} (${check.keys.join(', ')})`
  return STATE_TEXT[check.state]
}

/** The per-region report after the wait: secret names, key names and states only. */
export function renderWizardResult(result: WizardResult): string {
  const lines: string[] = []
  if (result.written.length > 0) lines.push(`Written: ${result.written.join(', ')}`)
  if (result.namespacesCreated.length > 0) lines.push(`Namespaces created: ${result.namespacesCreated.join(', ')}`)
  if (!result.waited) {
    lines.push('The Vaults were not checked (--wait-timeout 0): `secrets migrate verify` or a re-run checks them.')
    return lines.join('\n')
  }
  const regions = [...new Set(result.vaults.map((check) => check.region))]
  const ids = [...new Set(result.vaults.map((check) => check.id))]
  if (ids.length === 0) {
    lines.push('Nothing to check in the Vaults.')
    return lines.join('\n')
  }
  lines.push('', 'Vault contents, compared with what the Kubernetes Secrets hold:')
  lines.push(
    renderTable(
      ['SECRET', 'REMOTE KEY', ...regions],
      ids.map((id) => {
        const checks = result.vaults.filter((check) => check.id === id)
        return [id, checks[0]?.remoteKey ?? '', ...regions.map((region) => cell(checks.find((check) => check.region === region)))]
      }),
    ),
  )
  for (const check of result.vaults.filter((c) => c.state === 'error')) lines.push(`  ${check.region} ${check.id}: ${check.detail}`)
  for (const outcome of result.outcomes.filter((o) => o.pushSecretStatus)) lines.push(`  PushSecret ${outcome.id}: ${outcome.pushSecretStatus}`)
  for (const removal of result.staleRemovals) {
    if (removal.removed.length > 0) lines.push(`  ${removal.region} ${removal.remoteKey}: removed ${removal.removed.join(', ')} (the Secret no longer has them; check-and-set)`)
    if (removal.failed) lines.push(`  ${removal.region} ${removal.remoteKey}: stale properties NOT removed: ${removal.failed}`)
  }
  lines.push('', result.inSync ? `Done: ${regions.join(' and ')} hold every value.` : (result.advice ?? 'Not every Vault holds every value.'))
  return lines.join('\n')
}

export function renderManifests(written: WrittenManifest[]): string {
  return [
    renderTable(['SECRET', 'FILE', 'STATUS'], written.map((file) => [file.id, file.path, file.status])),
    '',
    'Commit these files to the GitOps repository: ESO generates each value once in the cluster (refreshInterval "0") and the PushSecret copies it to every region.',
  ].join('\n')
}

export function renderInitVault(result: InitVaultResult): string {
  return [
    `Region ${result.region} (${result.address}): initialized and unsealed${result.active ? ', active' : ' (not yet active: check `vault status`)'}.`,
    'Nothing was stored: the unseal keys and root token exist only where you put them.',
    'Next:',
    `  1. enable KV version 2 at the mount the configuration names for ${result.region}: \`VAULT_ADDR=${result.address} vault secrets enable -path=${result.mount} kv-v2\` (a new Vault has no KV engine);`,
    `  2. give ESO's ClusterSecretStore and this tool a token for ${result.region} that may read and write ${result.mount}/* (not the root token);`,
    '  3. run `secrets bootstrap`.',
  ].join('\n')
}
