import {SecretValue} from '../secret/secret-value.js'
import type {SopsTree} from './types.js'

export function isTreeObject(value: SopsTree | undefined): value is {[key: string]: SopsTree} {
  return value !== null && value !== undefined && typeof value === 'object' && !Array.isArray(value) && !(value instanceof SecretValue)
}

/**
 * Sets a key of a decrypted mapping. A key can repeat (INI sections, JSON
 * objects): repeated mappings merge, otherwise the later value wins, as
 * JSON.parse would. defineProperty keeps a key named `__proto__` an own key.
 */
export function assignKey(target: {[key: string]: SopsTree}, key: string, value: SopsTree): void {
  const existing = Object.prototype.hasOwnProperty.call(target, key) ? target[key] : undefined
  if (isTreeObject(existing) && isTreeObject(value)) {
    for (const [childKey, child] of Object.entries(value)) assignKey(existing, childKey, child)
    return
  }
  Object.defineProperty(target, key, {value, enumerable: true, writable: true, configurable: true})
}

/** sops gives every INI file a DEFAULT section (for keys before the first header); an empty one is noise to callers. */
export function withoutEmptyDefaultSection(document: SopsTree): SopsTree {
  if (!isTreeObject(document)) return document
  const section = document.DEFAULT
  if (!isTreeObject(section) || Object.keys(section).length > 0) return document
  const rest: {[key: string]: SopsTree} = {}
  for (const [key, value] of Object.entries(document)) if (key !== 'DEFAULT') assignKey(rest, key, value)
  return rest
}
