import {armor} from 'age-encryption'

import {SopsError} from '../errors.js'
import type {AgeIdentitySet} from './age-keys.js'
import type {KeyGroup, SopsMetadata} from './metadata.js'

const INSTALL_SOPS = 'Install the sops binary (or set SOPS_BIN) so that the toolkit decrypts with it: only sops can use PGP, cloud KMS and Vault transit keys.'

/**
 * The data key, opened with age identities: one key group holds the whole
 * key; several hold Shamir shares, `shamir_threshold` of which rebuild it.
 */
export async function recoverDataKey(file: string, metadata: SopsMetadata, identities: AgeIdentitySet): Promise<Buffer> {
  const groups = metadata.keyGroups
  const ageless = groups.filter((group) => group.age.length === 0)
  if (groups.length === 1 && ageless.length === 1) {
    throw new SopsError('UNSUPPORTED_KEY', file, `${file} is encrypted only to keys the built-in decryptor cannot use (${describeKeys(ageless[0])})`, {hint: INSTALL_SOPS})
  }
  const parts: Buffer[] = []
  for (const group of groups) {
    const part = await openGroup(file, group, identities)
    if (part) parts.push(part)
  }
  if (groups.length === 1) {
    if (parts.length === 1) return checkedKey(file, parts[0])
    throw noKey(file, groups, identities)
  }
  const threshold = metadata.shamirThreshold > 0 ? metadata.shamirThreshold : groups.length
  if (parts.length < threshold) {
    if (ageless.length > 0 && parts.length + ageless.length >= threshold) {
      throw new SopsError('UNSUPPORTED_KEY', file, `${file} needs ${threshold} of its ${groups.length} key groups; ${ageless.length} of them hold only keys the built-in decryptor cannot use`, {hint: INSTALL_SOPS})
    }
    throw noKey(file, groups, identities)
  }
  return checkedKey(file, combineShares(file, parts))
}

async function openGroup(file: string, group: KeyGroup, identities: AgeIdentitySet): Promise<Buffer | undefined> {
  // Stanzas addressed to an identity we hold first: each try costs an X25519.
  const ordered = [...group.age].sort((a, b) => Number(identities.holdsRecipient(b.recipient)) - Number(identities.holdsRecipient(a.recipient)))
  for (const attempt of ['loaded', 'command'] as const) {
    if (attempt === 'command') {
      if (!identities.hasCommand) break
      for (const stanza of ordered) await identities.addFromCommand(stanza.recipient)
    }
    for (const stanza of ordered) {
      let sealed: Uint8Array
      try {
        sealed = armor.decode(stanza.enc)
      } catch {
        continue
      }
      try {
        const opened = await identities.open(sealed)
        if (opened) return Buffer.from(opened)
      } catch {
        // A stanza an identity matched but could not open (tampered): try the others, as sops does.
      }
    }
  }
  return undefined
}

function checkedKey(file: string, key: Buffer): Buffer {
  if (key.length !== 32) throw new SopsError('NO_KEY', file, `the data key of ${file} is ${key.length} bytes long, not 32`, {hint: 'The file is damaged; decrypt it from an earlier revision.'})
  return key
}

function describeKeys(group: KeyGroup): string {
  return [...group.age.map((stanza) => `age ${stanza.recipient}`), ...group.others].join(', ') || 'none'
}

function noKey(file: string, groups: KeyGroup[], identities: AgeIdentitySet): SopsError {
  const recipients = groups.flatMap((group) => group.age.map((stanza) => stanza.recipient))
  const others = groups.flatMap((group) => group.others)
  const found = identities.size === 0 ? 'no age identity was found' : `none of the ${identities.size} age identities found matches`
  const details = [...identities.problems, ...identities.unsupported]
  const looked = identities.looked.length > 0 ? identities.looked.join(', ') : 'SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, SOPS_AGE_KEY_CMD and ~/.config/sops/age/keys.txt are all unset or missing'
  const message =
    `no key could decrypt the data key of ${file}: ${found} (recipients: ${recipients.join(', ') || 'none'})` +
    (details.length > 0 ? `; ${details.join('; ')}` : '') +
    `; looked in: ${looked}`
  const hint =
    'Point SOPS_AGE_KEY_FILE at the age key file of one of these recipients (or set SOPS_AGE_KEY / pass --age-key-file).' +
    (others.length > 0 || identities.unsupported.length > 0 ? ` The file is also encrypted to ${others.join(', ') || 'keys'} that only the sops binary can use: install it or set SOPS_BIN.` : '')
  return new SopsError('NO_KEY', file, message, {hint})
}

/** Shamir secret sharing over GF(2^8) as sops (after HashiCorp Vault) does it: each share ends with its x coordinate. */
export function combineShares(file: string, parts: Buffer[]): Buffer {
  const length = parts[0].length
  if (parts.length < 2 || length < 2 || parts.some((part) => part.length !== length)) {
    throw new SopsError('NO_KEY', file, `the key group shares of ${file} do not fit together`, {hint: 'The file is damaged; decrypt it from an earlier revision.'})
  }
  const xs = parts.map((part) => part[length - 1])
  if (new Set(xs).size !== xs.length) throw new SopsError('NO_KEY', file, `two key group shares of ${file} are the same share`, {hint: 'The file is damaged; decrypt it from an earlier revision.'})
  const secret = Buffer.alloc(length - 1)
  for (let index = 0; index < secret.length; index++) {
    let result = 0
    for (let i = 0; i < parts.length; i++) {
      let basis = 1
      for (let j = 0; j < parts.length; j++) {
        if (i === j) continue
        basis = gfMultiply(basis, gfMultiply(xs[j], gfInverse(xs[i] ^ xs[j])))
      }
      result ^= gfMultiply(parts[i][index], basis)
    }
    secret[index] = result
  }
  return secret
}

function gfMultiply(a: number, b: number): number {
  let result = 0
  for (let bit = 7; bit >= 0; bit--) {
    result = ((result << 1) ^ (result & 0x80 ? 0x1b : 0)) & 0xff
    if ((b >> bit) & 1) result ^= a
  }
  return result
}

function gfInverse(a: number): number {
  // a^254 = a^-1 in GF(2^8).
  let result = 1
  for (let exponent = 0; exponent < 254; exponent++) result = gfMultiply(result, a)
  return result
}
