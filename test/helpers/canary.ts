import {randomBytes} from 'node:crypto'

/** A value that must reach its destination (Kubernetes, the Vaults) and appear nowhere else. */
export function canary(label: string): string {
  return `canary-${label}-${randomBytes(8).toString('hex')}`
}

/** The canaries whose text, or whose base64 (as a Secret's data holds it), occurs in `haystack`. */
export function leaked(haystack: string | Buffer, canaries: string[]): string[] {
  const bytes = Buffer.isBuffer(haystack) ? haystack : Buffer.from(haystack)
  return canaries.filter((value) => bytes.includes(Buffer.from(value)) || bytes.includes(Buffer.from(Buffer.from(value).toString('base64').replace(/=+$/, ''))))
}

/** Fails with the text just before the first canary found (the canary itself is not shown). */
export function expectNoCanary(texts: string[], canaries: string[]): void {
  for (const text of texts) {
    for (const value of canaries) {
      if (text.includes(value)) throw new Error(`a canary value leaked into output: …${text.slice(Math.max(0, text.indexOf(value) - 200), text.indexOf(value))}[CANARY]`)
    }
  }
}
