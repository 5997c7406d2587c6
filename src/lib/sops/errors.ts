import {ToolkitError} from '../errors/errors.js'

export type SopsErrorCode = 'MAC_MISMATCH' | 'AAD_MISMATCH' | 'NO_KEY' | 'NOT_SOPS' | 'PARSE' | 'FILE_NOT_FOUND' | 'NOT_A_FILE' | 'FILE_TOO_LARGE' | 'UNSUPPORTED_KEY' | 'SOPS_FAILED'

/**
 * A file that could not be decrypted. The message names the file (and the key
 * path where one value is at fault), never a value: build it from names only.
 */
export class SopsError extends ToolkitError {
  declare readonly code: SopsErrorCode
  readonly file: string

  constructor(code: SopsErrorCode, file: string, message: string, options: {hint?: string; cause?: unknown} = {}) {
    super(code, message, options)
    this.name = 'SopsError'
    this.file = file
  }
}

export function isSopsError(error: unknown): error is SopsError {
  return error instanceof SopsError
}
