import {spawn} from 'node:child_process'
import {readFile} from 'node:fs/promises'

import {isSecretValue, SecretValue} from '../secret/secret-value.js'
import {decryptSops, resolveEngine} from '../sops/decrypt.js'
import {detectSops, isSopsConfigFile, type SopsFormat} from '../sops/detect.js'
import {encryptedLeafPaths, leafPathKey, type LeafSegment} from '../sops/encrypted-leaves.js'
import {parseSopsYamlOutput, sopsExitError} from '../sops/engine-sops.js'
import {SopsError} from '../sops/errors.js'
import {withoutEmptyDefaultSection} from '../sops/output.js'
import type {SopsTree} from '../sops/types.js'
import {runGit} from '../git-client/exec.js'
import {lfsObjectPath} from './lfs.js'
import type {SopsDetector} from './scan.js'
import type {KnownValue} from './value-patterns.js'

/** The same detection as `migrate sops`. */
export function sopsDetector(): SopsDetector {
  return {detect: (content) => detectSops(content), isConfigPath: (path) => isSopsConfigFile(path)}
}

/** Every SecretValue in decrypted documents, with its key path (document index first) and a readable name. */
export function collectDecryptedLeaves(documents: readonly SopsTree[]): {path: string; key: string; value: SecretValue}[] {
  const leaves: {path: string; key: string; value: SecretValue}[] = []
  documents.forEach((document, documentIndex) => {
    // An explicit stack: deep nesting must not exhaust the call stack.
    const stack: {node: SopsTree; segments: LeafSegment[]}[] = [{node: document, segments: []}]
    while (stack.length > 0) {
      const {node, segments} = stack.pop()!
      if (isSecretValue(node)) {
        leaves.push({path: leafPathKey(documentIndex, segments), key: keyName(documents.length > 1 ? documentIndex : undefined, segments), value: node})
      } else if (Array.isArray(node)) {
        node.forEach((child, index) => stack.push({node: child, segments: [...segments, index]}))
      } else if (node !== null && typeof node === 'object') {
        for (const [key, child] of Object.entries(node)) stack.push({node: child, segments: [...segments, key]})
      }
    }
  })
  return leaves
}

function keyName(documentIndex: number | undefined, segments: readonly LeafSegment[]): string {
  let name = documentIndex === undefined ? '' : `[${documentIndex}]`
  for (const segment of segments) name += typeof segment === 'number' ? `[${segment}]` : name ? `.${segment}` : segment
  return name || '(value)'
}

const SOPS_TIMEOUT_MS = 5 * 60_000
const MAX_OUTPUT = 256 * 1024 * 1024

/**
 * Decrypts ciphertext held in memory. The built-in engine takes the bytes
 * directly; the sops binary reads them from its stdin (sops ≥ 3.10 reads
 * stdin when given no file). Nothing — not even ciphertext — is written to
 * a temporary file, so an interrupted scan leaves no copy behind.
 */
export async function decryptInMemory(label: string, content: Buffer, format: SopsFormat, options: {ignoreMac?: boolean; env?: NodeJS.ProcessEnv} = {}): Promise<SopsTree[]> {
  const env = options.env ?? process.env
  const {engine, sopsBinary} = resolveEngine({env})
  if (engine === 'builtin') return (await decryptSops(label, {content, engine: 'builtin', ignoreMac: options.ignoreMac, env})).documents
  const outputType = format === 'binary' ? 'binary' : 'yaml'
  const args = ['decrypt', '--input-type', format, '--output-type', outputType, ...(options.ignoreMac ? ['--ignore-mac'] : [])]
  const {code, stdout, stderr, failure} = await runSopsWithInput(sopsBinary!, args, content, {...env, SOPS_DISABLE_VERSION_CHECK: '1'})
  if (failure) throw new SopsError('SOPS_FAILED', label, `could not run sops (${sopsBinary}) for ${label}: ${failure}`, {hint: 'Check that SOPS_BIN or PATH names a working sops binary.'})
  if (code !== 0) {
    if (/no file specified|file argument|missing file/i.test(stderr)) {
      throw new SopsError('SOPS_FAILED', label, `${sopsBinary} cannot read a file from its standard input (sops 3.10 or later can), so ${label} was not decrypted`, {
        hint: 'Install sops 3.10 or later, or point SOPS_BIN elsewhere; age-encrypted files are decrypted in-process when no sops binary is found.',
      })
    }
    throw sopsExitError(label, code, stderr)
  }
  if (format === 'binary') return [{data: SecretValue.fromBytes(stdout)}]
  const documents = parseSopsYamlOutput(label, stdout)
  return format === 'ini' ? documents.map(withoutEmptyDefaultSection) : documents
}

function runSopsWithInput(binary: string, args: string[], input: Buffer, env: NodeJS.ProcessEnv): Promise<{code: number; stdout: Buffer; stderr: string; failure?: string}> {
  return new Promise((resolvePromise) => {
    const child = spawn(binary, args, {env, stdio: ['pipe', 'pipe', 'pipe'], timeout: SOPS_TIMEOUT_MS})
    const out: Buffer[] = []
    const err: Buffer[] = []
    let size = 0
    let errSize = 0
    let failure: string | undefined
    child.stdout.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_OUTPUT) {
        failure = 'its output exceeded 256 MiB'
        child.kill('SIGKILL')
      } else out.push(chunk)
    })
    child.stderr.on('data', (chunk: Buffer) => {
      if (errSize < 64 * 1024) err.push(chunk)
      errSize += chunk.length
    })
    // sops may exit before reading everything (a bad key): a broken pipe is then expected, not an error.
    child.stdin.on('error', () => undefined)
    child.stdin.end(input)
    child.on('error', (error) => {
      failure = (error as NodeJS.ErrnoException).code ?? 'spawn failed'
    })
    child.on('close', (code, signal) => {
      if (signal && !failure) failure = signal === 'SIGTERM' ? `it timed out after ${SOPS_TIMEOUT_MS / 1000} s` : `it was killed by ${signal}`
      const stdout = Buffer.concat(out)
      for (const chunk of out) chunk.fill(0)
      if (failure) stdout.fill(0)
      resolvePromise({code: code ?? -1, stdout, stderr: Buffer.concat(err).toString('utf8'), failure})
    })
  })
}

export interface SopsBlobSource {
  blob: string
  format: string
  paths: string[]
  /** When the blob is a Git LFS pointer: the LFS object that holds the SOPS file. */
  lfsObject?: string
}

export interface SopsValues {
  values: KnownValue[]
  failures: string[]
  /** Decrypted leaves left out because sops never encrypted them (names only). */
  notEncrypted: number
}

/**
 * `--values-from sops`: decrypts every SOPS blob found in history, with the
 * usual keys (SOPS_AGE_KEY_FILE, SOPS_AGE_KEY, GnuPG), in memory. A known
 * value is only a leaf sops encrypted (an `ENC[…]` in the blob): the clear
 * fields of a SOPS file (`kind`, `metadata.name`, a namespace, keys matching
 * `unencrypted_suffix`/`unencrypted_regex`) are not secrets and are never
 * searched for or replaced.
 */
export async function valuesFromSopsBlobs(repo: string, blobs: SopsBlobSource[], options: {ignoreMac?: boolean; lfsObjects?: string; env?: NodeJS.ProcessEnv} = {}): Promise<SopsValues> {
  const values: KnownValue[] = []
  const failures: string[] = []
  let notEncrypted = 0
  for (const {blob, format, paths, lfsObject} of blobs) {
    const secret = paths[0] ?? blob
    const label = `${secret} (blob ${blob.slice(0, 12)}${lfsObject ? `, LFS object ${lfsObject.slice(0, 12)}` : ''})`
    try {
      const content = lfsObject && options.lfsObjects ? await readFile(lfsObjectPath(options.lfsObjects, lfsObject)) : (await runGit(repo, ['cat-file', 'blob', blob], {stderrInErrors: false})).stdout
      const encrypted = encryptedLeafPaths(label, content, format as SopsFormat)
      const documents = await decryptInMemory(label, content, format as SopsFormat, {ignoreMac: options.ignoreMac, env: options.env})
      for (const leaf of collectDecryptedLeaves(documents)) {
        if (encrypted.has(leaf.path)) values.push({source: `sops:${blob.slice(0, 12)}`, secret, key: leaf.key, value: leaf.value})
        else notEncrypted++
      }
    } catch (error) {
      // Decryption and parse errors name keys, files and lines, never values.
      failures.push(`${label}: ${(error as Error).message.split('\n')[0].slice(0, 200)}`)
    }
  }
  return {values, failures, notEncrypted}
}
