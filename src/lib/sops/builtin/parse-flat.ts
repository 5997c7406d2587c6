import {FormatProblem} from './parse-yaml.js'
import {type SopsMap, type SopsNode, str} from './tree.js'

/**
 * A dotenv file as sops' dotenv store reads it: one `KEY=value` a line, split
 * at the first `=`, nothing trimmed, `\n` in a value meaning a newline; lines
 * starting with `#` are comments.
 */
export function parseDotenv(content: Buffer): SopsMap {
  const entries: SopsMap['entries'] = []
  const lines = content.toString('utf8').split('\n')
  for (const [index, line] of lines.entries()) {
    if (line.length === 0 || line.startsWith('#')) continue
    const equals = line.indexOf('=')
    if (equals === -1) throw new FormatProblem(`has a dotenv line without "=" (line ${index + 1})`)
    entries.push({key: line.slice(0, equals), value: str(line.slice(equals + 1).replaceAll('\\n', '\n'))})
  }
  return {kind: 'map', entries}
}

/**
 * An INI file as sops' INI store (gopkg.in/ini.v1, non-unique sections)
 * reads it: a DEFAULT section first, then every section in order, repeated
 * names kept; values trimmed, cut at an inline `#`/`;` comment and unquoted
 * as ini.v1 does. Every value is a string.
 */
export function parseIni(content: Buffer): SopsMap {
  let text = content.toString('utf8')
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
  const lines = text.split('\n').map((line, index, all) => (index < all.length - 1 ? `${line}\n` : line))
  const sections: {name: string; keys: Map<string, string>}[] = [{name: 'DEFAULT', keys: new Map()}]
  let current = sections[0]
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index].replace(/^\s+/, '')
    if (line.length === 0 || line[0] === '#' || line[0] === ';') continue
    if (line[0] === '[') {
      const close = line.lastIndexOf(']')
      if (close === -1) throw new FormatProblem(`has an unclosed INI section header (line ${index + 1})`)
      const name = line.slice(1, close)
      if (name.length === 0) throw new FormatProblem(`has an empty INI section name (line ${index + 1})`)
      current = {name, keys: new Map()}
      sections.push(current)
      continue
    }
    const {key, rest} = readKey(line, index)
    const read = readValue(rest, lines, index)
    index = read.lastLine
    // ini.v1 keeps the first position of a repeated key and the last value.
    current.keys.set(key, read.value)
  }
  return {
    kind: 'map',
    entries: sections.map(({name, keys}) => ({key: name, value: {kind: 'map', entries: [...keys].map(([key, value]): {key: string; value: SopsNode} => ({key, value: str(value)}))}})),
  }
}

function readKey(line: string, index: number): {key: string; rest: string} {
  const quote = line.startsWith('"""') && line.length > 6 ? '"""' : line[0] === '"' ? '"' : line[0] === '`' ? '`' : ''
  if (quote) {
    const close = line.indexOf(quote, quote.length)
    if (close === -1) throw new FormatProblem(`has an INI key with no closing quote (line ${index + 1})`)
    const delimiter = indexOfAny(line, '=:', close + quote.length)
    if (delimiter === -1) throw new FormatProblem(`has an INI line without "=" (line ${index + 1})`)
    return {key: line.slice(quote.length, close).trim(), rest: line.slice(delimiter + 1)}
  }
  const delimiter = indexOfAny(line, '=:', 0)
  if (delimiter === -1) throw new FormatProblem(`has an INI line without "=" (line ${index + 1})`)
  if (delimiter === 0) throw new FormatProblem(`has an INI line with an empty key (line ${index + 1})`)
  return {key: line.slice(0, delimiter).trim(), rest: line.slice(delimiter + 1)}
}

function readValue(raw: string, lines: string[], index: number): {value: string; lastLine: number} {
  const line = raw.replace(/^\s+/, '')
  if (line.length === 0) return {value: '', lastLine: index}
  const quote = line.length > 3 && line.startsWith('"""') ? '"""' : line[0] === '`' ? '`' : ''
  if (quote) {
    const close = line.lastIndexOf(quote)
    if (close >= quote.length) return {value: line.slice(quote.length, close), lastLine: index}
    // The value runs on until a line holding the closing quote.
    let value = line.slice(quote.length)
    for (let next = index + 1; next < lines.length; next++) {
      const end = lines[next].lastIndexOf(quote)
      if (end > -1) return {value: value + lines[next].slice(0, end), lastLine: next}
      value += lines[next]
    }
    throw new FormatProblem(`has an INI value with no closing ${quote} (line ${index + 1})`)
  }
  let value = line.trim()
  if (value.endsWith('\\')) {
    // A trailing backslash continues the value on the next lines.
    value = value.slice(0, -1)
    let next = index + 1
    for (; next < lines.length; next++) {
      const continuation = lines[next].trim()
      if (continuation.length === 0) break
      value += continuation
      if (!value.endsWith('\\')) break
      value = value.slice(0, -1)
    }
    return {value, lastLine: Math.min(next, lines.length - 1)}
  }
  const comment = indexOfAny(value, '#;', 0)
  if (comment > -1) value = value.slice(0, comment).trim()
  if (surroundedBy(value, "'") || surroundedBy(value, '"')) value = value.slice(1, -1)
  return {value, lastLine: index}
}

function surroundedBy(value: string, quote: string): boolean {
  return value.length >= 2 && value[0] === quote && value.at(-1) === quote && value.indexOf(quote, 1) === value.length - 1
}

function indexOfAny(text: string, chars: string, from: number): number {
  for (let index = from; index < text.length; index++) if (chars.includes(text[index])) return index
  return -1
}
