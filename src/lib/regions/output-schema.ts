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
})
export type VerifyRegionsJson = z.infer<typeof verifyRegionsOutputSchema>
