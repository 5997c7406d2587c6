import {EXTERNAL_SECRET_API_VERSION, GENERATOR_API_VERSION} from './api.js'

export interface EsoObjectMeta {
  name: string
  namespace: string
  labels: Record<string, string>
}

/** The settings of ESO's Password generator (generators.external-secrets.io, kind Password). */
export interface PasswordSettings {
  length: number
  digits: number
  symbols: number
  symbolCharacters: string
  noUpper: boolean
  allowRepeat: boolean
}

export interface PasswordGenerator {
  apiVersion: typeof GENERATOR_API_VERSION
  kind: 'Password'
  metadata: EsoObjectMeta
  spec: PasswordSettings
}

export interface GeneratorRef {
  apiVersion: typeof GENERATOR_API_VERSION
  kind: 'Password'
  name: string
}

/** The fields of ESO's ExternalSecret (external-secrets.io/v1) this toolkit writes. */
export interface ExternalSecret {
  apiVersion: typeof EXTERNAL_SECRET_API_VERSION
  kind: 'ExternalSecret'
  metadata: EsoObjectMeta
  spec: {
    refreshPolicy?: 'CreatedOnce' | 'Periodic' | 'OnChange'
    refreshInterval: string
    target: {name: string; creationPolicy: 'Owner' | 'Merge' | 'None' | 'Orphan'; deletionPolicy: 'Retain' | 'Delete' | 'Merge'; template?: {type: string}}
    dataFrom: {sourceRef: {generatorRef: GeneratorRef}; rewrite: {regexp: {source: string; target: string}}[]}[]
  }
}

export function buildPasswordGenerator(metadata: EsoObjectMeta, settings: PasswordSettings): PasswordGenerator {
  return {
    apiVersion: GENERATOR_API_VERSION,
    kind: 'Password',
    metadata,
    spec: {
      length: settings.length,
      digits: settings.digits,
      symbols: settings.symbols,
      symbolCharacters: settings.symbolCharacters,
      noUpper: settings.noUpper,
      allowRepeat: settings.allowRepeat,
    },
  }
}

/**
 * An ExternalSecret that fills a Secret of `type` once from Password
 * generators, one generator per key (`generators`: Secret key → generator
 * name). The Secret outlives the ExternalSecret.
 *
 * Nothing may regenerate a value that existed before a loss (ESO's source,
 * the same in v0.20 and v2.x, decides this):
 * - `refreshPolicy: CreatedOnce` — ESO generates only while the
 *   ExternalSecret has no sync record (status.refreshTime and
 *   status.syncedResourceVersion); after that, no annotation, label or
 *   spec change regenerates. (`refreshInterval: "0"` alone is the same in
 *   both versions; CreatedOnce says it.)
 * - `creationPolicy: Orphan` — ESO treats the target Secret as always valid:
 *   with Owner it compares the Secret's data with the hash it wrote and
 *   regenerates a Secret whose data was restored by anyone else.
 * - On a rebuilt cluster the ExternalSecret is new (no sync record) and would
 *   generate once: `dr rehydrate` restores the Secret first and writes the
 *   sync record (markRestored in eso/generated.ts), so ESO finds it created.
 * A rotation clears the sync record on purpose (eso/nudge.ts requestRegeneration).
 */
export function buildGeneratedExternalSecret(metadata: EsoObjectMeta, type: string, generators: {key: string; generator: string}[]): ExternalSecret {
  return {
    apiVersion: EXTERNAL_SECRET_API_VERSION,
    kind: 'ExternalSecret',
    metadata,
    spec: {
      refreshPolicy: 'CreatedOnce',
      refreshInterval: '0',
      target: {
        name: metadata.name,
        creationPolicy: 'Orphan',
        deletionPolicy: 'Retain',
        ...(type === 'Opaque' ? {} : {template: {type}}),
      },
      dataFrom: generators.map(({key, generator}) => ({
        sourceRef: {generatorRef: {apiVersion: GENERATOR_API_VERSION, kind: 'Password', name: generator}},
        // The Password generator's one output is "password"; each generator fills one key.
        rewrite: [{regexp: {source: '^password$', target: key}}],
      })),
    },
  }
}
