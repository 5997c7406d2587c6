#!/usr/bin/env node
// Writes the `config` property of charts/secrets-toolkit/values.schema.json: the
// JSON Schema of the configuration file (src/lib/config/schema.ts, as input, i.e.
// with its defaults optional), so that `helm install` refuses values that would
// render a configuration the toolkit rejects. Run by `npm run schemas` after a
// build; test/integration/chart/chart.test.ts checks it is current.
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const {configSchema} = await import(join(root, 'dist/lib/config/schema.js'))
const {z} = await import('zod')

/** The chart's values.schema.json with `config` set from the toolkit's own schema. */
export function chartValuesSchema(current) {
  const {$schema: _ignored, ...config} = z.toJSONSchema(configSchema, {io: 'input'})
  config.description = 'The configuration file (docs/configuration.md); generated from src/lib/config/schema.ts by scripts/chart-schema.mjs'
  return {...current, properties: {...current.properties, config}}
}

const file = join(root, 'charts/secrets-toolkit/values.schema.json')
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(file, `${JSON.stringify(chartValuesSchema(JSON.parse(readFileSync(file, 'utf8'))), null, 2)}\n`)
  console.log('wrote the config schema into charts/secrets-toolkit/values.schema.json')
}
