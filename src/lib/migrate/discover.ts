import {existsSync} from 'node:fs'
import {readdir, stat} from 'node:fs/promises'
import {dirname, join, relative, resolve, sep} from 'node:path'

import ignore, {type Ignore} from 'ignore'

import {ToolkitError} from '../errors/errors.js'
import {displayText} from '../report/display.js'
import {detectSops, isSopsConfigFile, MAX_SOPS_FILE_BYTES, type SopsFormat} from '../sops/detect.js'
import {fileKind, FileReadProblem, hasSopsMarkers, readRegularFile} from '../sops/read-file.js'

/**
 * A SOPS file found by its content. Its bytes are not kept: the plan reads
 * each file again when it decrypts it, so memory holds a few files at a
 * time, not every file of a large tree.
 */
export interface FoundSopsFile {
  path: string
  /** Relative to the working directory: what reports and labels show (escape it with displayText before printing). */
  displayPath: string
  format: SopsFormat
  /** Bytes when it was read: the plan keeps the bytes in flight bounded by it. */
  size: number
}

/** A file that carries sops' marks but cannot be read as a SOPS file (too large): a per-file error of the plan. */
export interface RefusedFile {
  path: string
  displayPath: string
  code: string
  message: string
}

export interface Discovery {
  sopsFiles: FoundSopsFile[]
  /** `.sops.yaml` creation-rule files: they go away after the migration. */
  configFiles: string[]
  /** Files passed over and why (symbolic links, pipes and devices, too large without sops marks, unreadable). */
  skipped: {path: string; reason: string}[]
  refused: RefusedFile[]
  filesRead: number
}

interface IgnoreScope {
  base: string
  rules: Ignore
}

async function readIgnoreFile(directory: string): Promise<IgnoreScope | undefined> {
  try {
    // A regular file only: a FIFO named .gitignore must not stall the walk.
    const text = (await readRegularFile(join(directory, '.gitignore'), 4 * 1024 * 1024)).toString('utf8')
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
 * path, and every nested one). `.git` is never entered. Only regular files
 * are read: symbolic links are not followed, and pipes, devices and sockets
 * are never opened for reading — each is named in `skipped`. A path named
 * explicitly that is none of file, directory (or a link to one) is refused.
 */
export async function discoverSopsFiles(paths: string[], options: {cwd?: string} = {}): Promise<Discovery> {
  const cwd = options.cwd ?? process.cwd()
  const result: Discovery = {sopsFiles: [], configFiles: [], skipped: [], refused: [], filesRead: 0}
  const seen = new Set<string>()

  const visitFile = async (path: string): Promise<void> => {
    if (seen.has(path)) return
    seen.add(path)
    const displayPath = relative(cwd, path) || path
    if (isSopsConfigFile(path)) result.configFiles.push(displayPath)
    let content: Buffer
    try {
      content = await readRegularFile(path, MAX_SOPS_FILE_BYTES)
    } catch (error) {
      if (!(error instanceof FileReadProblem)) throw error
      if (error.kind === 'too-large' && (await hasSopsMarkers(path).catch(() => false))) {
        result.refused.push({path, displayPath, code: 'FILE_TOO_LARGE', message: `${displayPath} ${error.message}`})
      } else {
        result.skipped.push({path: displayPath, reason: error.kind === 'too-large' ? `${error.message.replace(/^is /, '')} (no sops marks in its first and last MiB)` : error.message.replace(/^is /, '')})
      }
      return
    }
    result.filesRead += 1
    const detected = detectSops(content)
    if (detected) result.sopsFiles.push({path, displayPath, format: detected.format, size: content.length})
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
      } else if (isIgnored(active, path, false)) {
        continue
      } else if (entry.isFile()) {
        await visitFile(path)
      } else {
        // A link could lead out of the tree or into a loop, and a pipe or device never ends: name it, read nothing.
        const reason = entry.isSymbolicLink() ? 'a symbolic link, not followed (name its target to migrate it)' : `${fileKind(entry)}, not a regular file: not read`
        result.skipped.push({path: relative(cwd, path) || path, reason})
      }
    }
  }

  for (const given of paths.length > 0 ? paths : ['.']) {
    const path = resolve(cwd, given)
    let info
    try {
      info = await stat(path)
    } catch {
      throw new ToolkitError('PATH_NOT_FOUND', `${displayText(given)} does not exist`, {hint: 'Pass the directories or files that hold the SOPS files (default: the current directory).'})
    }
    // A file named explicitly is read even if .gitignore lists it: the operator asked for it.
    if (info.isFile()) await visitFile(path)
    else if (info.isDirectory()) await walk(path, await scopesDownTo(path))
    else {
      throw new ToolkitError('NOT_A_FILE', `${displayText(given)} is ${fileKind(info)}, not a SOPS file or a directory; nothing was read from it`, {
        hint: 'Name the SOPS files or the directories that hold them; pipes, devices and sockets are never read.',
      })
    }
  }
  result.sopsFiles.sort((a, b) => (a.displayPath < b.displayPath ? -1 : 1))
  result.refused.sort((a, b) => (a.displayPath < b.displayPath ? -1 : 1))
  result.configFiles.sort()
  return result
}
