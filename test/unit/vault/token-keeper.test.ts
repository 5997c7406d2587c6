import {jest} from '@jest/globals'
import {TokenKeeper} from '../../../src/lib/vault/auth.js'
import type {VaultLogin} from '../../../src/lib/config/credentials.js'
import type {VaultHttp} from '../../../src/lib/vault/vault-http.js'
import {SecretValue} from '../../../src/lib/secret/secret-value.js'

// The schedule of renewals and logins, on a scripted HTTP layer: what Vault answers is decided by the script,
// so the test is about when the keeper asks. The integration suite (vault-auth/kubernetes) proves it against OpenBao.
type Call = {at: number; method: string; path: string}

type Script = {
  /** The login's TTL, or the error it fails with; n counts the logins from 1. */
  login: (n: number) => number | Error
  renew: () => {ttl: number; renewable?: boolean} | Error
  lookup?: () => {ttl: number; renewable: boolean}
}

function scriptedVault(script: Script) {
  const calls: Call[] = []
  let logins = 0
  let issued = 0
  let token: SecretValue | undefined
  const http = {
    get token() {
      return token
    },
    setToken(value: SecretValue | undefined) {
      token = value
    },
    async request(method: string, path: string) {
      calls.push({at: Date.now(), method, path})
      if (path.endsWith('/login')) {
        const ttl = script.login(++logins)
        if (ttl instanceof Error) throw ttl
        return {status: 200, body: {auth: {client_token: `t${++issued}`, lease_duration: ttl}}}
      }
      if (path === 'auth/token/renew-self') {
        const answer = script.renew()
        if (answer instanceof Error) throw answer
        return {status: 200, body: {auth: {lease_duration: answer.ttl, renewable: answer.renewable ?? true}}}
      }
      return {status: 200, body: {data: script.lookup?.() ?? {ttl: 0, renewable: false}}}
    },
  }
  return {http: http as unknown as VaultHttp, calls}
}

const kubernetes: VaultLogin = {method: 'kubernetes', mount: 'kubernetes', role: 'r', jwt: SecretValue.fromString('jwt'), readJwt: () => SecretValue.fromString('jwt2')}

describe('TokenKeeper', () => {
  beforeEach(() => {
    jest.useFakeTimers({now: 0})
  })
  afterEach(() => {
    jest.useRealTimers()
  })

  test('renews at two thirds of the TTL while the renewal gives the full TTL back', async () => {
    const {http, calls} = scriptedVault({login: () => 60, renew: () => ({ttl: 60})})
    const keeper = new TokenKeeper(http, kubernetes)
    await keeper.start()
    await jest.advanceTimersByTimeAsync(130_000)
    keeper.stop()
    expect(calls.map((call) => [call.at, call.path])).toEqual([
      [0, 'auth/kubernetes/login'],
      [40_000, 'auth/token/renew-self'],
      [80_000, 'auth/token/renew-self'],
      [120_000, 'auth/token/renew-self'],
    ])
  })

  test('a renewal capped by the max TTL logs in again at once, so the token in use never runs into its last third', async () => {
    // token_ttl 6 s, token_max_ttl 6 s: the renewal at 4 s can only give 2 s back.
    const {http, calls} = scriptedVault({login: () => 6, renew: () => ({ttl: 2})})
    const keeper = new TokenKeeper(http, kubernetes)
    await keeper.start()
    await jest.advanceTimersByTimeAsync(12_500)
    keeper.stop()
    expect(calls.map((call) => [call.at, call.path])).toEqual([
      [0, 'auth/kubernetes/login'],
      [4_000, 'auth/token/renew-self'],
      [4_000, 'auth/kubernetes/login'],
      [8_000, 'auth/token/renew-self'],
      [8_000, 'auth/kubernetes/login'],
      [12_000, 'auth/token/renew-self'],
      [12_000, 'auth/kubernetes/login'],
    ])
    // A login after the first reads the (rotated) token file again.
    expect(http.token?.revealString()).toBe('t4')
  })

  test('a failed renewal logs in again; a failed login is tried again 2 s later (two thirds of a 3 s retry)', async () => {
    // The first login works, the second fails (Vault sealed for a moment), the third works.
    const {http, calls} = scriptedVault({login: (n) => (n === 2 ? new Error('503') : 30), renew: () => new Error('403 permission denied')})
    const keeper = new TokenKeeper(http, kubernetes)
    await keeper.start()
    await jest.advanceTimersByTimeAsync(23_500)
    keeper.stop()
    expect(calls.map((call) => [call.at, call.path])).toEqual([
      [0, 'auth/kubernetes/login'],
      [20_000, 'auth/token/renew-self'],
      [20_000, 'auth/kubernetes/login'],
      [22_000, 'auth/token/renew-self'],
      [22_000, 'auth/kubernetes/login'],
    ])
  })

  test('a static token is renewed at two thirds of its TTL and never replaced; once a renewal fails it is left alone', async () => {
    let renewals = 0
    const {http, calls} = scriptedVault({login: () => 0, renew: () => (++renewals < 3 ? {ttl: 30} : new Error('403')), lookup: () => ({ttl: 30, renewable: true})})
    const keeper = new TokenKeeper(http, {method: 'token', token: SecretValue.fromString('static')})
    await keeper.start()
    await jest.advanceTimersByTimeAsync(300_000)
    keeper.stop()
    expect(calls.map((call) => [call.at, call.path])).toEqual([
      [0, 'auth/token/lookup-self'],
      [20_000, 'auth/token/renew-self'],
      [40_000, 'auth/token/renew-self'],
      [60_000, 'auth/token/renew-self'],
    ])
    expect(http.token?.revealString()).toBe('static')
  })
})
