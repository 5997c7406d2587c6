import {execFileSync} from 'node:child_process'
import {dirname, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
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
