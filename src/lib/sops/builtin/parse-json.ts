import {goAtoi, goParseFloat} from './go-text.js'
import {FormatProblem} from './parse-yaml.js'
import {type SopsMap, type SopsNode} from './tree.js'

/**
 * A JSON object the way sops' JSON store reads it: key order and repeated
 * keys kept, integers within int64 kept exact, every other number a float64.
 * (JSON.parse would merge repeated keys and round big integers.)
 */
export function parseJsonDocument(content: Buffer): SopsMap {
  const parser = new JsonParser(new TextDecoder('utf-8').decode(content))
  parser.skipWhitespace()
  if (parser.peek() !== '{') throw new FormatProblem('is not a JSON object')
  return parser.value() as SopsMap
}

class JsonParser {
  #index = 0
  readonly #text: string

  constructor(text: string) {
    this.#text = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
  }

  peek(): string {
    return this.#text[this.#index]
  }

  skipWhitespace(): void {
    while (this.#index < this.#text.length && ' \t\n\r'.includes(this.#text[this.#index])) this.#index++
  }

  value(depth = 0): SopsNode {
    if (depth > 512) this.fail('nests too deeply')
    this.skipWhitespace()
    const char = this.peek()
    if (char === '{') return this.object(depth)
    if (char === '[') return this.array(depth)
    if (char === '"') return {kind: 'str', bytes: Buffer.from(this.string(), 'utf8')}
    if (this.#text.startsWith('true', this.#index)) return this.literal('true', {kind: 'bool', value: true})
    if (this.#text.startsWith('false', this.#index)) return this.literal('false', {kind: 'bool', value: false})
    if (this.#text.startsWith('null', this.#index)) return this.literal('null', null)
    return this.number()
  }

  object(depth: number): SopsMap {
    this.#index++
    const entries: SopsMap['entries'] = []
    this.skipWhitespace()
    if (this.peek() === '}') {
      this.#index++
      return {kind: 'map', entries}
    }
    for (;;) {
      this.skipWhitespace()
      if (this.peek() !== '"') this.fail('has an object key that is not a string')
      const key = this.string()
      this.skipWhitespace()
      this.expect(':')
      entries.push({key, value: this.value(depth + 1)})
      this.skipWhitespace()
      if (this.peek() === ',') {
        this.#index++
        continue
      }
      this.expect('}')
      return {kind: 'map', entries}
    }
  }

  array(depth: number): SopsNode[] {
    this.#index++
    const items: SopsNode[] = []
    this.skipWhitespace()
    if (this.peek() === ']') {
      this.#index++
      return items
    }
    for (;;) {
      items.push(this.value(depth + 1))
      this.skipWhitespace()
      if (this.peek() === ',') {
        this.#index++
        continue
      }
      this.expect(']')
      return items
    }
  }

  string(): string {
    this.#index++
    let result = ''
    let start = this.#index
    for (;;) {
      if (this.#index >= this.#text.length) this.fail('has an unterminated string')
      const char = this.#text[this.#index]
      if (char === '"') {
        result += this.#text.slice(start, this.#index)
        this.#index++
        return result
      }
      if (char === '\\') {
        result += this.#text.slice(start, this.#index)
        result += this.escape()
        start = this.#index
        continue
      }
      if (char.charCodeAt(0) < 0x20) this.fail('has a control character inside a string')
      this.#index++
    }
  }

  escape(): string {
    const code = this.#text[this.#index + 1]
    this.#index += 2
    const simple: Record<string, string> = {'"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t'}
    if (code in simple) return simple[code]
    if (code !== 'u') this.fail('has an invalid escape in a string')
    const hex = this.#text.slice(this.#index, this.#index + 4)
    if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('has an invalid \\u escape in a string')
    this.#index += 4
    const unit = Number.parseInt(hex, 16)
    // A lone surrogate becomes U+FFFD, as Go's decoder does.
    if (unit >= 0xd800 && unit <= 0xdbff && this.#text.startsWith('\\u', this.#index)) {
      const low = Number.parseInt(this.#text.slice(this.#index + 2, this.#index + 6), 16)
      if (low >= 0xdc00 && low <= 0xdfff) {
        this.#index += 6
        return String.fromCharCode(unit, low)
      }
    }
    return unit >= 0xd800 && unit <= 0xdfff ? '\ufffd' : String.fromCharCode(unit)
  }

  number(): SopsNode {
    const match = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(this.#text.slice(this.#index, this.#index + 400))
    if (!match) this.fail('is not valid JSON')
    const text = match[0]
    this.#index += text.length
    const integer = goAtoi(text)
    if (integer !== undefined) return {kind: 'int', text: integer.toString()}
    const value = goParseFloat(text)
    if (value === undefined) this.fail('has a number out of the float64 range')
    return {kind: 'float', value}
  }

  literal(word: string, value: SopsNode): SopsNode {
    this.#index += word.length
    return value
  }

  expect(char: string): void {
    if (this.peek() !== char) this.fail('is not valid JSON')
    this.#index++
  }

  fail(what: string): never {
    const before = this.#text.slice(0, this.#index)
    const line = before.split('\n').length
    throw new FormatProblem(`${what} (JSON, line ${line})`)
  }
}
