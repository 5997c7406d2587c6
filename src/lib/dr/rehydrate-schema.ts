import {z} from 'zod'

// The --json output of `dr rehydrate` and `dr reseed`: names, counts and
// states, never a value.

const rehydrateItem = z.object({
  secret: z.string(),
  namespace: z.string(),
  name: z.string(),
  action: z.enum(['create', 'unchanged', 'differs', 'overwrite', 'conflict', 'incomplete', 'unsupported']),
  from: z.array(z.string()),
  keys: z.array(z.string()),
  type: z.string(),
  recorded: z.boolean(),
  namespaceExists: z.boolean(),
  conflicts: z.array(z.object({key: z.string(), regions: z.array(z.string())})),
  regionNotes: z.array(z.object({key: z.string(), region: z.string(), state: z.enum(['missing', 'differs'])})),
  generated: z.object({externalSecret: z.string(), inCluster: z.boolean(), synced: z.boolean(), keepsRestoredValue: z.boolean(), markRestored: z.boolean()}).optional(),
  notes: z.array(z.string()),
})

export const drRehydrateOutputSchema = z.object({
  dryRun: z.boolean(),
  origin: z.string(),
  from: z.string().optional(),
  items: z.array(rehydrateItem),
  counts: z.record(z.string(), z.number()),
  missingNamespaces: z.array(z.string()),
  skipped: z.array(z.object({path: z.string(), reason: z.string()})),
  findings: z.array(z.string()),
  applied: z.object({written: z.array(z.string()), namespacesCreated: z.array(z.string()), externalSecretsMarked: z.array(z.string())}).optional(),
  verify: z
    .array(
      z.object({
        secret: z.string(),
        where: z.string(),
        state: z.enum(['in-sync', 'secret-missing', 'differs', 'missing-in-store', 'store-error', 'not-checked']),
        keys: z.array(z.string()),
        source: z.boolean(),
        detail: z.string().optional(),
      }),
    )
    .optional(),
  /** True when every rehydrated Secret matches its source region(s) and nothing is left undone. */
  ok: z.boolean(),
})
export type DrRehydrateJson = z.infer<typeof drRehydrateOutputSchema>

export const drReseedOutputSchema = z.object({
  region: z.string(),
  store: z.string(),
  dryRun: z.boolean(),
  pushSecrets: z.number(),
  nudged: z.number(),
  rows: z.array(
    z.object({
      secret: z.string(),
      pushSecret: z.string(),
      state: z.enum(['in-sync', 'missing', 'differs', 'secret-missing', 'not-checked', 'store-error']),
      keys: z.array(z.string()),
      condition: z.string().optional(),
      detail: z.string().optional(),
    }),
  ),
  counts: z.record(z.string(), z.number()),
  inSync: z.boolean(),
})
export type DrReseedJson = z.infer<typeof drReseedOutputSchema>
