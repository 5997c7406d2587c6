#!/usr/bin/env node
// Writes docs/schemas/<topic>-<command>.json (and error.json): the JSON Schema
// of every command's --json output, generated from the zod schemas the
// commands' results are typed with (src/lib/cli/output-schemas.ts). Run by
// `npm run schemas` after a build; test/unit/schemas checks they are current.
import {mkdirSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const {jsonSchemaDocuments} = await import(join(root, 'dist/lib/cli/output-schemas.js'))
const directory = join(root, 'docs/schemas')
mkdirSync(directory, {recursive: true})
const documents = jsonSchemaDocuments()
// A command that went away takes its schema with it.
for (const name of readdirSync(directory)) if (name.endsWith('.json') && !(name in documents)) rmSync(join(directory, name))
for (const [name, document] of Object.entries(documents)) writeFileSync(join(directory, name), `${JSON.stringify(document, null, 2)}\n`)
console.log(`wrote ${Object.keys(documents).length} schemas to docs/schemas/`)
