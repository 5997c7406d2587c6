import {isDeepStrictEqual} from 'node:util'

import {isMap, isPair, isScalar, isSeq, parseAllDocuments, type Document, type Node} from 'yaml'

/**
 * Edits of kustomization.yaml and Flux Kustomization files that leave every
 * other byte as it was: an entry is removed by cutting its own lines, one is
 * added as a line shaped like its neighbours. Each edit is checked against
 * the same edit made with the `yaml` library's Document API: if the texts do
 * not parse to the same data (an unusual layout, a flow sequence), the
 * Document API's output is used instead, which keeps comments but may
 * re-indent the file — and `reformatted` says so.
 */

export type YamlPath = (string | number)[]

export type YamlEdit =
  | {op: 'remove-item'; document: number; path: YamlPath; index: number}
  | {op: 'remove-key'; document: number; path: YamlPath}
  | {op: 'append-item'; document: number; path: YamlPath; value: string}

export interface EditResult {
  text: string
  /** The surgical edit did not match the Document API's: the file was re-serialised. */
  reformatted: boolean
}

function documentsOf(text: string): Document[] {
  return parseAllDocuments(text) as Document[]
}

function dataOf(text: string): unknown[] {
  return documentsOf(text).map((document) => document.toJS())
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1
}

function lineEnd(text: string, offset: number): number {
  if (offset > 0 && text[offset - 1] === '\n') return offset
  const next = text.indexOf('\n', offset)
  return next === -1 ? text.length : next + 1
}

/** The node's own lines, from the line it starts on to the end of the line it ends on. */
function cutLines(text: string, from: number, to: number): string {
  return text.slice(0, lineStart(text, from)) + text.slice(lineEnd(text, to))
}

/** Removing the last entry of a list removes its key: an empty list (or a key left null) says nothing. */
function normalised(text: string, edit: YamlEdit): YamlEdit {
  if (edit.op !== 'remove-item') return edit
  const seq = documentsOf(text)[edit.document]?.getIn(edit.path, true)
  return isSeq(seq) && seq.items.length === 1 && edit.index === 0 ? {op: 'remove-key', document: edit.document, path: edit.path} : edit
}

function surgical(text: string, edit: YamlEdit): string | undefined {
  const document = documentsOf(text)[edit.document]
  if (!document) return undefined
  if (edit.op === 'remove-item') {
    const seq = document.getIn(edit.path, true)
    if (!isSeq(seq) || seq.flow) return undefined
    const item = seq.items[edit.index] as Node | undefined
    if (!item?.range) return undefined
    // Only a block entry alone on its line(s): "  - value" or "- name: x\n  envs: …".
    if (!/^\s*-\s+$/.test(text.slice(lineStart(text, item.range[0]), item.range[0]))) return undefined
    return cutLines(text, item.range[0], item.range[2])
  }
  if (edit.op === 'remove-key') {
    const parent = document.getIn(edit.path.slice(0, -1), true) ?? (edit.path.length === 1 ? document.contents : undefined)
    const container = edit.path.length === 1 ? document.contents : parent
    if (!isMap(container) || container.flow) return undefined
    const pair = container.items.find((candidate) => isPair(candidate) && isScalar(candidate.key) && candidate.key.value === edit.path.at(-1))
    const key = pair?.key as Node | undefined
    const value = pair?.value as Node | null | undefined
    if (!key?.range) return undefined
    if (text.slice(lineStart(text, key.range[0]), key.range[0]).trim() !== '') return undefined
    return cutLines(text, key.range[0], value?.range ? value.range[2] : key.range[2])
  }
  const seq = document.getIn(edit.path, true)
  if (seq === undefined || seq === null) {
    // A new top-level key at the end of the document.
    if (edit.path.length !== 1 || !isMap(document.contents) || document.contents.flow) return undefined
    const end = document.contents.range?.[2] ?? text.length
    const at = lineEnd(text, Math.max(0, end - 1))
    const before = text.slice(0, at)
    return `${before}${before.endsWith('\n') || before === '' ? '' : '\n'}${String(edit.path[0])}:\n- ${edit.value}\n${text.slice(at)}`
  }
  if (!isSeq(seq) || seq.flow || seq.items.length === 0) return undefined
  const last = seq.items.at(-1) as Node
  if (!last.range || !isScalar(last)) return undefined
  const start = lineStart(text, last.range[0])
  const indent = text.slice(start, last.range[0])
  if (!/^\s*-\s+$/.test(indent)) return undefined
  const at = lineEnd(text, last.range[2])
  return `${text.slice(0, at)}${text.slice(0, at).endsWith('\n') ? '' : '\n'}${indent}${edit.value}\n${text.slice(at)}`
}

function withDocumentApi(text: string, edit: YamlEdit): string {
  const documents = documentsOf(text)
  const document = documents[edit.document]
  if (edit.op === 'remove-item') {
    const seq = document.getIn(edit.path, true)
    if (isSeq(seq)) seq.items.splice(edit.index, 1)
  } else if (edit.op === 'remove-key') {
    document.deleteIn(edit.path)
  } else {
    const seq = document.getIn(edit.path, true)
    if (isSeq(seq)) seq.add(document.createNode(edit.value))
    else document.setIn(edit.path, document.createNode([edit.value]))
  }
  // A document with an explicit start marker prints its own `---`.
  return documents.map((entry, index) => {
    const printed = entry.toString()
    return index === 0 || printed.startsWith('---') ? printed : `---\n${printed}`
  }).join('')
}

/** One edit; the text must parse (callers only edit files they parsed). */
export function applyYamlEdit(text: string, given: YamlEdit): EditResult {
  const edit = normalised(text, given)
  const expected = withDocumentApi(text, edit)
  const cut = surgical(text, edit)
  if (cut !== undefined) {
    try {
      if (isDeepStrictEqual(dataOf(cut), dataOf(expected))) return {text: cut, reformatted: false}
    } catch {
      // fall through to the Document API's text
    }
  }
  return {text: expected, reformatted: true}
}

/** Several edits in order; edits naming list indexes must come last-index first. */
export function applyYamlEdits(text: string, edits: YamlEdit[]): EditResult {
  let reformatted = false
  for (const edit of edits) {
    const result = applyYamlEdit(text, edit)
    text = result.text
    reformatted ||= result.reformatted
  }
  return {text, reformatted}
}
