/**
 * Safe display of untrusted text. File names, tar member names, Git paths
 * and server addresses come from places an attacker or a careless operator
 * controls; shown raw they can move the cursor, recolour or clear the
 * terminal (ANSI escapes), forge extra lines in a report, or print the
 * password of a `https://user:pass@host` address.
 */

// C0 controls, DEL, C1 controls, and the Unicode line/paragraph separators
// and bidirectional overrides that reorder what the operator reads.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu

/** True when the text holds a character that `displayText` would escape. */
export function hasControlCharacters(text: string): boolean {
  UNSAFE.lastIndex = 0
  const found = UNSAFE.test(text)
  UNSAFE.lastIndex = 0
  return found
}

/**
 * The text with every control character written as an escape (`\n`, `\t`,
 * `\x1b`, `\u202e`), so it stays on one line and cannot drive the terminal.
 * Backslashes are doubled so an escaped name and a name that literally holds
 * `\n` stay distinct.
 */
export function displayText(text: string): string {
  return text.replaceAll('\\', '\\\\').replace(UNSAFE, (character) => {
    switch (character) {
      case '\n':
        return '\\n'
      case '\r':
        return '\\r'
      case '\t':
        return '\\t'
      default: {
        const code = character.codePointAt(0)!
        return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`
      }
    }
  })
}

/**
 * An address fit to show: user name and password (`https://user:pass@host`)
 * become `***`, and query parameters that commonly carry credentials
 * (token, password, secret, key, signature…) are redacted. Text that is not
 * a URL is returned with its control characters escaped, and any `user:pass@`
 * before a host is still removed.
 */
export function redactUrl(address: string): string {
  let url: URL
  try {
    // `host:8200` and `user:pw@host` parse as URLs with an odd scheme: only `scheme://` is an address.
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(address)) throw new TypeError('not an absolute URL')
    url = new URL(address)
  } catch {
    return displayText(address.replace(/^([a-z][a-z0-9+.-]*:\/\/)?[^/@\s]*@/i, (_match, scheme: string | undefined) => `${scheme ?? ''}***@`))
  }
  if (url.username || url.password) {
    url.username = '***'
    url.password = ''
  }
  for (const name of [...url.searchParams.keys()]) {
    if (CREDENTIAL_PARAMETER.test(name)) url.searchParams.set(name, '***')
  }
  // Fragments carry tokens in some schemes (OAuth implicit grants): never shown.
  if (url.hash) url.hash = '***'
  return displayText(url.toString())
}

const CREDENTIAL_PARAMETER = /token|passw|secret|key|sig|auth|credential/i
