import {minimatch} from 'minimatch'

import {ToolkitError} from '../errors/errors.js'

/**
 * Which keys a run may read and touch: the `--path` prefix minus the
 * `--exclude` globs. The planner checks every key against it again, so a
 * repair can never reach outside what was walked.
 */
export interface KeyScope {
  prefix: string
  exclude: string[]
  includes(key: string): boolean
}

/** `apps/x` and `apps/x/` both mean "the key apps/x and everything under the folder apps/x/". */
export function normalizePrefix(prefix: string | undefined): string {
  return (prefix ?? '').replace(/^\/+/, '')
}

export function underPrefix(key: string, prefix: string): boolean {
  if (prefix === '') return true
  const folder = prefix.endsWith('/') ? prefix : `${prefix}/`
  return key === prefix.replace(/\/$/, '') || key.startsWith(folder)
}

/**
 * A glob on a full key: `*` and `?` stay within one path segment, `**`
 * crosses segments, `\` escapes. A glob that matches a folder excludes
 * everything below it, so `apps/legacy` and `apps/legacy/**` are the same.
 */
export function globToRegExp(glob: string): RegExp {
  const pattern = glob.replace(/^\/+/, '').replace(/\/+$/, '')
  if (pattern === '') {
    throw new ToolkitError('BAD_EXCLUDE', `--exclude "${glob}" is empty`, {hint: 'Give a glob on the key path, e.g. --exclude "apps/*/tmp" or --exclude "**/scratch".'})
  }
  // minimatch's globstar semantics are the ones documented above; `dot` because
  // Vault keys that start with a dot are keys like any other. The braces add
  // the folder form, so a glob naming a folder also matches what is below it.
  const matcher = minimatch.makeRe(`${pattern}{,/**}`, {dot: true, nonegate: true, nocomment: true})
  if (!matcher) throw new ToolkitError('BAD_EXCLUDE', `--exclude "${glob}" is not a valid glob`, {hint: 'Use *, ? and ** on the key path; escape special characters with \\.'})
  return matcher
}

export function keyScope(prefix: string | undefined, exclude: string[] = []): KeyScope {
  const normalized = normalizePrefix(prefix)
  const matchers = exclude.map((glob) => globToRegExp(glob))
  return {
    prefix: normalized,
    exclude: [...exclude],
    includes: (key) => underPrefix(key, normalized) && !matchers.some((matcher) => matcher.test(key)),
  }
}
