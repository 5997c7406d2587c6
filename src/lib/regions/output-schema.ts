import {z} from 'zod'

import {regionComparisonSchema} from '../compare/output-schema.js'

// The --json output of `verify regions`.

export const verifyRegionsOutputSchema = regionComparisonSchema.extend({
  repair: z
    .object({
      dryRun: z.boolean(),
      plan: z.unknown(),
      backup: z.object({file: z.string(), manifestFile: z.string()}).optional(),
      result: z.unknown().optional(),
      after: regionComparisonSchema.optional(),
    })
    .optional(),
  /** Per region: requests sent and the failures retried past (counts only). */
  requests: z.record(z.string(), z.unknown()).optional(),
  /** Set with exit 2: why the result cannot be trusted in full; the report still holds what was found. */
  error: z.object({code: z.string(), message: z.string(), hint: z.string().optional()}).optional(),
})
export type VerifyRegionsJson = z.infer<typeof verifyRegionsOutputSchema>
