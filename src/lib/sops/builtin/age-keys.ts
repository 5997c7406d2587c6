import {execFile} from 'node:child_process'
import {createHash} from 'node:crypto'
import {readFile, stat} from 'node:fs/promises'
import {isAbsolute, join} from 'node:path'

import {Decrypter, identityToRecipient} from 'age-encryption'

/**
 * The age identities sops would use, from the same places: SOPS_AGE_KEY
 * (several keys a line allowed), SOPS_AGE_KEY_FILE, SOPS_AGE_KEY_CMD (run
 * per recipient with SOPS_AGE_RECIPIENT set, as sops does) and
 * $XDG_CONFIG_HOME/sops/age/keys.txt, else ~/.config/sops/age/keys.txt —
 * plus the caller's own. Key material stays in memory; problems are
 * described by source and line number only.
 */
export class AgeIdentitySet {
  readonly #identities: string[] = []
  readonly #recipients = new Set<string>()
  readonly #decrypter = new Decrypter()
  readonly #command: {line: string; env: NodeJS.ProcessEnv} | undefined
  readonly #commandRuns = new Map<string, Promise<void>>()
  /** Where sops looks, for the operator: each names a source, never a key. */
  readonly looked: string[] = []
  readonly problems: string[] = []
  /** Identity kinds only the sops binary handles (plugins, passphrase-protected files). */
  readonly unsupported: string[] = []

  constructor(command?: {line: string; env: NodeJS.ProcessEnv}) {
    this.#command = command
  }

  get size(): number {
    return this.#identities.length
  }

  get hasCommand(): boolean {
    return this.#command !== undefined
  }

  holdsRecipient(recipient: string): boolean {
    return this.#recipients.has(recipient)
  }

  async add(source: string, text: string, manyPerLine: boolean): Promise<void> {
    const found: string[] = []
    if (text.startsWith('-----BEGIN AGE ENCRYPTED FILE-----') || text.startsWith('age-encryption.org/')) {
      this.unsupported.push(`${source} is a passphrase-protected identity file`)
      return
    }
    const lines = text.split('\n').map((line) => line.replace(/\r$/, ''))
    for (const [index, line] of lines.entries()) {
      if (line === '' || line.startsWith('#')) continue
      for (const word of manyPerLine ? line.split(/\s+/).filter(Boolean) : [line]) {
        if (word.startsWith('AGE-PLUGIN-')) {
          this.unsupported.push(`${source} line ${index + 1} is an age plugin identity`)
          continue
        }
        if (!word.startsWith('AGE-SECRET-KEY-1') && !word.startsWith('AGE-SECRET-KEY-PQ-1')) {
          // sops drops the whole source when one line is not an identity.
          this.problems.push(`${source} line ${index + 1} is not an age identity`)
          return
        }
        found.push(word)
      }
    }
    for (const [index, identity] of found.entries()) {
      let recipient: string
      try {
        recipient = await identityToRecipient(identity)
      } catch {
        this.problems.push(`${source} holds a malformed age identity (number ${index + 1})`)
        return
      }
      if (this.#recipients.has(recipient)) continue
      this.#recipients.add(recipient)
      this.#identities.push(identity)
      this.#decrypter.addIdentity(identity)
    }
  }

  /** Runs SOPS_AGE_KEY_CMD for this recipient once, adding what it prints. */
  async addFromCommand(recipient: string): Promise<void> {
    const command = this.#command
    if (!command) return
    let run = this.#commandRuns.get(recipient)
    if (!run) {
      run = (async () => {
        try {
          const output = await runKeyCommand(command.line, {...command.env, SOPS_AGE_RECIPIENT: recipient})
          await this.add('SOPS_AGE_KEY_CMD', output, false)
        } catch (error) {
          this.problems.push(`SOPS_AGE_KEY_CMD failed (${(error as Error).message})`)
        }
      })()
      this.#commandRuns.set(recipient, run)
    }
    await run
  }

  /** The 32-byte data key (or Shamir share) sealed in one age stanza, or undefined when no identity opens it. */
  async open(armored: Uint8Array): Promise<Uint8Array | undefined> {
    if (this.#identities.length === 0) return undefined
    try {
      return await this.#decrypter.decrypt(armored)
    } catch (error) {
      if (/no identity matched/.test((error as Error).message)) return undefined
      throw error
    }
  }
}

const cache = new Map<string, Promise<AgeIdentitySet>>()
const CACHE_LIMIT = 16

/** The identities for these options and environment, parsed once and reused while the key files are unchanged. */
export async function loadAgeIdentities(ageKeys: string[], env: NodeJS.ProcessEnv): Promise<AgeIdentitySet> {
  const keyFile = env.SOPS_AGE_KEY_FILE
  const configKeys = defaultKeysPath(env)
  const fingerprint = createHash('sha256')
  for (const part of [JSON.stringify(ageKeys), env.SOPS_AGE_KEY ?? '\0', keyFile ?? '\0', await stamp(keyFile), env.SOPS_AGE_KEY_CMD ?? '\0', configKeys ?? '\0', await stamp(configKeys)]) {
    fingerprint.update(part).update('\0')
  }
  const key = fingerprint.digest('hex')
  let loaded = cache.get(key)
  if (!loaded) {
    loaded = buildIdentitySet(ageKeys, env, keyFile, configKeys)
    cache.set(key, loaded)
    if (cache.size > CACHE_LIMIT) cache.delete(cache.keys().next().value!)
    loaded.catch(() => cache.delete(key))
  }
  return loaded
}

async function buildIdentitySet(ageKeys: string[], env: NodeJS.ProcessEnv, keyFile: string | undefined, configKeys: string | undefined): Promise<AgeIdentitySet> {
  const command = env.SOPS_AGE_KEY_CMD
  const set = new AgeIdentitySet(command === undefined ? undefined : {line: command, env})
  for (const [index, text] of ageKeys.entries()) await set.add(`age key ${index + 1} given to the toolkit`, text, true)
  if (env.SOPS_AGE_KEY !== undefined) {
    set.looked.push('SOPS_AGE_KEY')
    await set.add('SOPS_AGE_KEY', env.SOPS_AGE_KEY, true)
  }
  if (keyFile !== undefined) {
    set.looked.push(`SOPS_AGE_KEY_FILE (${keyFile})`)
    const text = await readKeyFile(keyFile)
    if (text === undefined) set.problems.push(`SOPS_AGE_KEY_FILE (${keyFile}) cannot be read`)
    else await set.add(`SOPS_AGE_KEY_FILE (${keyFile})`, text, false)
  }
  if (command !== undefined) set.looked.push('SOPS_AGE_KEY_CMD')
  if (configKeys !== undefined) {
    set.looked.push(configKeys)
    const text = await readKeyFile(configKeys)
    if (text !== undefined) await set.add(configKeys, text, false)
  }
  return set
}

/** os.UserConfigDir() on Linux: $XDG_CONFIG_HOME when absolute, else $HOME/.config. */
function defaultKeysPath(env: NodeJS.ProcessEnv): string | undefined {
  const xdg = env.XDG_CONFIG_HOME
  if (xdg) return isAbsolute(xdg) ? join(xdg, 'sops', 'age', 'keys.txt') : undefined
  return env.HOME ? join(env.HOME, '.config', 'sops', 'age', 'keys.txt') : undefined
}

async function stamp(path: string | undefined): Promise<string> {
  if (path === undefined) return '\0'
  try {
    const info = await stat(path)
    return `${info.mtimeMs}:${info.size}:${info.ino}`
  } catch {
    return 'missing'
  }
}

async function readKeyFile(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8')
  } catch {
    return undefined
  }
}

const KEY_COMMAND_TIMEOUT_MS = 60_000

function runKeyCommand(line: string, env: NodeJS.ProcessEnv): Promise<string> {
  const [program, ...args] = splitCommandLine(line)
  if (!program) return Promise.reject(new Error('it is empty'))
  return new Promise((resolve, reject) => {
    const child = execFile(program, args, {env, encoding: 'utf8', maxBuffer: 1 << 20, timeout: KEY_COMMAND_TIMEOUT_MS}, (error, stdout) => {
      // Its stderr and output may hold keys: report only how it ended.
      if (error) reject(new Error(typeof error.code === 'number' ? `exit code ${error.code}` : error.killed ? 'timed out' : `could not start ${program}`))
      else resolve(stdout)
    })
    child.stdin?.end()
  })
}

/** Splits a command line into words like a POSIX shell (quotes, backslashes), without running a shell. */
export function splitCommandLine(line: string): string[] {
  const words: string[] = []
  let word: string | undefined
  let quote: '"' | "'" | undefined
  for (let index = 0; index < line.length; index++) {
    const char = line[index]
    if (quote === "'") {
      if (char === "'") quote = undefined
      else word += char
    } else if (quote === '"') {
      if (char === '"') quote = undefined
      else if (char === '\\' && index + 1 < line.length && '"\\$`'.includes(line[index + 1])) word += line[++index]
      else word += char
    } else if (char === "'" || char === '"') {
      quote = char
      word ??= ''
    } else if (char === '\\' && index + 1 < line.length) {
      word = (word ?? '') + line[++index]
    } else if (/\s/.test(char)) {
      if (word !== undefined) words.push(word)
      word = undefined
    } else {
      word = (word ?? '') + char
    }
  }
  if (word !== undefined) words.push(word)
  return words
}
