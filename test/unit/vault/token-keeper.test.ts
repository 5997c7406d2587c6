import {jest} from '@jest/globals'
import {TokenKeeper} from '../../../src/lib/vault/auth.js'
import type {VaultLogin} from '../../../src/lib/config/credentials.js'
import type {VaultHttp} from '../../../src/lib/vault/vault-http.js'
import {SecretValue} from '../../../src/lib/secret/secret-value.js'

// The schedule of renewals and logins, on a scripted HTTP layer: what Vault answers is decided by the script,
// so the test is about when the keeper asks. The integration suite (vault-auth/kubernetes) proves it against OpenBao.
type Call = {at: number; path: string}

type Script = {
  /** The login's TTL, or the error it fails with; n counts the logins from 1. */
  login: (n: number) => number | Error
  renew: () => {ttl: number; renewable?: boolean} | Error
  lookup?: () => {ttl: number; renewable: boolean}
}

function scriptedVault(script: Script) {
  const calls: Call[] = []
  const jwts: string[] = []
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
    async request(_method: string, path: string, options: {body?: {jwt?: string}} = {}) {
      calls.push({at: Date.now(), path})
      if (path.endsWith('/login')) {
        if (options.body?.jwt) jwts.push(options.body.jwt)
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
  return {http: http as unknown as VaultHttp, calls, jwts}
}

const kubernetes: VaultLogin = {method: 'kubernetes', mount: 'kubernetes', role: 'r', jwt: SecretValue.fromString('jwt'), readJwt: () => SecretValue.fromString('jwt2')}

/** Runs a keeper for `forMs` of fake time; returns when (ms) it asked what, and the token it ended with. */
async function keep(script: Script, login: VaultLogin, forMs: number): Promise<{asked: Array<[number, string]>; token: string | undefined; jwts: string[]}> {
  const {http, calls, jwts} = scriptedVault(script)
  const keeper = new TokenKeeper(http, login)
  await keeper.start()
  await jest.advanceTimersByTimeAsync(forMs)
  keeper.stop()
  return {asked: calls.map((call) => [call.at, call.path]), token: http.token?.revealString(), jwts}
}

describe('TokenKeeper', () => {
  beforeEach(() => {
    jest.useFakeTimers({now: 0})
  })
  afterEach(() => {
    jest.useRealTimers()
  })

  test('renews at two thirds of the TTL while the renewal gives the full TTL back', async () => {
    const {asked, token} = await keep({login: () => 60, renew: () => ({ttl: 60})}, kubernetes, 130_000)
    expect(token).toBe('t1')
    expect(asked).toEqual([
      [0, 'auth/kubernetes/login'],
      [40_000, 'auth/token/renew-self'],
      [80_000, 'auth/token/renew-self'],
      [120_000, 'auth/token/renew-self'],
    ])
  })

  test('a renewal capped by the max TTL logs in again at once, so the token in use never runs into its last third', async () => {
    // token_ttl 6 s, token_max_ttl 6 s: the renewal at 4 s can only give 2 s back.
    const {asked, token, jwts} = await keep({login: () => 6, renew: () => ({ttl: 2})}, kubernetes, 12_500)
    expect(asked).toEqual([
      [0, 'auth/kubernetes/login'],
      [4_000, 'auth/token/renew-self'],
      [4_000, 'auth/kubernetes/login'],
      [8_000, 'auth/token/renew-self'],
      [8_000, 'auth/kubernetes/login'],
      [12_000, 'auth/token/renew-self'],
      [12_000, 'auth/kubernetes/login'],
    ])
    expect(token).toBe('t4')
    // The first login sends the JWT read at start; every later one reads the (rotated) token file again.
    expect(jwts).toEqual(['jwt', 'jwt2', 'jwt2', 'jwt2'])
  })

  test('a failed renewal logs in again; a failed login is tried again 2 s later (two thirds of a 3 s retry)', async () => {
    // The first login works, the second fails (Vault sealed for a moment), the third works.
    const {asked, token} = await keep({login: (n) => (n === 2 ? new Error('503') : 30), renew: () => new Error('403 permission denied')}, kubernetes, 23_500)
    expect(asked).toEqual([
      [0, 'auth/kubernetes/login'],
      [20_000, 'auth/token/renew-self'],
      [20_000, 'auth/kubernetes/login'],
      [22_000, 'auth/token/renew-self'],
      [22_000, 'auth/kubernetes/login'],
    ])
    expect(token).toBe('t2')
  })

  test('a static token is renewed at two thirds of its TTL and never replaced; once a renewal fails it is left alone', async () => {
    let renewals = 0
    const {asked, token} = await keep({login: () => 0, renew: () => (++renewals < 3 ? {ttl: 30} : new Error('403')), lookup: () => ({ttl: 30, renewable: true})}, {method: 'token', token: SecretValue.fromString('static')}, 300_000)
    expect(asked).toEqual([
      [0, 'auth/token/lookup-self'],
      [20_000, 'auth/token/renew-self'],
      [40_000, 'auth/token/renew-self'],
      [60_000, 'auth/token/renew-self'],
    ])
    expect(token).toBe('static')
  })
})
