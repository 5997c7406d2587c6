import {execFileSync} from 'node:child_process'

import {generateIdentity, identityToRecipient} from 'age-encryption'

import {requireBinary} from './binaries.js'

export interface AgeKey {
  identity: string
  recipient: string
}

export async function newAgeKey(): Promise<AgeKey> {
  const identity = await generateIdentity()
  return {identity, recipient: await identityToRecipient(identity)}
}

/**
 * Encrypts with the real sops binary. The plaintext goes through stdin, so a
 * test's canary values are never written to a file. sops reads only paths, and
 * /dev/stdin cannot be opened on the socket Node gives a child as stdin: `cat`
 * puts a real pipe in between.
 */
export function sopsEncrypt(plaintext: string | Buffer, options: {recipient: string; type: 'yaml' | 'json' | 'dotenv' | 'ini' | 'binary'; encryptedRegex?: string}): Buffer {
  const args = ['encrypt', '--age', options.recipient, '--input-type', options.type, '--output-type', options.type]
  if (options.encryptedRegex) args.push('--encrypted-regex', options.encryptedRegex)
  args.push('/dev/stdin')
  return execFileSync('bash', ['-c', 'cat | "$0" "$@"', requireBinary('sops'), ...args], {input: plaintext, env: {...process.env, SOPS_DISABLE_VERSION_CHECK: '1'}, stdio: ['pipe', 'pipe', 'pipe']})
}
