import {execFileSync, spawnSync} from 'node:child_process'
import {chmodSync, mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {generateIdentity, identityToRecipient} from 'age-encryption'

import {requireBinary} from '../../helpers/binaries.js'
import {fixture} from '../../unit/sops/fixtures.js'

export const GPG = '/usr/bin/gpg'

export interface AgeKeyPair {
  identity: string
  recipient: string
  /** A 0600 key file inside the test's private directory. */
  file: string
}

/** A throwaway age identity for this test run. */
export async function newAgeKey(dir: string, name: string): Promise<AgeKeyPair> {
  const identity = await generateIdentity()
  const recipient = await identityToRecipient(identity)
  const file = join(dir, `${name}.txt`)
  writeFileSync(file, `# ${recipient}\n${identity}\n`, {mode: 0o600})
  return {identity, recipient, file}
}

/** A private (0700) directory for a test's keys and ciphertexts; remove it in afterAll. */
export function privateDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  chmodSync(dir, 0o700)
  return dir
}

/**
 * Encrypts with the real sops binary, the plaintext piped in from memory
 * (never written to disk); the ciphertext is written to `dir/name`.
 * `config` is a .sops.yaml for rules the encrypt flags do not offer (key
 * groups, comment regexes, mac_only_encrypted).
 */
export function sopsEncrypt(dir: string, name: string, plaintext: Buffer | string, format: 'yaml' | 'json' | 'dotenv' | 'ini' | 'binary', args: string[], config?: string): string {
  const sops = requireBinary('sops')
  const configArgs = config === undefined ? [] : ['--config', writeConfig(dir, name, config)]
  const result = spawnSync(sops, [...configArgs, 'encrypt', '--filename-override', name, '--input-type', format, '--output-type', format, ...args], {
    input: plaintext,
    env: {PATH: process.env.PATH, HOME: dir, SOPS_DISABLE_VERSION_CHECK: '1'},
    stdio: ['pipe', 'pipe', 'pipe'],
    maxBuffer: 1 << 28,
  })
  if (result.status !== 0) throw new Error(`sops encrypt of ${name} failed with exit code ${result.status}`)
  const encryptedPath = join(dir, name)
  writeFileSync(encryptedPath, result.stdout)
  return encryptedPath
}

function writeConfig(dir: string, name: string, config: string): string {
  const path = join(dir, `${name}.sops-config.yaml`)
  writeFileSync(path, config)
  return path
}

/** A GnuPG home holding the sops functional-test PGP key (published upstream with the fixtures). */
export function gnupgHomeWithFixtureKey(dir: string): string {
  const home = join(dir, 'gnupg')
  mkdirSync(home, {mode: 0o700})
  execFileSync(GPG, ['--batch', '--quiet', '--import', fixture('getsops__sops/pgp/sops_functional_tests_key.asc')], {env: {...process.env, GNUPGHOME: home}, stdio: ['ignore', 'ignore', 'ignore']})
  return home
}

/** Stops the gpg-agent that gpg started for this home. */
export function stopGnupg(home: string): void {
  spawnSync('gpgconf', ['--kill', 'gpg-agent'], {env: {...process.env, GNUPGHOME: home}, stdio: 'ignore'})
}

/** Opens a PGP-sealed data key with the real gpg (the ciphertext goes in on stdin; the key stays in memory). */
export function gpgDecrypt(home: string, armored: string): Buffer {
  return execFileSync(GPG, ['--batch', '--quiet', '--decrypt'], {input: armored, env: {...process.env, GNUPGHOME: home}, stdio: ['pipe', 'pipe', 'ignore']})
}
