import type {SecretValue} from '../secret/secret-value.js'
import type {SopsFormat} from './detect.js'

export type SopsEngine = 'auto' | 'sops' | 'builtin'

export interface DecryptOptions {
  /** Extra AGE-SECRET-KEY-1… identities, in addition to the environment's. */
  ageKeys?: string[]
  ignoreMac?: boolean
  /** auto: the sops binary when installed (SOPS_BIN or PATH), else builtin. */
  engine?: SopsEngine
  /** Defaults to process.env (SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, SOPS_AGE_KEY_CMD, XDG_CONFIG_HOME/HOME, SOPS_BIN, GNUPGHOME). */
  env?: NodeJS.ProcessEnv
  /** Already-read file bytes (avoids a second read); the path still names the file in errors. */
  content?: Buffer
  /** The format detection already found for this file (skips a second parse of it for detection). */
  format?: SopsFormat
}

/** A decrypted document: every scalar leaf is a SecretValue tagged with its JSON type. */
export type SopsTree = SecretValue | null | SopsTree[] | {[key: string]: SopsTree}

export interface DecryptedSops {
  path: string
  format: SopsFormat
  engine: 'sops' | 'builtin'
  documents: SopsTree[]
}
