/** The exit-code contract runbooks rely on (README, "Exit codes"). */
export const ExitCode = {
  /** Success, or everything checked is in sync. */
  Ok: 0,
  /** A check ran and found differences or findings. */
  Findings: 1,
  /** An error: bad input or config, unreachable or sealed server, refused action. */
  Error: 2,
} as const
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

/**
 * Every error the toolkit raises on purpose. The message names what is at
 * fault (file, key, region, path) and `hint` says what to do; neither may
 * contain a secret value — build them from names only.
 */
export class ToolkitError extends Error {
  readonly code: string
  readonly hint?: string
  readonly exitCode: ExitCode
  /** Machine-readable facts for --json (names and counts only, never a value), e.g. what a run wrote before it stopped. */
  readonly details?: Record<string, unknown>

  constructor(code: string, message: string, options: {hint?: string; cause?: unknown; exitCode?: ExitCode; details?: Record<string, unknown>} = {}) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause})
    this.name = 'ToolkitError'
    this.code = code
    this.hint = options.hint
    this.exitCode = options.exitCode ?? ExitCode.Error
    if (options.details) this.details = options.details
  }

  /** Message plus hint, as shown to the operator. */
  describe(): string {
    return this.hint ? `${this.message}\n  → ${this.hint}` : this.message
  }
}

export function isToolkitError(error: unknown): error is ToolkitError {
  return error instanceof ToolkitError
}

/** Thrown when the operator declines a confirmation or stdin cannot confirm. */
export class RefusedError extends ToolkitError {
  constructor(message: string, hint?: string) {
    super('REFUSED', message, {hint})
  }
}

/**
 * The message of an error the toolkit did not raise on purpose, fit to show.
 * Parsers quote their input (V8's JSON.parse: `Unexpected token … "hvs.…" is
 * not valid JSON`; YAML and js-yaml code frames), and that input may be a
 * token or a decrypted value: their text is withheld. Other messages are
 * kept to one escaped line of bounded length.
 */
export function describeUnexpected(error: unknown): string {
  if (!(error instanceof Error)) return `a non-error value was thrown (${typeof error})`
  const name = error.name || error.constructor?.name || 'Error'
  if (error instanceof SyntaxError || /yaml|parse/i.test(name)) return `${name} (its text is withheld: a parser error may quote its input)`
  const firstLine = (error.message ?? '').split('\n', 1)[0]
  // eslint-disable-next-line no-control-regex
  const printable = firstLine.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu, '?')
  return printable.length > 300 ? `${printable.slice(0, 300)}…` : printable
}
