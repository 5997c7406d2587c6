import {execFileSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

/** The project root: the nearest package.json above this file (it also runs compiled, from test-output/.build). */
function findProjectRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir
    if (dirname(dir) === dir) throw new Error(`no package.json above ${start}`)
  }
}

export const PROJECT_ROOT = findProjectRoot(dirname(fileURLToPath(import.meta.url)))
const SCRIPT = resolve(PROJECT_ROOT, 'scripts/test-env/binaries.sh')

export type TestBinary = 'sops' | 'bao' | 'etcd' | 'kube-apiserver' | 'eso' | 'kubectl'

/**
 * The path of a real test binary: from its *_BIN variable, the cache, or
 * built from source now. A missing binary fails the test with the command
 * that provides it — tests never skip silently.
 */
export function requireBinary(name: TestBinary): string {
  try {
    const out = execFileSync(SCRIPT, ['ensure', name], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit']})
    const line = out.split('\n').find((l) => l.startsWith(`${name}=`))
    const path = line?.slice(name.length + 1)
    if (!path) throw new Error(`no path printed for ${name}`)
    return path
  } catch (error) {
    throw new Error(`the real ${name} binary is required and could not be provided (${(error as Error).message}).\n` + `Run: scripts/test-env/binaries.sh ensure ${name}   (needs Go and the Go module proxy; see docs/testing.md)`)
  }
}
