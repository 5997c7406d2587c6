import {execFileSync} from 'node:child_process'
import {cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'

import {stageBackup, stageCleanup, stagePlan, stagePreflight, stageRescan, stageRewrite} from '../../../src/lib/git/scrub.js'
import {PROJECT_ROOT} from '../../helpers/binaries.js'

/** Shared by the test/local/hardening/git-*.test.ts files: small real repositories built with real git. */
export const EXAMPLE_REPO = resolve(PROJECT_ROOT, 'examples/gitops')
export const DEMO_KEY_FILE = join(EXAMPLE_REPO, 'DEMO-age-key.txt')

const IDENTITY = {GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com'}

export function sh(repo: string, ...args: string[]): string {
  return execFileSync('git', ['-C', repo, ...args], {encoding: 'utf8', env: {...process.env, ...IDENTITY}, maxBuffer: 1 << 28, stdio: ['pipe', 'pipe', 'pipe']}).trim()
}

export function workDir(prefix: string): {dir: string; cleanup: () => void} {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return {dir, cleanup: () => rmSync(dir, {recursive: true, force: true})}
}

export function newRepo(dir: string): string {
  execFileSync('git', ['init', '--quiet', '--initial-branch=main', dir])
  return dir
}

export function write(repo: string, path: string, content: string | Buffer): void {
  mkdirSync(dirname(join(repo, path)), {recursive: true})
  writeFileSync(join(repo, path), content)
}

export function commitAll(repo: string, message: string): string {
  sh(repo, 'add', '-A')
  sh(repo, 'commit', '--quiet', '--allow-empty', '-m', message)
  return sh(repo, 'rev-parse', 'HEAD')
}

/** The bundled example GitOps repository as a Git repository (without the demo key). */
export function exampleRepo(dir: string): string {
  cpSync(EXAMPLE_REPO, dir, {recursive: true, filter: (source) => !source.endsWith('DEMO-age-key.txt')})
  newRepo(dir)
  commitAll(dir, 'the example platform')
  return dir
}

export function freshCloneOf(source: string, dir: string, extra: string[] = []): string {
  execFileSync('git', ['clone', '--quiet', '--no-local', ...extra, source, dir], {stdio: 'ignore'})
  return dir
}

/** Every scrub stage in order, without the confirmation gate: what the tests run end to end. */
export const ALL_SCRUB_STAGES = [
  {name: 'preflight', run: stagePreflight},
  {name: 'plan', run: stagePlan},
  {name: 'backup', run: stageBackup},
  {name: 'rewrite', run: stageRewrite},
  {name: 'cleanup', run: stageCleanup},
  {name: 'rescan', run: stageRescan},
]
