import {looksEncrypted} from './builtin/cipher.js'
import {parseSopsFile} from './builtin/decrypt-builtin.js'
import {isMap, type SopsNode} from './builtin/tree.js'
import type {SopsFormat} from './detect.js'

/** One step of a key path: a mapping key (string) or a sequence index (number). */
export type LeafSegment = string | number

/**
 * A key path as a lossless string: the document index first, then every
 * segment (JSON keeps a key holding `.` or `[` apart from a nested path).
 */
export function leafPathKey(documentIndex: number, segments: readonly LeafSegment[]): string {
  return JSON.stringify([documentIndex, ...segments])
}

/**
 * The key paths whose value sops actually encrypted: leaves of the
 * encrypted file (as sops parses it, per format) that hold an
 * `ENC[AES256_GCM,…]` string. Everything else in a SOPS file — `kind`,
 * `metadata.name`, a namespace, keys left in clear by
 * `unencrypted_suffix`/`unencrypted_regex`/`encrypted_regex` — was never
 * secret, and taking it for a secret would make `git scrub` rewrite ordinary
 * words across a whole history.
 *
 * Pure: works on the ciphertext only (no key needed) and never returns a value.
 * Throws the parser's SopsError when the content does not parse in its format.
 */
export function encryptedLeafPaths(label: string, content: Buffer, format: SopsFormat): Set<string> {
  const {documents} = parseSopsFile(label, content, format)
  const paths = new Set<string>()
  documents.forEach((document, documentIndex) => {
    // An explicit stack: a deeply nested hostile file must not exhaust the call stack.
    const stack: {node: SopsNode; segments: LeafSegment[]}[] = [{node: document, segments: []}]
    while (stack.length > 0) {
      const {node, segments} = stack.pop()!
      if (node === null) continue
      if (Array.isArray(node)) {
        node.forEach((child, index) => stack.push({node: child, segments: [...segments, index]}))
      } else if (isMap(node)) {
        for (const entry of node.entries) stack.push({node: entry.value, segments: [...segments, entry.key]})
      } else if (node.kind === 'str' && looksEncrypted(node.bytes)) {
        paths.add(leafPathKey(documentIndex, segments))
      }
    }
  })
  return paths
}
