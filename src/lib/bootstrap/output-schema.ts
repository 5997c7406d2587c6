import {z} from 'zod'

// The --json output of `bootstrap`, one shape per mode: names and paths, never a value.

export const bootstrapOutputSchema = z.discriminatedUnion('mode', [
  z.object({mode: z.literal('wizard'), result: z.unknown()}),
  z.object({mode: z.literal('manifests'), files: z.array(z.unknown())}),
  z.object({mode: z.literal('init-vault'), result: z.unknown()}),
  // The spec holds names and validation rules only; with --json it travels inside the JSON, not before it.
  z.object({mode: z.literal('print-spec'), spec: z.string().optional()}),
])
export type BootstrapJson = z.infer<typeof bootstrapOutputSchema>
