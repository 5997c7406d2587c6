import {ToolkitError} from '../errors/errors.js'
import {displayText} from '../report/display.js'
import {parseYamlFile, readYamlFileText, yamlSyntaxError, type YamlFileErrorOptions} from './yaml-file.js'

/**
 * A kubeconfig holds tokens, passwords and client keys. Before the Kubernetes
 * client reads one, the toolkit parses and shape-checks it itself, so that a
 * broken file is reported by file, line, column and problem: the client's
 * parser (js-yaml) would put the offending lines, a token included, into its
 * error message.
 */

export const KUBECONFIG_HINT = 'Fix the file (`kubectl config view` shows what kubectl reads), or point --kubeconfig / $KUBECONFIG at another one. Its content is not shown because it holds credentials.'

function errorOptions(file: string): YamlFileErrorOptions {
  return {code: 'KUBECONFIG_INVALID', what: `kubeconfig ${displayText(file)}`, hint: KUBECONFIG_HINT}
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The file's text (regular files only), or a ToolkitError with its path and the system's reason. */
export function readKubeconfigText(file: string): string {
  return readYamlFileText(file, {...errorOptions(file), hint: 'Check KUBECONFIG / --kubeconfig (or kubernetes.kubeconfig in the configuration) and the file\'s permissions.'})
}

/** Throws a ToolkitError naming the file and what is wrong (never its text) unless the text is a kubeconfig the client can take. */
export function checkKubeconfigText(text: string, file: string): void {
  const data = parseYamlFile(text, errorOptions(file))
  const what = `kubeconfig ${displayText(file)}`
  if (data === null || data === undefined) {
    throw new ToolkitError('KUBECONFIG_INVALID', `${what} is empty`, {hint: KUBECONFIG_HINT})
  }
  if (!isMapping(data)) throw new ToolkitError('KUBECONFIG_INVALID', `${what} is not a kubeconfig: its top level is not a mapping`, {hint: KUBECONFIG_HINT})
  for (const list of ['clusters', 'users', 'contexts'] as const) {
    const entries = data[list]
    if (entries === undefined || entries === null) continue
    if (!Array.isArray(entries)) throw new ToolkitError('KUBECONFIG_INVALID', `${what}: ${list} is not a list`, {hint: KUBECONFIG_HINT})
    for (const [index, entry] of entries.entries()) {
      if (!isMapping(entry)) throw new ToolkitError('KUBECONFIG_INVALID', `${what}: ${list}[${index}] is not a mapping`, {hint: KUBECONFIG_HINT})
      const inner = entry[list === 'clusters' ? 'cluster' : list === 'users' ? 'user' : 'context']
      if (inner !== undefined && inner !== null && !isMapping(inner)) {
        throw new ToolkitError('KUBECONFIG_INVALID', `${what}: ${list}[${index}].${list.slice(0, -1)} is not a mapping`, {hint: KUBECONFIG_HINT})
      }
    }
  }
}

// client-node's own checks name only a position in the file (`clusters[0].cluster.server is missing`) or an entry's name.
const CLIENT_MESSAGE = /^(?:(?:clusters|users|contexts)\[\d+\]\.[\w.-]+ is missing|Duplicate (?:cluster|user|context): .*)$/s

/**
 * What to say when the Kubernetes client still refuses a file that passed
 * `checkKubeconfigText`: its parser's position and our words, its own
 * checks' messages (names only), or the file name alone. The client's error
 * is not kept as the cause, so nothing can print its message later.
 */
export function kubeconfigClientError(file: string, error: unknown): ToolkitError {
  const what = `kubeconfig ${displayText(file)}`
  const failure = error as {name?: unknown; message?: unknown; mark?: {line?: unknown; column?: unknown}; code?: unknown; path?: unknown}
  if (failure?.name === 'YAMLException') {
    const {line, column} = failure.mark ?? {}
    const where = typeof line === 'number' && typeof column === 'number' ? {line: line + 1, column: column + 1} : undefined
    return yamlSyntaxError(errorOptions(file), where, 'the Kubernetes client cannot parse it')
  }
  if (typeof failure?.message === 'string' && CLIENT_MESSAGE.test(failure.message)) {
    return new ToolkitError('KUBECONFIG_INVALID', `${what}: ${displayText(failure.message)}`, {hint: KUBECONFIG_HINT})
  }
  if (typeof failure?.code === 'string' && /^E[A-Z]+$/.test(failure.code)) {
    // A token-file or certificate file the kubeconfig names.
    const path = typeof failure.path === 'string' ? ` ${displayText(failure.path)}` : ''
    return new ToolkitError('KUBECONFIG_INVALID', `${what}: cannot read the file${path} it names (${failure.code})`, {hint: 'Check the paths in the kubeconfig and their permissions.'})
  }
  return new ToolkitError('KUBECONFIG_INVALID', `${what}: the Kubernetes client cannot load it`, {hint: KUBECONFIG_HINT})
}
