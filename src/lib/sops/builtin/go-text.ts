// The text forms sops (Go) gives scalars. The MAC hashes these forms, not the
// file's spelling, so `1.50`, `True` and `0777` must be rendered as Go would.

const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

/** strconv.Atoi on 64-bit: optional sign, decimal digits, int64 range. */
export function goAtoi(text: string): bigint | undefined {
  if (!/^[+-]?\d+$/.test(text)) return undefined
  const value = BigInt(text)
  return value < INT64_MIN || value > INT64_MAX ? undefined : value
}

/** strconv.ParseInt(text, 0, 64) after yaml.v3 drops underscores: 0x, 0o, 0b and a leading-0 octal prefix. */
export function goParseIntBase0(text: string): bigint | undefined {
  const match = /^([+-]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9]\d*)$/.exec(text)
  if (!match) return undefined
  const [, sign, digits] = match
  let magnitude: bigint
  if (/^0[oO]/.test(digits)) magnitude = BigInt(`0o${digits.slice(2)}`)
  else if (/^0[0-7]+$/.test(digits)) magnitude = BigInt(`0o${digits.slice(1)}`)
  else magnitude = BigInt(digits)
  const value = sign === '-' ? -magnitude : magnitude
  return value < INT64_MIN || value > INT64_MAX ? undefined : value
}

/** strconv.ParseFloat(text, 64), including Go's spellings of infinity and NaN. */
export function goParseFloat(text: string): number | undefined {
  const special = /^([+-]?)(inf|infinity|nan)$/i.exec(text)
  if (special) {
    if (special[2].toLowerCase() === 'nan') return special[1] ? undefined : Number.NaN
    return special[1] === '-' ? -Infinity : Infinity
  }
  const cleaned = text.includes('_') ? (/^[+-]?0[xX]/.test(text) ? text.replaceAll('_', '') : undefined) : text
  if (cleaned === undefined) return undefined
  // Each digit run has one way to match (`\d+(?:\.\d*)?`, not `\d+\.?\d*`): decrypted values reach here, and
  // an ambiguous pattern backtracks quadratically on a long run of digits.
  if (/^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/.test(cleaned)) {
    const value = Number(cleaned)
    return Number.isFinite(value) ? value : undefined
  }
  if (/^[+-]?0[xX](?:[0-9a-fA-F]+(?:\.[0-9a-fA-F]*)?|\.[0-9a-fA-F]+)[pP][+-]?\d+$/.test(cleaned)) return parseHexFloat(cleaned)
  return undefined
}

function parseHexFloat(text: string): number | undefined {
  const match = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?[pP]([+-]?\d+)$/.exec(text)
  if (!match) return undefined
  const [, sign, whole, fraction = '', exponent] = match
  const mantissa = Number.parseInt(`${whole}${fraction}` || '0', 16)
  const value = mantissa * 2 ** (Number(exponent) - 4 * fraction.length)
  if (!Number.isFinite(value)) return undefined
  return sign === '-' ? -value : value
}

/** strconv.FormatFloat(value, 'f', -1, 64): the shortest round-tripping digits, never in exponent form. */
export function goFormatFloat(value: number): string {
  if (Number.isNaN(value)) return 'NaN'
  if (value === Infinity) return '+Inf'
  if (value === -Infinity) return '-Inf'
  if (value === 0) return Object.is(value, -0) ? '-0' : '0'
  const negative = value < 0
  const [mantissa, exponentText] = Math.abs(value).toExponential().split('e')
  const digits = mantissa.replace('.', '')
  const exponent = Number(exponentText)
  let text: string
  if (exponent >= digits.length - 1) text = digits + '0'.repeat(exponent - digits.length + 1)
  else if (exponent >= 0) text = `${digits.slice(0, exponent + 1)}.${digits.slice(exponent + 1)}`
  else text = `0.${'0'.repeat(-exponent - 1)}${digits}`
  return negative ? `-${text}` : text
}

/** strconv.ParseBool. */
export function goParseBool(text: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false
  return undefined
}

/** How sops hashes a boolean into the MAC (a Python-era spelling). */
export function goMacBool(value: boolean): string {
  return value ? 'True' : 'False'
}

interface GoTime {
  year: number
  month: number
  day: number
  hour: number
  minute: number
  second: number
  /** Up to nine fraction digits as written, without the dot. */
  fraction: string
  /** Minutes east of UTC. */
  offset: number
}

/** time.Time.UnmarshalText: RFC 3339, returned as MarshalText would write it back (RFC3339Nano). */
export function goNormalizeRfc3339(text: string): string | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/.exec(text)
  if (!match) return undefined
  const [, year, month, day, hour, minute, second, fraction = '', zulu, sign, offsetHours, offsetMinutes] = match
  return formatGoTime({year: +year, month: +month, day: +day, hour: +hour, minute: +minute, second: +second, fraction, offset: zulu ? 0 : offsetOf(sign, offsetHours, offsetMinutes)})
}

/**
 * yaml.v3's implicit timestamps (plain scalars such as `2024-01-02` or
 * `2024-1-2 3:04:05`), as the RFC3339Nano text sops re-emits for them.
 */
export function goYamlTimestamp(text: string): string | undefined {
  if (!/^\d{4}-/.test(text)) return undefined
  const date = String.raw`(\d{4})-(\d{1,2})-(\d{1,2})`
  const clock = String.raw`(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d+))?`
  let match = new RegExp(`^${date}[Tt]${clock}(?:(Z)|([+-])(\\d{2}):(\\d{2}))$`).exec(text)
  if (match) {
    const [, year, month, day, hour, minute, second, fraction = '', zulu, sign, offsetHours, offsetMinutes] = match
    return formatGoTime({year: +year, month: +month, day: +day, hour: +hour, minute: +minute, second: +second, fraction, offset: zulu ? 0 : offsetOf(sign, offsetHours, offsetMinutes)})
  }
  match = new RegExp(`^${date} ${clock}$`).exec(text)
  if (match) {
    const [, year, month, day, hour, minute, second, fraction = ''] = match
    return formatGoTime({year: +year, month: +month, day: +day, hour: +hour, minute: +minute, second: +second, fraction, offset: 0})
  }
  match = new RegExp(`^${date}$`).exec(text)
  if (match) return formatGoTime({year: +match[1], month: +match[2], day: +match[3], hour: 0, minute: 0, second: 0, fraction: '', offset: 0})
  return undefined
}

function offsetOf(sign: string, hours: string, minutes: string): number {
  const total = Number(hours) * 60 + Number(minutes)
  return sign === '-' ? -total : total
}

function formatGoTime(time: GoTime): string | undefined {
  const {year, month, day, hour, minute, second} = time
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour > 23 || minute > 59 || second > 59) return undefined
  if (Math.abs(time.offset) >= 24 * 60) return undefined
  const pad = (value: number, width = 2) => String(value).padStart(width, '0')
  const fraction = time.fraction.slice(0, 9).replace(/0+$/, '')
  const zone = time.offset === 0 ? 'Z' : `${time.offset < 0 ? '-' : '+'}${pad(Math.trunc(Math.abs(time.offset) / 60))}:${pad(Math.abs(time.offset) % 60)}`
  return `${pad(year, 4)}-${pad(month)}-${pad(day)}T${pad(hour)}:${pad(minute)}:${pad(second)}${fraction ? `.${fraction}` : ''}${zone}`
}

function daysIn(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28
  return [4, 6, 9, 11].includes(month) ? 30 : 31
}

/** time.Format(time.RFC3339) of an RFC 3339 stamp: the form sops authenticates the MAC with (no fraction, `Z` for UTC). */
export function goRfc3339Seconds(text: string): string | undefined {
  const normalized = goNormalizeRfc3339(text)
  return normalized?.replace(/\.\d+(?=Z|[+-]\d{2}:\d{2}$)/, '')
}
