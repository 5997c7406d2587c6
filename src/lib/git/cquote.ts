/**
 * Git's C-style path quoting (fast-export, `core.quotePath`): a path with a
 * control character, `"`, `\` or a byte >= 0x80 is written in double quotes
 * with backslash escapes and octal bytes. Works on bytes, since paths need not
 * be UTF-8.
 */
const SIMPLE: Record<number, number> = {
  0x61: 0x07, // \a
  0x62: 0x08, // \b
  0x66: 0x0c, // \f
  0x6e: 0x0a, // \n
  0x72: 0x0d, // \r
  0x74: 0x09, // \t
  0x76: 0x0b, // \v
  0x5c: 0x5c, // \\
  0x22: 0x22, // \"
}

/** Decodes `"..."` (with the quotes); returns the input unchanged when it is not quoted. */
export function cUnquote(field: Buffer): Buffer {
  if (field.length < 2 || field[0] !== 0x22 || field[field.length - 1] !== 0x22) return field
  const out = Buffer.allocUnsafe(field.length)
  let length = 0
  for (let i = 1; i < field.length - 1; i++) {
    const byte = field[i]
    if (byte !== 0x5c) {
      out[length++] = byte
      continue
    }
    const next = field[++i]
    if (next >= 0x30 && next <= 0x37) {
      out[length++] = ((next - 0x30) << 6) | ((field[i + 1] - 0x30) << 3) | (field[i + 2] - 0x30)
      i += 2
    } else if (SIMPLE[next] !== undefined) {
      out[length++] = SIMPLE[next]
    } else {
      throw new Error(`invalid escape in quoted path at byte ${i}`)
    }
  }
  return out.subarray(0, length)
}

/** Quotes a path the way fast-import accepts it: only when needed. */
export function cQuote(path: Buffer): Buffer {
  let needs = path.length > 0 && path[0] === 0x22
  for (const byte of path) if (byte < 0x20 || byte === 0x22 || byte === 0x5c || byte >= 0x7f) needs = true
  if (!needs) return path
  const parts: string[] = ['"']
  for (const byte of path) {
    if (byte === 0x22) parts.push('\\"')
    else if (byte === 0x5c) parts.push('\\\\')
    else if (byte === 0x0a) parts.push('\\n')
    else if (byte === 0x09) parts.push('\\t')
    else if (byte < 0x20 || byte >= 0x7f) parts.push('\\' + byte.toString(8).padStart(3, '0'))
    else parts.push(String.fromCharCode(byte))
  }
  parts.push('"')
  return Buffer.from(parts.join(''), 'latin1')
}
