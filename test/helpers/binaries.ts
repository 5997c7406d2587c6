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

/** The binaries of the integration environment every run starts. */
export type TestBinary = 'sops' | 'bao' | 'etcd' | 'kube-apiserver' | 'eso' | 'kubectl'
/** Flux's controllers: started only by the tests that reconcile a GitOps repository (test/env/flux.ts). */
export type FluxBinary = 'flux-source-controller' | 'flux-kustomize-controller'
/** Started or run only by the tests that need them: the S3-compatible server (test/env/s3.ts) and Helm (chart tests). */
export type ToolBinary = 'versitygw' | 'helm'

/** The ESO versions the test environment can run; TEST_ESO_VERSION picks one (scripts/test-env/binaries.sh). */
export const ESO_VERSIONS = ['v0.20.4', 'v2.9.0'] as const
export type EsoVersion = (typeof ESO_VERSIONS)[number]
export const DEFAULT_ESO_VERSION: EsoVersion = 'v2.9.0'

/** The ESO release this run uses, from TEST_ESO_VERSION (binaries.sh refuses any other value). */
export function esoVersion(env: NodeJS.ProcessEnv = process.env): EsoVersion {
  const chosen = env.TEST_ESO_VERSION || DEFAULT_ESO_VERSION
  if (!(ESO_VERSIONS as readonly string[]).includes(chosen)) throw new Error(`TEST_ESO_VERSION must be one of ${ESO_VERSIONS.join(', ')}, not ${chosen}`)
  return chosen as EsoVersion
}

/**
 * The path of a real test binary: from its *_BIN variable, the cache, or
 * built from source now. A missing binary fails the test with the command
 * that provides it — tests never skip silently.
 */
export function requireBinary(name: TestBinary | FluxBinary | ToolBinary): string {
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
