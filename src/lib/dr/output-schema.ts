import {z} from 'zod'

import {regionComparisonSchema} from '../compare/output-schema.js'

// The --json output of the dr commands. Manifests are shown summarised.

const problem = z.object({code: z.string(), message: z.string()})

export const drVerifyOutputSchema = z.object({
  file: z.string(),
  manifestFile: z.string().optional(),
  manifest: z.unknown().optional(),
  ok: z.boolean(),
  encrypted: z.boolean(),
  contentsChecked: z.boolean(),
  size: z.number(),
  sha256: z.string(),
  inspection: z.unknown().optional(),
  problems: z.array(problem),
  notes: z.array(z.string()),
})
export type DrVerifyOutput = z.infer<typeof drVerifyOutputSchema>

export const drListOutputSchema = z.object({
  directory: z.string(),
  entries: z.array(z.unknown()),
  strays: z.array(z.object({file: z.string(), reason: z.string()})),
})
export type DrListOutput = z.infer<typeof drListOutputSchema>

export const drSnapshotOutputSchema = z.object({
  file: z.string(),
  manifestFile: z.string(),
  manifest: z.unknown(),
  pruned: z.array(z.unknown()),
})
export type DrSnapshotOutput = z.infer<typeof drSnapshotOutputSchema>

export const drRestoreOutputSchema = z.object({
  dryRun: z.boolean(),
  checkOnly: z.boolean(),
  restored: z.boolean(),
  ok: z.boolean(),
  plan: z.unknown().optional(),
  safetySnapshot: z.object({file: z.string(), manifestFile: z.string(), verified: z.boolean()}).optional(),
  upload: z.unknown().optional(),
  serverState: z.string().optional(),
  checks: z.array(z.unknown()),
  comparison: regionComparisonSchema.optional(),
})
export type DrRestoreOutput = z.infer<typeof drRestoreOutputSchema>
