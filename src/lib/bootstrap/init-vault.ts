import type {RegionConfig} from '../config/schema.js'
import {RefusedError, ToolkitError} from '../errors/errors.js'
import {displayText, redactUrl} from '../report/display.js'
import type {SecretValue} from '../secret/secret-value.js'
import type {VaultAdmin} from '../vault/vault-sys.js'
import {pollUntil} from '../workflow/poll.js'

export const ACKNOWLEDGE_WORD = 'STORED'
export const ALLOW_NON_TTY_FLAG = 'allow-non-tty-stdout'

/** Erases the screen and the scrollback (xterm, tmux, most terminals), so the keys are not left readable. */
export const CLEAR_SCREEN_AND_SCROLLBACK = '\u001B[2J\u001B[3J\u001B[H'

export interface InitVaultTerminal {
  json: boolean
  stdinIsTTY: boolean
  stdoutIsTTY: boolean
  /** --allow-non-tty-stdout: the operator accepts that the keys go to whatever stdout is. */
  allowNonTtyStdout: boolean
}

/** Vault's own limits on the Shamir split, checked before anything is sent. */
export function keySplitProblem(keyShares: number, keyThreshold: number): string | undefined {
  if (!Number.isInteger(keyShares) || keyShares < 1 || keyShares > 255) return `--key-shares must be 1–255 (got ${keyShares})`
  if (!Number.isInteger(keyThreshold) || keyThreshold < 1) return `--key-threshold must be at least 1 (got ${keyThreshold})`
  if (keyThreshold > keyShares) return `--key-threshold (${keyThreshold}) cannot exceed --key-shares (${keyShares})`
  if (keyShares > 1 && keyThreshold === 1) return '--key-threshold must be at least 2 when there is more than one share (Vault refuses 1 of N)'
  return undefined
}

/**
 * The unseal keys and root token go to the operator's terminal and nowhere
 * else, so every way they could land elsewhere is refused before the Vault
 * is touched (initialization cannot be repeated).
 */
export function checkInitVaultTerminal(terminal: InitVaultTerminal, keyShares: number, keyThreshold: number): void {
  const split = keySplitProblem(keyShares, keyThreshold)
  if (split) throw new ToolkitError('INIT_INVALID', split, {hint: 'Common choices: --key-shares 5 --key-threshold 3, or 1 and 1 for a lab.'})
  if (terminal.json) {
    throw new RefusedError('--init-vault never prints --json: the unseal keys and root token would end up in whatever reads the JSON', 'Run it without --json, in a terminal.')
  }
  if (!terminal.stdinIsTTY) {
    throw new RefusedError(
      `--init-vault needs a terminal on stdin: the operator must type ${ACKNOWLEDGE_WORD} after storing the keys`,
      'Run it interactively in a terminal; nothing was initialized.',
    )
  }
  if (!terminal.stdoutIsTTY && !terminal.allowNonTtyStdout) {
    throw new RefusedError(
      '--init-vault refuses to print the unseal keys and root token: stdout is not a terminal (a pipe, file or log would keep them)',
      `Run it with stdout on a terminal. If you are redirecting on purpose (e.g. into an encrypting command), add --${ALLOW_NON_TTY_FLAG} to accept that the keys go there. Nothing was initialized.`,
    )
  }
}

export interface InitVaultIo {
  /** Raw text to stdout: the one place the keys are revealed. */
  write(text: string): void
  /** Progress lines (stderr), never keys. */
  progress(line: string): void
  /** Asked before sys/init; --yes skips it. */
  confirm(message: string): Promise<void>
  /** Resolves once the operator typed the acknowledgement word. */
  acknowledge(word: string): Promise<void>
  /** Whether to erase the keys from the screen after the acknowledgement (stdout is a terminal). */
  clearAfterAcknowledge: boolean
}

export interface InitVaultResult {
  region: string
  /** As shown to the operator: without user:password (redactUrl). */
  address: string
  keyShares: number
  keyThreshold: number
  /** The KV v2 mount the configuration names for this region (where ESO and the toolkit read and write). */
  mount: string
  initialized: boolean
  sealed: boolean
  active: boolean
}

/**
 * The region as prompts, progress, errors and the report name it: its Vault
 * address without a user:password or credential parameters (redactUrl), so a
 * password in the address never reaches the terminal beside the keys.
 */
export function describeRegionVault(region: Pick<RegionConfig, 'name' | 'vault'>): string {
  return `region ${displayText(region.name)} (${displayVaultAddress(region.vault.address)})`
}

/** redactUrl writes a bare origin with a trailing slash; the address is shown as configured, as VaultHttp.displayAddress does. */
function displayVaultAddress(address: string): string {
  return redactUrl(address).replace(/\/$/, '')
}

/**
 * Initializes an uninitialized Vault, shows the keys once, waits for the
 * acknowledgement, unseals it with the threshold of keys, and waits until it
 * is active. The keys are held only in memory and dropped on return.
 */
export async function initializeVault(
  region: RegionConfig,
  sys: VaultAdmin,
  split: {keyShares: number; keyThreshold: number},
  io: InitVaultIo,
  options: {activeTimeoutMs?: number} = {},
): Promise<InitVaultResult> {
  const address = displayVaultAddress(region.vault.address)
  const where = describeRegionVault(region)
  const health = await sys.health()
  if (health.initialized) {
    throw new ToolkitError('ALREADY_INITIALIZED', `${where} is already initialized: nothing was done`, {
      hint: health.sealed ? 'Unseal it with the keys stored at its initialization (`vault operator unseal`).' : 'It is initialized and unsealed; run `secrets bootstrap` to seed the credentials.',
    })
  }
  await io.confirm(`Initialize the Vault of ${where} with ${split.keyShares} key share(s), threshold ${split.keyThreshold}?`)
  const {keys, rootToken} = await sys.init(split.keyShares, split.keyThreshold)
  if (keys.length < split.keyThreshold || rootToken.byteLength === 0) {
    throw new ToolkitError('INIT_FAILED', `${where}: sys/init answered without the expected keys`, {hint: 'Check the server log; the server may need to be re-created.'})
  }
  io.write(renderKeysOnce(where, keys, rootToken, split))
  await io.acknowledge(ACKNOWLEDGE_WORD)
  if (io.clearAfterAcknowledge) io.write(CLEAR_SCREEN_AND_SCROLLBACK)
  io.progress(`${where}: initialized; unsealing with ${split.keyThreshold} of the ${split.keyShares} key(s)…`)
  let sealed = true
  for (const key of keys.slice(0, split.keyThreshold)) {
    sealed = (await sys.unseal(key)).sealed
    if (!sealed) break
  }
  if (sealed) {
    throw new ToolkitError('UNSEAL_FAILED', `${where}: still sealed after ${split.keyThreshold} unseal key(s)`, {
      hint: 'Unseal it by hand with the keys you stored (`vault operator unseal`).',
    })
  }
  const active = await waitActive(sys, options.activeTimeoutMs ?? 30_000)
  return {region: region.name, address, keyShares: split.keyShares, keyThreshold: split.keyThreshold, mount: region.vault.mount, initialized: true, sealed: false, active}
}

/** The only text of the toolkit that holds secret material, built at the moment it is written to the terminal. */
function renderKeysOnce(where: string, keys: SecretValue[], rootToken: SecretValue, split: {keyShares: number; keyThreshold: number}): string {
  const lines = [
    '',
    `==== ${where} is initialized ====`,
    'Store the unseal keys and the root token OFFLINE NOW (e.g. one key per key holder, in a password manager or on paper).',
    'They are shown this once: this tool does not store, log or print them anywhere else, and they cannot be shown again.',
    '',
    ...keys.map((key, index) => `Unseal key ${index + 1}: ${key.revealString()}`),
    '',
    `Initial root token: ${rootToken.revealString()}`,
    '',
    `It takes ${split.keyThreshold} of these ${split.keyShares} key(s) to unseal. Revoke the root token once the first admin policy and auth method exist (vault token revoke).`,
    '',
  ]
  return `${lines.join('\n')}\n`
}

async function waitActive(sys: VaultAdmin, timeoutMs: number): Promise<boolean> {
  // Not answering yet is a state to wait through, like sealed or standby.
  const health = () => sys.health().catch(() => undefined)
  const active = (state: Awaited<ReturnType<typeof health>>) => state !== undefined && state.initialized && !state.sealed && !state.standby
  return (await pollUntil(health, active, {timeoutMs, intervalMs: 250})).done
}
