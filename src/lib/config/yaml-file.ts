import {closeSync, readFileSync} from 'node:fs'

import {parseDocument, visit, type Document, type ErrorCode} from 'yaml'

import {ToolkitError} from '../errors/errors.js'
import {openRegularFileSync, RegularFileProblem} from '../files/regular-file.js'

/**
 * Parsing of YAML files that can hold credentials (the toolkit
 * configuration, a bootstrap spec, a kubeconfig). A parser's own message is
 * never shown: with `prettyErrors` it quotes the offending lines (a token
 * included), and even without it several messages embed the source text
 * (`Invalid escape sequence \x…`, `Unexpected <token>`). The operator gets
 * the file, line, column and the kind of problem, written by us.
 */

const PROBLEMS: Record<ErrorCode, string> = {
  ALIAS_PROPS: 'an alias cannot have an anchor or a tag',
  BAD_ALIAS: 'an alias refers to an anchor that is not defined before it',
  BAD_DIRECTIVE: 'a %-directive is malformed',
  BAD_DQ_ESCAPE: 'a double-quoted string holds an invalid escape sequence',
  BAD_INDENT: 'the indentation is wrong',
  BAD_PROP_ORDER: 'an anchor or tag is in the wrong place',
  BAD_SCALAR_START: 'a plain value starts with a reserved character (quote it)',
  BLOCK_AS_IMPLICIT_KEY: 'a block collection is used as a key',
  BLOCK_IN_FLOW: 'a block collection is inside a flow collection ([...] or {...})',
  DUPLICATE_KEY: 'a key is repeated in the same mapping',
  IMPOSSIBLE: 'the YAML structure is not valid',
  KEY_OVER_1024_CHARS: 'an implicit key is longer than 1024 characters',
  MISSING_CHAR: 'a character is missing (an unclosed quote or bracket, or a missing ":" or ",")',
  MULTILINE_IMPLICIT_KEY: 'a key spans several lines (a missing ":" or wrong indentation above it?)',
  MULTIPLE_ANCHORS: 'a node has more than one anchor',
  MULTIPLE_DOCS: 'the file holds more than one YAML document',
  MULTIPLE_TAGS: 'a node has more than one tag',
  NON_STRING_KEY: 'a key is not a string',
  RESOURCE_EXHAUSTION: 'it is nested too deeply',
  TAB_AS_INDENT: 'a tab is used for indentation',
  TAG_RESOLVE_FAILED: 'a tag cannot be resolved',
  UNEXPECTED_TOKEN: 'unexpected content (an unclosed quote or bracket, or wrong indentation?)',
  BAD_COLLECTION_TYPE: 'a tag does not fit its collection',
}

export interface YamlFileErrorOptions {
  /** The ToolkitError code, e.g. CONFIG_INVALID. */
  code: string
  /** What the file is, for the message: "bootstrap spec /x/spec.yaml". */
  what: string
  hint: string
}

/** `line 3, column 7` (1-based) of a 0-based offset into the text. */
export function positionOf(text: string, offset: number): {line: number; column: number} {
  let line = 1
  let lineStart = 0
  for (let index = text.indexOf('\n'); index !== -1 && index < offset; index = text.indexOf('\n', index + 1)) {
    line++
    lineStart = index + 1
  }
  return {line, column: offset - lineStart + 1}
}

/** The error for a file that does not parse: where and what, never the file's text. */
export function yamlSyntaxError(options: YamlFileErrorOptions, where: {line: number; column: number} | undefined, problem: string, more = 0): ToolkitError {
  const at = where ? ` at line ${where.line}, column ${where.column}` : ''
  const others = more > 0 ? ` (and ${more} more problem${more === 1 ? '' : 's'})` : ''
  return new ToolkitError(options.code, `${options.what} is not valid YAML${at}: ${problem}${others}`, {hint: options.hint})
}

/**
 * The file's single YAML document as plain data (YAML 1.2 core schema, as the
 * Kubernetes client reads kubeconfigs), or a ToolkitError naming the file,
 * line, column and problem.
 */
export function parseYamlFile(text: string, options: YamlFileErrorOptions): unknown {
  let document: Document.Parsed
  try {
    document = parseDocument(text, {prettyErrors: false, uniqueKeys: true})
  } catch (error) {
    // Deeply nested input overflows the parser's stack; its message is not shown either.
    throw yamlSyntaxError(options, undefined, error instanceof RangeError ? 'it is nested too deeply' : 'it cannot be parsed')
  }
  const [first, ...rest] = document.errors
  if (first) {
    const problem = PROBLEMS[first.code] ?? 'the YAML structure is not valid'
    throw yamlSyntaxError(options, positionOf(text, first.pos[0]), problem, rest.length)
  }
  try {
    return document.toJS({maxAliasCount: 100})
  } catch (error) {
    if (error instanceof RangeError) throw yamlSyntaxError(options, undefined, 'it is nested too deeply')
    // toJS names an unresolved alias by its text; find where it is instead.
    const unresolved = unresolvedAliasOffset(document)
    if (unresolved !== undefined) throw yamlSyntaxError(options, positionOf(text, unresolved), PROBLEMS.BAD_ALIAS)
    throw yamlSyntaxError(options, undefined, 'its aliases expand to too much data')
  }
}

function unresolvedAliasOffset(document: Document.Parsed): number | undefined {
  let offset: number | undefined
  try {
    visit(document, {
      Alias(_key, alias) {
        if (alias.resolve(document) !== undefined) return undefined
        offset = alias.range?.[0]
        return visit.BREAK
      },
    })
  } catch {
    // A tree too deep to walk: the caller reports the problem without a position.
  }
  return offset
}

/**
 * The text of a YAML file the operator named, or a ToolkitError with its
 * path and the system's reason (never its content). Only regular files: a
 * FIFO or device named by mistake would block or never end.
 */
export function readYamlFileText(path: string, options: YamlFileErrorOptions): string {
  let descriptor: number
  try {
    descriptor = openRegularFileSync(path).fd
  } catch (error) {
    if (error instanceof RegularFileProblem && error.kind === 'not-regular') throw new ToolkitError(options.code, `${options.what} is not a regular file`, {hint: options.hint})
    if (error instanceof RegularFileProblem) throw new ToolkitError(options.code, `cannot read ${options.what} (${error.errno ?? 'unreadable'})`, {hint: options.hint})
    throw error
  }
  try {
    return readFileSync(descriptor, 'utf8')
  } catch (error) {
    throw new ToolkitError(options.code, `cannot read ${options.what} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`, {hint: options.hint})
  } finally {
    closeSync(descriptor)
  }
}
