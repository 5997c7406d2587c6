import {z} from 'zod'

// The region comparison as --json shows it (verify regions, dr restore --compare-region).

export const regionComparisonSchema = z.object({
  regions: z.tuple([z.string(), z.string()]),
  prefix: z.string(),
  exclude: z.array(z.string()),
  keysCompared: z.number(),
  /** Keys per drift class (value-differs, metadata-differs, only-in-<region>, deleted-in-<region>). */
  counts: z.record(z.string(), z.number()),
  keysWithDrift: z.number(),
  inSync: z.boolean(),
  /** One entry per key with drift, sorted by key: names and hashes, never values. */
  differences: z.array(z.unknown()),
  errors: z.array(z.unknown()),
  incomplete: z.object({code: z.string(), message: z.string(), hint: z.string().optional(), keysNotCompared: z.number()}).optional(),
  durationMs: z.number(),
})
export type RegionComparisonOutput = z.infer<typeof regionComparisonSchema>
