import {ToolkitError} from '../../src/lib/errors/errors.js'

/**
 * The ToolkitError a synchronous action throws (a refused configuration, a
 * rejected file); fails the test when it throws something else, or nothing.
 */
export function toolkitFailureOf(action: () => unknown, expected = 'expected a refusal'): ToolkitError {
  try {
    action()
  } catch (error) {
    expect(error).toBeInstanceOf(ToolkitError)
    return error as ToolkitError
  }
  throw new Error(expected)
}
