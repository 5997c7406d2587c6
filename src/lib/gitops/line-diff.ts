/**
 * A unified diff of two small texts (kustomization files, manifests), for
 * a plan the operator reviews before anything is written. Longest common
 * subsequence over lines; inputs above `maxLines` are summarised instead.
 */
export function unifiedDiff(path: string, before: string, after: string, options: {context?: number; maxLines?: number} = {}): string {
  const context = options.context ?? 3
  const maxLines = options.maxLines ?? 2000
  const a = before === '' ? [] : before.replace(/\n$/, '').split('\n')
  const b = after === '' ? [] : after.replace(/\n$/, '').split('\n')
  const header = `--- a/${path}\n+++ b/${path}`
  if (a.length > maxLines || b.length > maxLines) return `${header}\n@@ ${a.length} line(s) → ${b.length} line(s) (too long to show) @@`
  // lengths[i][j]: LCS of a[i..] and b[j..]
  const lengths = Array.from({length: a.length + 1}, () => new Uint32Array(b.length + 1))
  for (let i = a.length - 1; i >= 0; i--) for (let j = b.length - 1; j >= 0; j--) lengths[i][j] = a[i] === b[j] ? lengths[i + 1][j + 1] + 1 : Math.max(lengths[i + 1][j], lengths[i][j + 1])
  type Line = {kind: ' ' | '-' | '+'; text: string; aLine: number; bLine: number}
  const lines: Line[] = []
  let i = 0
  let j = 0
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) lines.push({kind: ' ', text: a[i++], aLine: i, bLine: ++j})
    else if (i < a.length && (j === b.length || lengths[i + 1][j] >= lengths[i][j + 1])) lines.push({kind: '-', text: a[i++], aLine: i, bLine: j})
    else lines.push({kind: '+', text: b[j++], aLine: i, bLine: j})
  }
  const changed = lines.map((line, index) => (line.kind === ' ' ? -1 : index)).filter((index) => index >= 0)
  if (changed.length === 0) return ''
  const hunks: string[] = []
  let start = 0
  while (start < changed.length) {
    let end = start
    while (end + 1 < changed.length && changed[end + 1] - changed[end] <= context * 2 + 1) end++
    const from = Math.max(0, changed[start] - context)
    const to = Math.min(lines.length - 1, changed[end] + context)
    const slice = lines.slice(from, to + 1)
    const aCount = slice.filter((line) => line.kind !== '+').length
    const bCount = slice.filter((line) => line.kind !== '-').length
    const aStart = slice.find((line) => line.kind !== '+')?.aLine ?? lines[from].aLine
    const bStart = slice.find((line) => line.kind !== '-')?.bLine ?? lines[from].bLine
    hunks.push(`@@ -${aCount === 0 ? aStart : aStart},${aCount} +${bCount === 0 ? bStart : bStart},${bCount} @@`)
    for (const line of slice) hunks.push(`${line.kind}${line.text}`)
    start = end + 1
  }
  return `${header}\n${hunks.join('\n')}`
}
