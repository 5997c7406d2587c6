import {readFileSync} from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import type {Readable} from 'node:stream'

import pLimit from 'p-limit'

import type {VaultConfig} from '../config/schema.js'
import {ToolkitError} from '../errors/errors.js'
import type {SecretValue} from '../secret/secret-value.js'
import {StoreRequestError, safeDetail} from './errors.js'
import {DEFAULT_RETRY, isRetryable, type RetryPolicy, withRetry} from './retry.js'

export interface VaultResponse<T = unknown> {
  status: number
  body: T
}

export interface RequestOptions {
  body?: unknown
  /** Statuses that are answers, not failures (e.g. 404 on read, 429/503 on sys/health). */
  accept?: number[]
  /** sys/health answers with 429/503 on purpose: do not retry those. */
  retry?: boolean
  timeoutMs?: number
}

/**
 * Raw HTTP to one Vault server: keep-alive, per-request timeout, retries with
 * jittered backoff, a concurrency limit, and streaming bodies (node-vault
 * buffers whole responses, which a multi-gigabyte Raft snapshot cannot afford).
 */
export class VaultHttp {
  readonly region: string
  readonly address: URL
  readonly namespace: string
  readonly agent: http.Agent
  readonly timeoutMs: number
  readonly limit: ReturnType<typeof pLimit>
  readonly retryPolicy: RetryPolicy
  #token: SecretValue | undefined

  constructor(region: string, vault: VaultConfig, options: {retry?: RetryPolicy} = {}) {
    this.region = region
    this.address = new URL(vault.address)
    this.namespace = vault.namespace
    this.timeoutMs = vault.requestTimeoutMs
    this.limit = pLimit(vault.maxConcurrency)
    this.retryPolicy = options.retry ?? DEFAULT_RETRY
    const agentOptions = {keepAlive: true, maxSockets: vault.maxConcurrency}
    if (this.address.protocol === 'https:') {
      let ca: Buffer | undefined
      if (vault.tls.caCert) {
        try {
          ca = readFileSync(vault.tls.caCert)
        } catch {
          throw new ToolkitError('CONFIG_INVALID', `region ${region}: cannot read vault.tls.caCert ${vault.tls.caCert}`, {
            hint: 'Check the CA certificate path in the configuration (or VAULT_CACERT).',
          })
        }
      }
      this.agent = new https.Agent({...agentOptions, ca, rejectUnauthorized: !vault.tls.skipVerify})
    } else {
      this.agent = new http.Agent(agentOptions)
    }
  }

  setToken(token: SecretValue | undefined): void {
    this.#token = token
  }

  get token(): SecretValue | undefined {
    return this.#token
  }

  headers(extra: Record<string, string> = {}): Record<string, string> {
    const headers: Record<string, string> = {...extra}
    if (this.#token) headers['X-Vault-Token'] = this.#token.revealString()
    if (this.namespace) headers['X-Vault-Namespace'] = this.namespace
    return headers
  }

  url(path: string): URL {
    const base = this.address.pathname.replace(/\/$/, '')
    return new URL(`${base}/v1/${path.replace(/^\//, '')}`, this.address)
  }

  /** A JSON request, retried on 429/5xx and connection failures. */
  async request<T = any>(method: string, path: string, options: RequestOptions = {}): Promise<VaultResponse<T>> {
    const accept = new Set([200, 204, ...(options.accept ?? [])])
    return this.limit(() =>
      withRetry(
        async () => {
          const response = await this.#send(method, path, options.body, options.timeoutMs)
          if (!accept.has(response.status)) {
            throw new StoreRequestError({
              region: this.region,
              method,
              path,
              status: response.status,
              detail: safeDetail((response.body as {errors?: unknown})?.errors),
              retryable: isRetryable(response.status, undefined),
            })
          }
          return response as VaultResponse<T>
        },
        (error) => options.retry !== false && error instanceof StoreRequestError && error.retryable,
        this.retryPolicy,
      ),
    )
  }

  #send(method: string, path: string, body: unknown, timeoutMs = this.timeoutMs): Promise<VaultResponse> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body))
    const headers = this.headers(payload ? {'Content-Type': 'application/json', 'Content-Length': String(payload.length)} : {})
    return new Promise((resolve, reject) => {
      const request = this.#transport().request(this.url(path), {method, headers, agent: this.agent, timeout: timeoutMs}, (response) => {
        const chunks: Buffer[] = []
        response.on('data', (chunk: Buffer) => chunks.push(chunk))
        response.on('error', (error) => reject(this.#networkError(method, path, error)))
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          let parsed: unknown = undefined
          if (text.length > 0) {
            try {
              parsed = JSON.parse(text)
            } catch {
              parsed = undefined
            }
          }
          resolve({status: response.statusCode ?? 0, body: parsed})
        })
      })
      request.on('timeout', () => request.destroy(Object.assign(new Error('request timed out'), {code: 'ETIMEDOUT'})))
      request.on('error', (error) => reject(this.#networkError(method, path, error)))
      request.end(payload)
    })
  }

  /**
   * Streams a response body (e.g. a Raft snapshot). Only the connection phase
   * is retried: once bytes flow, a failure surfaces to the consumer.
   */
  async download(path: string, options: {timeoutMs?: number} = {}): Promise<Readable> {
    return withRetry(
      () =>
        new Promise<Readable>((resolve, reject) => {
          const request = this.#transport().request(this.url(path), {method: 'GET', headers: this.headers(), agent: this.agent}, (response) => {
            const status = response.statusCode ?? 0
            if (status !== 200) {
              const chunks: Buffer[] = []
              response.on('data', (chunk: Buffer) => chunks.length < 64 && chunks.push(chunk))
              response.on('end', () => {
                let detail: string | undefined
                try {
                  detail = safeDetail(JSON.parse(Buffer.concat(chunks).toString('utf8')).errors)
                } catch {
                  detail = undefined
                }
                reject(new StoreRequestError({region: this.region, method: 'GET', path, status, detail, retryable: isRetryable(status, undefined)}))
              })
              return
            }
            request.setTimeout(0)
            resolve(response)
          })
          // Idle timeout only: a large snapshot may take long but must keep moving.
          request.setTimeout(options.timeoutMs ?? this.timeoutMs * 4, () =>
            request.destroy(Object.assign(new Error('no data within the timeout'), {code: 'ETIMEDOUT'})),
          )
          request.on('error', (error) => reject(this.#networkError('GET', path, error)))
          request.end()
        }),
      (error) => error instanceof StoreRequestError && error.retryable,
      this.retryPolicy,
    )
  }

  /** Streams a request body (e.g. a snapshot restore). Not retried: a body stream can be read once. */
  upload(path: string, body: Readable, options: {timeoutMs?: number; contentLength?: number} = {}): Promise<VaultResponse> {
    const headers = this.headers({'Content-Type': 'application/octet-stream'})
    if (options.contentLength !== undefined) headers['Content-Length'] = String(options.contentLength)
    return new Promise((resolve, reject) => {
      const request = this.#transport().request(this.url(path), {method: 'POST', headers, agent: this.agent}, (response) => {
        const chunks: Buffer[] = []
        response.on('data', (chunk: Buffer) => chunks.push(chunk))
        response.on('end', () => {
          const status = response.statusCode ?? 0
          let parsed: unknown
          try {
            parsed = chunks.length > 0 ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined
          } catch {
            parsed = undefined
          }
          if (status !== 200 && status !== 204) {
            reject(new StoreRequestError({region: this.region, method: 'POST', path, status, detail: safeDetail((parsed as {errors?: unknown})?.errors), retryable: false}))
            return
          }
          resolve({status, body: parsed})
        })
      })
      request.setTimeout(options.timeoutMs ?? this.timeoutMs * 10, () =>
        request.destroy(Object.assign(new Error('no progress within the timeout'), {code: 'ETIMEDOUT'})),
      )
      request.on('error', (error) => reject(this.#networkError('POST', path, error)))
      body.on('error', (error) => request.destroy(error))
      body.pipe(request)
    })
  }

  close(): void {
    this.agent.destroy()
  }

  #transport(): typeof http | typeof https {
    return this.address.protocol === 'https:' ? https : http
  }

  #networkError(method: string, path: string, error: unknown): StoreRequestError {
    if (error instanceof StoreRequestError) return error
    const code = (error as NodeJS.ErrnoException).code ?? 'UNKNOWN'
    return new StoreRequestError({region: this.region, method, path, networkCode: code, retryable: isRetryable(undefined, code)})
  }
}
