import {setTimeout as sleep} from 'node:timers/promises'

import {isToolkitError} from '../errors/errors.js'
import type {SecretValue} from '../secret/secret-value.js'
import type {SecretRecord} from '../vault/secret-store.js'

/** What one region's Vault must hold for one secret. */
export interface VaultExpectation {
  id: string
  remoteKey: string
  values: Map<string, SecretValue>
}

/** The slice of a region the wait needs (a RegionVault fits). */
export interface VaultReader {
  name: string
  read(remoteKey: string): Promise<SecretRecord | undefined>
}

export type VaultState = 'in-sync' | 'missing' | 'differs' | 'error'

export interface VaultCheck {
  region: string
  id: string
  remoteKey: string
  state: VaultState
  /** Keys absent from, or different in, the Vault (names only). */
  keys: string[]
  /** For state "error": the error message (names paths and regions, never values). */
  detail?: string
}

/** Pure: does the Vault's secret hold every expected key with the expected value? Extra properties are ignored. */
export function compareRecord(expected: Map<string, SecretValue>, record: SecretRecord | undefined): {state: VaultState; keys: string[]} {
  if (!record) return {state: 'missing', keys: [...expected.keys()]}
  const off = [...expected].filter(([key, value]) => !record.data.get(key)?.equals(value)).map(([key]) => key)
  return off.length === 0 ? {state: 'in-sync', keys: []} : {state: 'differs', keys: off}
}

export interface WaitOptions {
  timeoutMs: number
  intervalMs?: number
  /** Called after every round with the number in sync and the total. */
  onRound?: (inSync: number, total: number) => void
  now?: () => number
  sleep?: (ms: number) => Promise<unknown>
}

/**
 * Polls every region until each holds every expected secret, or the timeout
 * passes; answers the last state of each (region, secret). A region that
 * fails to answer is retried until the timeout like a missing secret.
 */
export async function waitForVaults(expectations: VaultExpectation[], readers: VaultReader[], options: WaitOptions): Promise<VaultCheck[]> {
  const now = options.now ?? Date.now
  const pause = options.sleep ?? sleep
  const deadline = now() + options.timeoutMs
  const checks = new Map<string, VaultCheck>()
  const keyOf = (region: string, id: string) => `${region}\u0000${id}`
  for (;;) {
    await Promise.all(
      readers.flatMap((reader) =>
        expectations.map(async (expectation) => {
          const previous = checks.get(keyOf(reader.name, expectation.id))
          if (previous?.state === 'in-sync') return
          let check: VaultCheck
          try {
            check = {region: reader.name, id: expectation.id, remoteKey: expectation.remoteKey, ...compareRecord(expectation.values, await reader.read(expectation.remoteKey))}
          } catch (error) {
            const detail = isToolkitError(error) ? error.message : `unexpected error (${(error as Error)?.name ?? 'unknown'})`
            check = {region: reader.name, id: expectation.id, remoteKey: expectation.remoteKey, state: 'error', keys: [], detail}
          }
          checks.set(keyOf(reader.name, expectation.id), check)
        }),
      ),
    )
    const all = [...checks.values()]
    const inSync = all.filter((check) => check.state === 'in-sync').length
    options.onRound?.(inSync, all.length)
    if (inSync === all.length || now() >= deadline) break
    await pause(Math.min(options.intervalMs ?? 1000, Math.max(0, deadline - now())))
  }
  return readers.flatMap((reader) => expectations.map((expectation) => checks.get(keyOf(reader.name, expectation.id))!))
}
