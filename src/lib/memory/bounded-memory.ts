import {setFlagsFromString} from 'node:v8'
import {runInNewContext} from 'node:vm'

/**
 * Flat memory for the commands that stream gigabytes (dr snapshot, restore,
 * verify, list): turned on by the command before it starts, it changes two
 * things V8 does on its own, both measured on a 1.5 GB snapshot of a Vault
 * with 3,000 keys (docs/benchmarks.md).
 *
 * The young generation. Walking every key allocates fast enough for V8 to
 * double its semi-spaces up to 16 MB each, and it keeps them for the rest of
 * the run (151-175 MB peak RSS; 141-144 MB without the growth). The maximum
 * (`--max-semi-space-size`) is read only when Node starts, which an
 * npm-installed CLI cannot choose; the growth factor is read each time V8
 * grows the space, so setting it to 1 stops the growth. An operator's own
 * --max-semi-space-size (NODE_OPTIONS) still applies as the limit.
 *
 * The garbage of the stream itself. Every block that arrives from a socket,
 * leaves the inflater or is read from a file is a fresh buffer, dead as soon
 * as it is handled; its memory lies outside V8's heap, and V8 looks at that
 * only once about 64 MB of it has piled up. A snapshot download therefore
 * held up to 57 MB of dead buffers (peak 131-158 MB). Where fresh blocks
 * arrive, the stream reports their size (noteStreamedBytes), once per block;
 * every 4 MB a young-generation collection, with the buffers freed on this
 * thread instead of later on a helper thread, frees them: the dead buffers
 * stay under about 12 MB and the peak at 106-114 MB, and the collections
 * (about half a millisecond each: little is alive) cost less CPU than the
 * full collections V8 ran without them.
 */
export function boundMemory(): void {
  setFlagsFromString(YOUNG_GENERATION_FLAG)
  setFlagsFromString(SYNCHRONOUS_BUFFER_SWEEP_FLAG)
  collectYoung ??= youngCollection()
}

/**
 * Says that `bytes` more of a stream's blocks passed (and so will turn to
 * garbage); does nothing unless boundMemory() was called. Cheap enough to
 * call for every block.
 */
export function noteStreamedBytes(bytes: number): void {
  if (collectYoung === undefined) return
  streamedSinceCollection += bytes
  if (streamedSinceCollection < STREAMED_GARBAGE_LIMIT) return
  streamedSinceCollection = 0
  collectYoung()
}

/** Exported for the tests that check, on every supported Node, that V8 still honours them at run time. */
export const YOUNG_GENERATION_FLAG = '--semi-space-growth-factor=1'
export const SYNCHRONOUS_BUFFER_SWEEP_FLAG = '--no-concurrent-array-buffer-sweeping'
/** Streamed bytes between two collections: 8 MB let 17-21 MB of dead buffers pile up, 4 MB about 12. */
export const STREAMED_GARBAGE_LIMIT = 4 * 1024 * 1024

let collectYoung: (() => void) | undefined
let streamedSinceCollection = 0

/**
 * V8's gc() with the young-generation option, obtained without starting Node
 * with --expose-gc: the flag makes V8 install gc() in contexts created after
 * it is set, so a new context hands it over and the flag goes off again
 * (nothing else sees a global gc). Undefined if a Node release stops
 * offering it: memory is then as V8 manages it, and nothing else changes.
 */
function youngCollection(): (() => void) | undefined {
  setFlagsFromString('--expose-gc')
  try {
    const gc = runInNewContext('typeof gc === "function" ? gc : undefined') as ((options: {type: 'minor'}) => void) | undefined
    return gc && (() => gc({type: 'minor'}))
  } finally {
    setFlagsFromString('--no-expose-gc')
  }
}
