#!/usr/bin/env -S node --loader ts-node/esm --disable-warning=ExperimentalWarning
// Development entry: runs the TypeScript sources without a build (needs ts-node).
import {execute} from '@oclif/core'

await execute({development: true, dir: import.meta.url})
