// The encrypted file as sops sees it, whatever its format: ordered mappings
// (keys may repeat, as INI sections and JSON objects allow), sequences and
// typed scalars. Comments are not kept: they are neither output nor hashed
// into the MAC.

export type Scalar =
  | {kind: 'str'; bytes: Buffer}
  /** Canonical decimal digits of an int64. */
  | {kind: 'int'; text: string}
  | {kind: 'float'; value: number}
  | {kind: 'bool'; value: boolean}
  /** RFC3339Nano text, as Go re-emits a time. */
  | {kind: 'time'; text: string}

export interface SopsMap {
  kind: 'map'
  entries: {key: string; value: SopsNode}[]
}

export type SopsNode = SopsMap | SopsNode[] | Scalar | null

export function isMap(node: SopsNode): node is SopsMap {
  return node !== null && !Array.isArray(node) && node.kind === 'map'
}

export function str(text: string): Scalar {
  return {kind: 'str', bytes: Buffer.from(text, 'utf8')}
}

/** A scalar's text for metadata fields, which sops reads weakly typed. */
export function scalarText(node: SopsNode): string | undefined {
  if (node === null || Array.isArray(node) || node.kind === 'map') return undefined
  switch (node.kind) {
    case 'str':
      return node.bytes.toString('utf8')
    case 'int':
    case 'time':
      return node.text
    case 'float':
      return String(node.value)
    case 'bool':
      return String(node.value)
  }
}
