import {z} from 'zod'

// The --json output of `git scan` and `git scrub`, as data a script can rely
// on: the commands return these inferred types, docs/schemas/ is generated
// from them (npm run schemas), and a test validates real outputs against them.

const located = {paths: z.array(z.string()), commits: z.array(z.string())}

export const scanReportSchema = z.object({
  repository: z.string(),
  clean: z.boolean(),
  objects: z.object({scanned: z.number(), bytes: z.number(), commits: z.number(), lfsObjects: z.number()}),
  sopsBlobs: z.array(z.object({blob: z.string(), format: z.string(), ...located, lfsObject: z.string().optional()})),
  sopsConfigs: z.array(z.object({blob: z.string(), ...located})),
  valueFindings: z.array(
    z.object({
      object: z.string(),
      objectType: z.enum(['blob', 'commit', 'tag']),
      tag: z.string().optional(),
      lfsObject: z.string().optional(),
      matches: z.array(z.object({source: z.string(), secret: z.string(), key: z.string(), forms: z.array(z.string())})),
      ...located,
    }),
  ),
  uncheckedBlobs: z.array(
    z.object({
      blob: z.string(),
      reason: z.enum(['too-large-with-sops-markers', 'unparsable-with-sops-markers', 'lfs-object-missing']),
      size: z.number(),
      lfsObject: z.string().optional(),
      ...located,
    }),
  ),
  skippedValues: z.array(z.object({source: z.string(), secret: z.string(), key: z.string(), reason: z.string()})),
  warnings: z.array(z.string()),
  durationMs: z.number(),
})
export type ScanOutput = z.infer<typeof scanReportSchema>

export const scrubOutputSchema = z.object({
  dryRun: z.boolean(),
  preflight: z.array(z.object({name: z.string(), ok: z.boolean(), detail: z.string().optional()})),
  /** What the rewrite removes (see the human plan for its wording). */
  plan: z.unknown(),
  engine: z.string().optional(),
  engineNotes: z.array(z.string()).optional(),
  backup: z.string().optional(),
  rescan: scanReportSchema.optional(),
  clean: z.boolean(),
  next: z.unknown().optional(),
})
export type ScrubOutput = z.infer<typeof scrubOutputSchema>
