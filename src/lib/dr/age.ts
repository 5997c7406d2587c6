import {open, readFile} from 'node:fs/promises'
import {Readable} from 'node:stream'

import {ToolkitError} from '../errors/errors.js'
import {displayText} from '../report/display.js'
import {SecretValue} from '../secret/secret-value.js'
import {AGE_STREAM_ERROR} from './archive.js'

/**
 * age encryption of snapshot archives. age-encryption streams natively (web
 * ReadableStreams, 64 KiB STREAM chunks), so an archive is encrypted and
 * decrypted on the fly, never held whole in memory. The library is loaded only
 * when something is encrypted or decrypted.
 */
const age = () => import('age-encryption')

/** Every age v1 file starts with this line. */
export const AGE_MAGIC = 'age-encryption.org/v1\n'

export async function isAgeFile(path: string): Promise<boolean> {
  const handle = await open(path, 'r')
  try {
    const buffer = Buffer.alloc(AGE_MAGIC.length)
    const {bytesRead} = await handle.read(buffer, 0, buffer.length, 0)
    return bytesRead === buffer.length && buffer.toString('latin1') === AGE_MAGIC
  } finally {
    await handle.close()
  }
}

/** Checks recipients before anything is downloaded, so a typo fails fast. */
export async function validateRecipients(recipients: string[]): Promise<void> {
  if (recipients.length === 0) return
  const {Encrypter} = await age()
  for (const recipient of recipients) {
    try {
      new Encrypter().addRecipient(recipient)
    } catch {
      throw new ToolkitError('BAD_RECIPIENT', `--encrypt-to ${displayText(recipient)} is not an age recipient`, {
        hint: 'Pass a public key such as age1… (from `age-keygen -y key.txt`), not an identity (AGE-SECRET-KEY-…).',
      })
    }
  }
}

/**
 * Reads an age identity file (age-keygen format: comments and one
 * AGE-SECRET-KEY-… per line). The keys stay SecretValues until handed to the
 * decrypter.
 */
export async function loadIdentities(path: string): Promise<SecretValue[]> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    throw new ToolkitError('IDENTITY_UNREADABLE', `cannot read the age identity file ${displayText(path)} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`, {
      hint: 'Pass --identity with the path of the age key file that matches one of the snapshot\'s recipients.',
    })
  }
  const identities = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('AGE-SECRET-KEY-'))
    .map((line) => SecretValue.fromString(line))
  if (identities.length === 0) {
    throw new ToolkitError('IDENTITY_INVALID', `${displayText(path)} holds no age identity (no AGE-SECRET-KEY-… line)`, {hint: 'Pass the key file written by age-keygen.'})
  }
  return identities
}

/** An async iterable as a pull-driven web stream: nothing is read before the consumer asks. */
function toWeb(source: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]()
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const {value, done} = await iterator.next()
        if (done) controller.close()
        else controller.enqueue(value instanceof Buffer ? new Uint8Array(value.buffer, value.byteOffset, value.byteLength) : value)
      },
      async cancel(reason) {
        await iterator.return?.(reason)
      },
    },
    {highWaterMark: 0},
  )
}

async function* fromWeb(stream: ReadableStream<Uint8Array>, label: string): AsyncGenerator<Buffer> {
  const reader = stream.getReader()
  try {
    for (;;) {
      let chunk: Awaited<ReturnType<typeof reader.read>>
      try {
        chunk = await reader.read()
      } catch (error) {
        throw Object.assign(new Error(`${label}: ${(error as Error).message}`), {code: AGE_STREAM_ERROR, cause: error})
      }
      if (chunk.done) return
      yield Buffer.from(chunk.value.buffer, chunk.value.byteOffset, chunk.value.byteLength)
    }
  } finally {
    reader.releaseLock()
  }
}

export async function encryptStream(source: AsyncIterable<Uint8Array>, recipients: string[]): Promise<Readable> {
  const {Encrypter} = await age()
  const encrypter = new Encrypter()
  for (const recipient of recipients) encrypter.addRecipient(recipient)
  const encrypted = await encrypter.encrypt(toWeb(source))
  return Readable.from(fromWeb(encrypted, 'age encryption failed'), {objectMode: false})
}

/**
 * Decrypts a stream. The header is processed before this resolves: a file
 * that none of the identities can open fails here (an error: the snapshot
 * cannot be checked), while a damaged body fails later, in the stream.
 */
export async function decryptStream(source: AsyncIterable<Uint8Array>, identities: SecretValue[], file: string): Promise<Readable> {
  const {Decrypter} = await age()
  const decrypter = new Decrypter()
  for (const identity of identities) decrypter.addIdentity(identity.revealString())
  let decrypted: ReadableStream<Uint8Array>
  try {
    decrypted = await decrypter.decrypt(toWeb(source))
  } catch (error) {
    const message = (error as Error).message ?? ''
    if (/no identity matched/i.test(message)) {
      throw new ToolkitError('IDENTITY_MISMATCH', `none of the --identity keys can decrypt ${displayText(file)}`, {
        hint: 'Use the age key whose public key is one of the recipients recorded in the snapshot\'s manifest (encryption.recipients).',
      })
    }
    throw new ToolkitError('DECRYPTION_FAILED', `${displayText(file)} has an invalid age header (${displayText(message)})`, {hint: 'The file is damaged or not an age file: use another snapshot.'})
  }
  return Readable.from(fromWeb(decrypted, 'age decryption failed'), {objectMode: false})
}
