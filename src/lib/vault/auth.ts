import type {VaultLogin} from '../config/credentials.js'
import {SecretValue} from '../secret/secret-value.js'
import type {VaultHttp} from './vault-http.js'

/**
 * Logs in and keeps the token alive for long runs: renews a renewable token
 * at two thirds of its TTL, and logs in again (AppRole, Kubernetes) as soon
 * as a renewal no longer gives the full TTL back (the token reached its max
 * TTL) or fails. The timer is unref'd so it never holds the process.
 */
export class TokenKeeper {
  #timer: NodeJS.Timeout | undefined

  constructor(
    private readonly http: VaultHttp,
    private readonly login: VaultLogin,
  ) {}

  async start(): Promise<void> {
    const ttlSeconds = await this.#obtain()
    this.#schedule(ttlSeconds)
  }

  #stopped = false

  stop(): void {
    this.#stopped = true
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = undefined
  }

  /** Returns the token's remaining TTL in seconds (0: never expires). */
  async #obtain(): Promise<number> {
    switch (this.login.method) {
      case 'token': {
        this.http.setToken(this.login.token)
        return this.#lookupTtl()
      }
      case 'approle':
        return this.#loginWith(`auth/${this.login.mount}/login`, {role_id: this.login.roleId, secret_id: this.login.secretId.revealString()})
      case 'kubernetes':
        // The first login uses the token read at start; a re-login reads the (rotated) file again.
        return this.#loginWith(`auth/${this.login.mount}/login`, {role: this.login.role, jwt: this.#jwt().revealString()})
    }
  }

  #logins = 0

  #jwt(): SecretValue {
    if (this.login.method !== 'kubernetes') throw new Error('not a kubernetes login')
    return this.#logins++ === 0 || !this.login.readJwt ? this.login.jwt : this.login.readJwt()
  }

  /** The TTL the last login gave (seconds): a renewal far below it means the token reached its max TTL. */
  #loginTtl = 0

  async #loginWith(path: string, body: Record<string, string>): Promise<number> {
    const saved = this.http.token
    this.http.setToken(undefined)
    try {
      const {body: response} = await this.http.request<{auth?: {client_token?: string; lease_duration?: number}}>('POST', path, {body})
      this.http.setToken(SecretValue.fromString(response.auth?.client_token ?? ''))
      this.#loginTtl = response.auth?.lease_duration ?? 0
      return response.auth?.lease_duration ?? 0
    } catch (error) {
      this.http.setToken(saved)
      throw error
    }
  }

  async #lookupTtl(): Promise<number> {
    try {
      const {body} = await this.http.request<{data?: {ttl?: number; renewable?: boolean}}>('GET', 'auth/token/lookup-self', {retry: false})
      return body.data?.renewable ? (body.data.ttl ?? 0) : 0
    } catch {
      // A token without lookup-self permission still works; it just is not renewed.
      return 0
    }
  }

  #schedule(ttlSeconds: number): void {
    if (ttlSeconds <= 0 || this.#stopped) return
    this.#timer = setTimeout(() => void this.#renew(), Math.max(1, (ttlSeconds * 2) / 3) * 1000)
    this.#timer.unref()
  }

  async #renew(): Promise<void> {
    try {
      const {body} = await this.http.request<{auth?: {lease_duration?: number; renewable?: boolean}}>('POST', 'auth/token/renew-self', {body: {}})
      const ttl = body.auth?.lease_duration ?? 0
      // Renewed to less than the login gave: the token's max TTL capped the renewal, and it will run out at the
      // end of this lease. A login method logs in again now, while the token still has a third of its TTL, rather
      // than keep a token that reaches its last second just as a request goes out (a static token can only run out).
      if (this.login.method !== 'token' && (body.auth?.renewable === false || ttl < this.#loginTtl)) throw new Error('at its max TTL')
      this.#schedule(body.auth?.renewable === false ? 0 : ttl)
    } catch {
      // Not renewable any more: a login method logs in again (and tries again shortly if that fails); a static token cannot.
      if (this.login.method !== 'token') this.#schedule(await this.#obtain().catch(() => 3))
    }
  }
}
