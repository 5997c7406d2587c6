import {z} from 'zod'

// The --json output of `migrate sops` and `migrate verify`: names, counts and
// statuses, never a value.

export const migrateSopsOutputSchema = z.object({
  dryRun: z.boolean(),
  engine: z.object({name: z.enum(['sops', 'builtin']), reason: z.string()}),
  files: z.array(z.object({path: z.string(), format: z.string()})),
  configFiles: z.array(z.string()),
  skipped: z.array(z.unknown()),
  failures: z.array(z.unknown()),
  secrets: z.array(
    z.object({
      source: z.string(),
      namespace: z.string(),
      name: z.string(),
      type: z.string(),
      keys: z.array(z.string()),
      remotes: z.array(z.unknown()),
      secretAction: z.string().optional(),
      pushSecretAction: z.string().optional(),
      owners: z.array(z.string()).optional(),
    }),
  ),
  manifests: z.array(z.string()),
  result: z.unknown().optional(),
  runRecord: z.object({id: z.string(), objects: z.array(z.string())}).optional(),
  changed: z.boolean(),
})
export type MigrateSopsJson = z.infer<typeof migrateSopsOutputSchema>

export const migrateVerifyOutputSchema = z.object({
  secrets: z.number(),
  rows: z.array(z.object({secret: z.string(), where: z.string(), status: z.string(), keys: z.array(z.string()), detail: z.string().optional()})),
  counts: z.record(z.string(), z.number()),
  inSync: z.boolean(),
  completeness: z.object({
    basis: z.array(z.enum(['run-records', 'source', 'named'])),
    proven: z.boolean(),
    runRecords: z.array(z.object({object: z.string(), id: z.string(), state: z.string(), planned: z.number()})),
    missing: z.array(z.string()),
  }),
  verifiedSources: z.array(z.string()),
  removed: z.unknown().optional(),
})
export type MigrateVerifyJson = z.infer<typeof migrateVerifyOutputSchema>

export const migrateFinishOutputSchema = z.object({
  dryRun: z.boolean(),
  repository: z.string(),
  changes: z.array(z.object({path: z.string(), action: z.enum(['delete', 'create', 'modify']), why: z.array(z.string()), reformatted: z.boolean().optional()})),
  generators: z.array(z.object({generator: z.string(), kustomization: z.string(), secret: z.string(), hashSuffix: z.boolean(), workloads: z.array(z.string())})),
  decryption: z.array(z.object({kustomization: z.string(), file: z.string(), keySecret: z.string().optional()})),
  decryptionKept: z.array(z.object({kustomization: z.string(), remaining: z.array(z.string())})),
  sopsConfigsKept: z.array(z.object({path: z.string(), reason: z.string()})),
  blockers: z.array(z.string()),
  verification: z.object({inSync: z.boolean(), proven: z.boolean(), counts: z.record(z.string(), z.number())}).optional(),
  branch: z.string().optional(),
  commit: z.string().optional(),
  staged: z.boolean(),
  nextSteps: z.array(z.string()),
})
export type MigrateFinishJson = z.infer<typeof migrateFinishOutputSchema>
