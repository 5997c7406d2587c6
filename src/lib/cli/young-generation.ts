import {setFlagsFromString} from 'node:v8'

/**
 * Keeps V8's young generation at the size it has when the command starts.
 *
 * A command that walks thousands of Vault keys allocates fast enough for V8
 * to double its semi-spaces up to 16 MB each, and it keeps them for the rest
 * of the run: a 1.5 GB snapshot of a Vault with 3,000 keys peaked at 151-175
 * MB RSS, and at 141-144 MB with this (docs/benchmarks.md). The maximum
 * (`--max-semi-space-size`) is read only when Node starts, which an
 * npm-installed CLI cannot choose; the growth factor is read each time V8
 * grows the space, so setting it to 1 here stops the growth. An operator's own
 * --max-semi-space-size (NODE_OPTIONS) still applies as the limit.
 */
export function keepYoungGenerationSmall(): void {
  setFlagsFromString(YOUNG_GENERATION_FLAG)
}

/** Exported for the test that checks, on every supported Node, that V8 still honours it at run time. */
export const YOUNG_GENERATION_FLAG = '--semi-space-growth-factor=1'
