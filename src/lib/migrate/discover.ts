import {existsSync} from 'node:fs'
import {readdir, readFile, stat} from 'node:fs/promises'
import {dirname, join, relative, resolve, sep} from 'node:path'

import ignore, {type Ignore} from 'ignore'

import {ToolkitError} from '../errors/errors.js'
import {detectSops, isSopsConfigFile, type SopsFormat} from '../sops/detect.js'

/** A SOPS file found by its content. The bytes are ciphertext and metadata only. */
export interface FoundSopsFile {
  path: string
  /** Relative to the working directory: what reports and labels show. */
  displayPath: string
  format: SopsFormat
  content: Buffer
}

export interface Discovery {
  sopsFiles: FoundSopsFile[]
  /** `.sops.yaml` creation-rule files: they go away after the migration. */
  configFiles: string[]
  /** Files passed over and why (too large, unreadable). */
  skipped: {path: string; reason: string}[]
  filesRead: number
}

/** Larger files are not SOPS documents a Kubernetes Secret could hold (1 MiB limit). */
const MAX_FILE_BYTES = 8 * 1024 * 1024

interface IgnoreScope {
  base: string
  rules: Ignore
}

async function readIgnoreFile(directory: string): Promise<IgnoreScope | undefined> {
  try {
    const text = await readFile(join(directory, '.gitignore'), 'utf8')
    return {base: directory, rules: ignore().add(text)}
  } catch {
    return undefined
  }
}

function isIgnored(scopes: IgnoreScope[], path: string, isDirectory: boolean): boolean {
  for (const scope of scopes) {
    const rel = relative(scope.base, path).split(sep).join('/')
    if (rel === '' || rel.startsWith('..')) continue
    if (scope.rules.ignores(isDirectory ? `${rel}/` : rel)) return true
  }
  return false
}

/** The repository root above `start`, so that its .gitignore files apply as git applies them. */
function gitRootOf(start: string): string | undefined {
  let directory = start
  for (;;) {
    if (existsSync(join(directory, '.git'))) return directory
    const parent = dirname(directory)
    if (parent === directory) return undefined
    directory = parent
  }
}

async function scopesDownTo(directory: string): Promise<IgnoreScope[]> {
  const root = gitRootOf(directory)
  if (!root) return []
  const chain: string[] = []
  for (let current = dirname(directory); current.startsWith(root) && current !== dirname(root); current = dirname(current)) {
    chain.unshift(current)
    if (current === root) break
  }
  const scopes: IgnoreScope[] = []
  for (const dir of chain) {
    const scope = await readIgnoreFile(dir)
    if (scope) scopes.push(scope)
  }
  return scopes
}

/**
 * Walks the given paths and finds SOPS files by content — real repositories
 * name them *.sops.yaml, *.enc.json, secret.enc.yaml, values.sops.yml.j2… —
 * honouring .gitignore as git does (the repository's files above the start
 * path, and every nested one). `.git` is never entered.
 */
export async function discoverSopsFiles(paths: string[], options: {cwd?: string} = {}): Promise<Discovery> {
  const cwd = options.cwd ?? process.cwd()
  const result: Discovery = {sopsFiles: [], configFiles: [], skipped: [], filesRead: 0}
  const seen = new Set<string>()

  const visitFile = async (path: string): Promise<void> => {
    if (seen.has(path)) return
    seen.add(path)
    const displayPath = relative(cwd, path) || path
    if (isSopsConfigFile(path)) result.configFiles.push(displayPath)
    const info = await stat(path)
    if (info.size > MAX_FILE_BYTES) {
      result.skipped.push({path: displayPath, reason: `larger than ${MAX_FILE_BYTES / 1024 / 1024} MiB`})
      return
    }
    let content: Buffer
    try {
      content = await readFile(path)
    } catch (error) {
      result.skipped.push({path: displayPath, reason: `unreadable (${(error as NodeJS.ErrnoException).code ?? 'error'})`})
      return
    }
    result.filesRead += 1
    const detected = detectSops(content)
    if (detected) result.sopsFiles.push({path, displayPath, format: detected.format, content})
  }

  const walk = async (directory: string, scopes: IgnoreScope[]): Promise<void> => {
    const own = await readIgnoreFile(directory)
    const active = own ? [...scopes, own] : scopes
    const entries = await readdir(directory, {withFileTypes: true})
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    for (const entry of entries) {
      if (entry.name === '.git') continue
      const path = join(directory, entry.name)
      if (entry.isDirectory()) {
        if (!isIgnored(active, path, true)) await walk(path, active)
      } else if (entry.isFile() && !isIgnored(active, path, false)) {
        await visitFile(path)
      }
    }
  }

  for (const given of paths.length > 0 ? paths : ['.']) {
    const path = resolve(cwd, given)
    let info
    try {
      info = await stat(path)
    } catch {
      throw new ToolkitError('PATH_NOT_FOUND', `${given} does not exist`, {hint: 'Pass the directories or files that hold the SOPS files (default: the current directory).'})
    }
    // A file named explicitly is read even if .gitignore lists it: the operator asked for it.
    if (info.isFile()) await visitFile(path)
    else await walk(path, await scopesDownTo(path))
  }
  result.sopsFiles.sort((a, b) => (a.displayPath < b.displayPath ? -1 : 1))
  result.configFiles.sort()
  return result
}
