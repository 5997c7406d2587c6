import {ToolkitError} from '../errors/errors.js'

/** More than any bootstrap set of credentials; a runaway pipe is cut off rather than buffered. */
export const MAX_STDIN_BYTES = 4 * 1024 * 1024

/** Reads all of stdin into memory (never to a file). */
export async function readAllStdin(stream: NodeJS.ReadableStream = process.stdin): Promise<string> {
  const chunks: Buffer[] = []
  let total = 0
  for await (const chunk of stream) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer)
    total += buffer.length
    if (total > MAX_STDIN_BYTES) throw new ToolkitError('STDIN_TOO_LARGE', `stdin is larger than ${MAX_STDIN_BYTES} bytes`, {hint: 'Pipe only the bootstrap values JSON.'})
    chunks.push(buffer)
  }
  const text = Buffer.concat(chunks).toString('utf8')
  for (const chunk of chunks) chunk.fill(0)
  return text
}
