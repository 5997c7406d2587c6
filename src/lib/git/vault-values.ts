import type {RegionConfig} from '../config/schema.js'
import {connectRegion} from '../vault/connect.js'
import type {SecretStore} from '../vault/secret-store.js'
import type {KnownValue} from './value-patterns.js'

/** Every property of every secret in one store, as known values (kept in memory only). */
export async function valuesFromStore(store: SecretStore, source: string): Promise<KnownValue[]> {
  const values: KnownValue[] = []
  for await (const key of store.list('')) {
    const record = await store.read(key)
    if (!record) continue
    for (const [property, value] of record.data) values.push({source, secret: key, key: property, value})
  }
  return values
}

/** `--values-from vault`: the KV trees of the configured regions. */
export async function valuesFromRegions(regions: RegionConfig[]): Promise<KnownValue[]> {
  const values: KnownValue[] = []
  for (const region of regions) {
    const vault = await connectRegion(region)
    try {
      values.push(...(await valuesFromStore(vault.store, `vault:${region.name}`)))
    } finally {
      await vault.close()
    }
  }
  return values
}
