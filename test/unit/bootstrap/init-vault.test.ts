import {checkInitVaultTerminal, keySplitProblem} from '../../../src/lib/bootstrap/init-vault.js'
import {checkValueMode} from '../../../src/lib/bootstrap/wizard.js'

const terminal = {json: false, stdinIsTTY: true, stdoutIsTTY: true, allowNonTtyStdout: false}

describe('--init-vault refuses every way the keys could land somewhere else', () => {
  test('a terminal on both ends is accepted', () => {
    expect(() => checkInitVaultTerminal(terminal, 5, 3)).not.toThrow()
    expect(() => checkInitVaultTerminal(terminal, 1, 1)).not.toThrow()
  })

  test('--json is refused, even with the explicit flag', () => {
    expect(() => checkInitVaultTerminal({...terminal, json: true, allowNonTtyStdout: true}, 5, 3)).toThrow(/never prints --json/)
  })

  test('stdout that is not a terminal is refused unless --allow-non-tty-stdout', () => {
    expect(() => checkInitVaultTerminal({...terminal, stdoutIsTTY: false}, 5, 3)).toThrow(/stdout is not a terminal/)
    expect(() => checkInitVaultTerminal({...terminal, stdoutIsTTY: false, allowNonTtyStdout: true}, 5, 3)).not.toThrow()
  })

  test('stdin that is not a terminal cannot acknowledge', () => {
    expect(() => checkInitVaultTerminal({...terminal, stdinIsTTY: false, allowNonTtyStdout: true}, 5, 3)).toThrow(/needs a terminal on stdin/)
  })

  test('the key split follows Vault\'s rules', () => {
    expect(keySplitProblem(5, 3)).toBeUndefined()
    expect(keySplitProblem(0, 1)).toMatch(/--key-shares must be 1–255/)
    expect(keySplitProblem(3, 4)).toMatch(/cannot exceed/)
    expect(keySplitProblem(3, 1)).toMatch(/at least 2/)
    expect(() => checkInitVaultTerminal(terminal, 3, 5)).toThrow(/cannot exceed/)
  })
})

describe('the wizard\'s terminal rule', () => {
  test('interactive needs a TTY on stdin; --values-from-stdin needs a pipe', () => {
    expect(() => checkValueMode(false, true, false)).not.toThrow()
    expect(() => checkValueMode(false, false, false)).toThrow(/needs a terminal: stdin is not a TTY/)
    expect(() => checkValueMode(true, false, true)).not.toThrow()
    expect(() => checkValueMode(true, true, false)).toThrow(/stdin is a terminal/)
    expect(() => checkValueMode(false, true, true)).toThrow(/--json cannot be combined/)
  })
})
