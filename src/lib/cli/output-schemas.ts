import {z} from 'zod'

import {bootstrapOutputSchema} from '../bootstrap/output-schema.js'
import {drListOutputSchema, drRestoreOutputSchema, drSnapshotOutputSchema, drVerifyOutputSchema} from '../dr/output-schema.js'
import {drRehydrateOutputSchema, drReseedOutputSchema} from '../dr/rehydrate-schema.js'
import {scanReportSchema, scrubOutputSchema} from '../git/output-schema.js'
import {migrateFinishOutputSchema, migrateSopsOutputSchema, migrateVerifyOutputSchema} from '../migrate/output-schema.js'
import {verifyRegionsOutputSchema} from '../regions/output-schema.js'
import {statusOutputSchema} from '../status/output-schema.js'

/** What BaseCommand adds to every --json result: the warnings an operator would have seen. */
const warnings = z.array(z.string())

/** A command's error in --json (exit 2, or a usage error). */
export const errorOutputSchema = z.object({
  error: z.object({code: z.string(), message: z.string(), hint: z.string().optional(), details: z.unknown().optional()}),
  warnings,
})

function withWarnings<S extends z.ZodObject>(schema: S) {
  return schema.extend({warnings})
}

/**
 * Every command's --json success output, by `<topic>-<command>` (the file
 * name under docs/schemas/). A command's error output is errorOutputSchema.
 */
export const outputSchemas = {
  bootstrap: z.union(bootstrapOutputSchema.options.map((option) => withWarnings(option))),
  'dr-list': withWarnings(drListOutputSchema),
  'dr-rehydrate': withWarnings(drRehydrateOutputSchema),
  'dr-reseed': withWarnings(drReseedOutputSchema),
  'dr-restore': withWarnings(drRestoreOutputSchema),
  'dr-snapshot': withWarnings(drSnapshotOutputSchema),
  'dr-verify': withWarnings(drVerifyOutputSchema),
  'git-scan': withWarnings(scanReportSchema),
  'git-scrub': withWarnings(scrubOutputSchema),
  'migrate-finish': withWarnings(migrateFinishOutputSchema),
  'migrate-sops': withWarnings(migrateSopsOutputSchema),
  'migrate-verify': withWarnings(migrateVerifyOutputSchema),
  status: withWarnings(statusOutputSchema),
  'verify-regions': withWarnings(verifyRegionsOutputSchema),
} as const

/** The JSON Schema documents docs/schemas/ holds, by file name: each command's output or its error. */
export function jsonSchemaDocuments(): Record<string, unknown> {
  const documents: Record<string, unknown> = {'error.json': {title: 'secrets --json error', ...z.toJSONSchema(errorOutputSchema)}}
  for (const [name, schema] of Object.entries(outputSchemas)) {
    documents[`${name}.json`] = {title: `secrets ${name.replace('-', ' ')} --json`, ...z.toJSONSchema(schema, {io: 'output'})}
  }
  return documents
}
