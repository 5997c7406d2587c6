// The one leak checker of the tests. A secret value must reach its
// destination (Kubernetes, the Vaults) and turn up nowhere else: not on the
// screen, in the program's output, in files written while a test ran (under
// the project and the temp directory), nor in any process's arguments.
import {randomBytes} from 'node:crypto'
import {execFileSync} from 'node:child_process'
import {lstatSync, readdirSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {PROJECT_ROOT} from './binaries.js'

/** A value that must reach its destination (Kubernetes, the Vaults) and appear nowhere else. */
export function canary(label: string): string {
  return `canary-${label}-${randomBytes(8).toString('hex')}`
}

/** The value and the encodings a careless write would use. */
export function forms(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8')
  return [value, bytes.toString('base64').replace(/=+$/, ''), bytes.toString('hex'), encodeURIComponent(value)]
}

/** The values (by label) whose forms occur in `text`. */
export function leaks(text: string | Buffer, values: Record<string, string>): string[] {
  const haystack = Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8')
  return Object.entries(values)
    .filter(([, value]) => forms(value).some((form) => haystack.includes(Buffer.from(form, 'utf8'))))
    .map(([label]) => label)
}

export function expectNoLeak(text: string | Buffer, values: Record<string, string>, where: string): void {
  const found = leaks(text, values)
  if (found.length > 0) throw new Error(`${found.join(', ')} appeared in ${where}`)
}

const SKIP_DIRECTORIES = new Set(['node_modules', '.git'])
const MAX_FILE_BYTES = 64 * 1024 * 1024

/**
 * Files modified since `sinceMs` under the project and the temp directory,
 * except `exclude` (destinations that hold values by design, such as etcd's
 * data directory) and the session machinery's own job directories.
 */
export function filesWrittenSince(sinceMs: number, exclude: string[]): string[] {
  const found: string[] = []
  const excluded = (path: string) => exclude.some((prefix) => path === prefix || path.startsWith(`${prefix}/`)) || /\/bash_jobs\.[^/]*$/.test(path)
  const walk = (dir: string) => {
    let entries: string[]
    try {
      entries = readdirSync(dir)
    } catch {
      return
    }
    for (const entry of entries) {
      const path = join(dir, entry)
      if (excluded(path)) continue
      let stat
      try {
        stat = lstatSync(path)
      } catch {
        continue
      }
      if (stat.isDirectory()) {
        if (!SKIP_DIRECTORIES.has(entry)) walk(path)
      } else if (stat.isFile() && stat.mtimeMs >= sinceMs && stat.size <= MAX_FILE_BYTES) {
        found.push(path)
      }
    }
  }
  walk(PROJECT_ROOT)
  walk(tmpdir())
  return found
}

export function expectNoLeakInFiles(sinceMs: number, values: Record<string, string>, exclude: string[]): number {
  const files = filesWrittenSince(sinceMs, exclude)
  for (const file of files) {
    let content: Buffer
    try {
      content = readFileSync(file)
    } catch {
      continue
    }
    expectNoLeak(content, values, `the file ${file}`)
  }
  return files.length
}

/** Every process's full argument list, right now. */
export function processArguments(): string {
  return execFileSync('ps', ['-eo', 'args', '--no-headers', '-ww'], {encoding: 'utf8', maxBuffer: 64 * 1024 * 1024})
}

/** The canaries any of whose forms (text, base64 as a Secret's data holds it, hex, URL-encoded) occur in `haystack`. */
export function leaked(haystack: string | Buffer, canaries: string[]): string[] {
  return leaks(haystack, Object.fromEntries(canaries.map((value) => [value, value])))
}

/** Fails with the text just before the first canary found (the canary itself is not shown). */
export function expectNoCanary(texts: string[], canaries: string[]): void {
  for (const text of texts) {
    for (const value of canaries) {
      if (text.includes(value)) throw new Error(`a canary value leaked into output: …${text.slice(Math.max(0, text.indexOf(value) - 200), text.indexOf(value))}[CANARY]`)
    }
  }
}
