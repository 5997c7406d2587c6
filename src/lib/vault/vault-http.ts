import {readFileSync} from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import type {Readable} from 'node:stream'

import pLimit from 'p-limit'

import type {VaultConfig} from '../config/schema.js'
import {ToolkitError} from '../errors/errors.js'
import type {SecretValue} from '../secret/secret-value.js'
import {redactUrl} from '../report/display.js'
import {StoreRequestError, safeDetail} from './errors.js'
import {type Deadline, DEFAULT_RETRY, isRetryable, type RetryExhaustion, type RetryPolicy, withRetry} from './retry.js'

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
  /**
   * Checks that a 200 body has the shape the endpoint promises. A body that
   * fails is a bad answer (retried, then an error), never data: a proxy's
   * HTML page must not read as "no keys here".
   */
  expect?: (body: unknown) => boolean
}

/** What this client met on the way: failures it retried past, by kind. Counts only, never bodies. */
export interface RequestStats {
  requests: number
  retried: number
  badResponses: number
  timeouts: number
  networkErrors: number
  serverErrors: number
}

/** A request attempt's limits: the per-request timeout, cut short by the deadline when that comes first. */
export interface AttemptLimits {
  timeoutMs: number
  /** The deadline, not the request timeout, bounds this attempt. */
  byDeadline: boolean
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

/**
 * An HTTP answer as the Vault backend judges it, whichever client received
 * it (this class's own requests, node-vault's writes): the status and the
 * body parsed as JSON. The body itself is never quoted in an error.
 */
export interface HttpAnswer {
  status: number
  /** The body parsed as JSON; undefined when it is empty or not JSON. */
  json: unknown
  /** The body's size in bytes. */
  bytes: number
  /** The Content-Type header, when the client reports it. */
  contentType?: string
}

/** What makes an answer the one wanted. */
export interface AnswerExpectation {
  /** Statuses that are answers, not failures (200 and 204 always). */
  accept?: readonly number[]
  /** The shape a 200 body must have (see RequestOptions.expect). */
  expect?: (body: unknown) => boolean
  /** A 400 that names check-and-set is a Conflict (a write with `cas`). */
  casSensitive?: boolean
}

/**
 * Raw HTTP to one Vault server: keep-alive, per-request timeout, retries with
 * jittered backoff within a time budget, an optional overall deadline, a
 * concurrency limit, and streaming bodies (node-vault buffers whole
 * responses, which a multi-gigabyte Raft snapshot cannot afford).
 */
export class VaultHttp {
  readonly region: string
  readonly address: URL
  readonly namespace: string
  readonly agent: http.Agent
  readonly timeoutMs: number
  readonly limit: ReturnType<typeof pLimit>
  readonly retryPolicy: RetryPolicy
  /** The command's overall deadline, when it has one (set by the command after connecting). */
  deadline: Deadline | undefined
  readonly stats: RequestStats = {requests: 0, retried: 0, badResponses: 0, timeouts: 0, networkErrors: 0, serverErrors: 0}
  #token: SecretValue | undefined

  constructor(region: string, vault: VaultConfig, options: {retry?: RetryPolicy; deadline?: Deadline} = {}) {
    this.region = region
    this.address = new URL(vault.address)
    this.namespace = vault.namespace
    this.timeoutMs = vault.requestTimeoutMs
    this.limit = pLimit(vault.maxConcurrency)
    this.retryPolicy = options.retry ?? {...DEFAULT_RETRY, budgetMs: vault.retryBudgetMs ?? DEFAULT_RETRY.budgetMs}
    this.deadline = options.deadline
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

  /** The address as it may be shown: origin and path, never credentials. */
  get displayAddress(): string {
    // redactUrl writes a bare origin with a trailing slash; the address is shown as configured.
    return redactUrl(`${this.address.origin}${this.address.pathname}`).replace(/\/$/, '')
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

  /** The time an attempt may take: the request timeout, or what is left of the deadline when that is less. */
  attemptLimits(requestedMs: number = this.timeoutMs): AttemptLimits {
    const left = this.deadline?.remainingMs() ?? Number.POSITIVE_INFINITY
    return left < requestedMs ? {timeoutMs: Math.max(1, Math.floor(left)), byDeadline: true} : {timeoutMs: requestedMs, byDeadline: false}
  }

  /** The error for a deadline that has run out (or ran out while waiting for an answer). */
  deadlineError(method: string, path: string): StoreRequestError {
    return new StoreRequestError({
      region: this.region,
      method,
      path,
      retryable: false,
      kind: 'deadline',
      address: this.displayAddress,
      limitMs: this.deadline?.limitMs,
      limitSource: this.deadline?.source,
    })
  }

  /** The error for an attempt that got no answer in time: the request timeout's, or the deadline's when that cut it short. */
  timeoutError(method: string, path: string, limits: AttemptLimits, limitSource = '--request-timeout, vault.requestTimeoutMs'): StoreRequestError {
    if (limits.byDeadline) return this.deadlineError(method, path)
    return new StoreRequestError({
      region: this.region,
      method,
      path,
      networkCode: 'ETIMEDOUT',
      retryable: true,
      kind: 'timeout',
      address: this.displayAddress,
      limitMs: limits.timeoutMs,
      limitSource,
    })
  }

  /** An answer that is not what the endpoint promises: a proxy, a WAF or a broken server answered. Retryable. */
  badResponseError(method: string, path: string, status: number, detail: string): StoreRequestError {
    return new StoreRequestError({region: this.region, method, path, status, retryable: true, kind: 'bad-response', detail, address: this.displayAddress})
  }

  /**
   * Runs one logical request under the region's concurrency limit, retrying
   * retryable failures within the retry budget and the deadline. Every
   * request of this region goes through here — raw ones and node-vault's —
   * so all share one policy, one timeout and one error conversion. The KV
   * store's calls pass `retry: false`: withStoreRetry retries them, with the
   * same policy and this class's statistics and messages (connect.ts).
   */
  async run<T>(method: string, path: string, attempt: (limits: AttemptLimits, attempt: number) => Promise<T>, options: {retry?: boolean} = {}): Promise<T> {
    return this.limit(() =>
      withRetry(
        async (index) => {
          if (this.deadline?.expired()) throw this.deadlineError(method, path)
          if (index > 0) this.stats.retried++
          this.stats.requests++
          try {
            return await attempt(this.attemptLimits(), index)
          } catch (error) {
            this.#count(error)
            throw error
          }
        },
        (error) => options.retry !== false && error instanceof StoreRequestError && error.retryable,
        this.retryPolicy,
        {deadline: this.deadline, exhausted: (error, exhaustion) => this.retriesStopped(error, exhaustion)},
      ),
    )
  }

  /** The error thrown when retrying `error` stopped: it says why (the budget, the deadline), for this class's retries and withStoreRetry's alike. */
  retriesStopped(error: unknown, exhaustion: RetryExhaustion): unknown {
    if (!(error instanceof StoreRequestError)) return error
    if (exhaustion.reason === 'deadline') return new StoreRequestError({...this.deadlineError(error.init.method, error.path).init, exhaustion, detail: error.message})
    return error.exhausted(exhaustion, this.retryPolicy.budgetMs)
  }

  #count(error: unknown): void {
    if (!(error instanceof StoreRequestError)) return
    if (error.failure === 'bad-response') this.stats.badResponses++
    else if (error.failure === 'timeout') this.stats.timeouts++
    else if (error.failure === undefined && error.status === undefined) this.stats.networkErrors++
    else if (error.status !== undefined && error.status >= 500) this.stats.serverErrors++
  }

  /**
   * A JSON request, retried on 429/5xx, connection failures, timeouts and
   * answers that are not JSON. A 2xx answer must be a JSON object (GETs may
   * not answer empty; 204 has no body); an accepted error status (404 on a
   * read) must carry Vault's JSON error object too, or it is not Vault talking.
   */
  async request<T = any>(method: string, path: string, options: RequestOptions = {}): Promise<VaultResponse<T>> {
    return this.run(
      method,
      path,
      async (limits) => {
        const response = await this.#send(method, path, options.body, options.timeoutMs === undefined ? limits : this.attemptLimits(options.timeoutMs))
        const answer: HttpAnswer = {status: response.status, json: parseJson(response.text), bytes: Buffer.byteLength(response.text), contentType: response.contentType}
        const problem = this.judgeAnswer(method, path, answer, options)
        if (problem) throw problem
        return {status: answer.status, body: answer.json as T}
      },
      {retry: options.retry},
    )
  }

  /**
   * The one conversion of an HTTP answer into the Vault backend's verdict,
   * for this class's requests and node-vault's writes alike: undefined when
   * it is the answer wanted, else the StoreRequestError it means. A status
   * that is not accepted is an error by its status (429/5xx retryable); an
   * accepted answer must be Vault's JSON — a 2xx a JSON object (GETs may not
   * answer empty; 204 has no body), a 404 Vault's error object — or it is a
   * bad answer (a proxy, WAF or load balancer), retried, never data.
   */
  judgeAnswer(method: string, path: string, answer: HttpAnswer, expectation: AnswerExpectation = {}): StoreRequestError | undefined {
    const {status, json} = answer
    if (status !== 200 && status !== 204 && !expectation.accept?.includes(status)) {
      const detail = safeDetail(isObject(json) ? json.errors : undefined)
      const cas = expectation.casSensitive === true && status === 400 && /check-and-set/i.test(detail ?? '')
      return new StoreRequestError({region: this.region, method, path, status, detail, networkCode: cas ? 'CAS' : undefined, retryable: isRetryable(status, undefined)})
    }
    if (status === 204 || (answer.bytes === 0 && method !== 'GET' && status === 200)) {
      return expectation.expect && !expectation.expect(undefined) ? this.badResponseError(method, path, status, describeBody(answer)) : undefined
    }
    if (!isObject(json)) return this.badResponseError(method, path, status, describeBody(answer))
    // Vault's 404 says `{"errors": []}` (or, for a deleted version, carries its `data`): a bare "not found" page or
    // object from something in front of it must not read as "this key does not exist".
    if (status === 404 && !Array.isArray(json.errors) && !isObject(json.data)) return this.badResponseError(method, path, status, "JSON without Vault's errors field")
    if (status === 200 && expectation.expect && !expectation.expect(json)) return this.badResponseError(method, path, status, 'JSON without the fields this endpoint returns')
    return undefined
  }

  /**
   * The one conversion of a failure without an answer (a socket error, a
   * timeout) into the Vault backend's error. With the attempt's limits, a
   * timeout (ours, or a client's own such as axios' "timeout of N ms
   * exceeded") is named as the timeout or deadline that ran out.
   */
  transportError(method: string, path: string, error: unknown, limits?: AttemptLimits): StoreRequestError {
    if (error instanceof StoreRequestError) return error
    const code = (error as NodeJS.ErrnoException).code ?? 'UNKNOWN'
    if (limits && (code === 'ETIMEDOUT' || (code === 'ECONNABORTED' && /timeout/i.test((error as Error).message ?? '')))) return this.timeoutError(method, path, limits)
    return new StoreRequestError({region: this.region, method, path, networkCode: code, retryable: isRetryable(undefined, code)})
  }

  #send(method: string, path: string, body: unknown, limits: AttemptLimits): Promise<{status: number; text: string; contentType: string}> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body))
    const headers = this.headers(payload ? {'Content-Type': 'application/json', 'Content-Length': String(payload.length)} : {})
    return new Promise((resolve, reject) => {
      let timedOut = false
      const request = this.#transport().request(this.url(path), {method, headers, agent: this.agent}, (response) => {
        const chunks: Buffer[] = []
        response.on('data', (chunk: Buffer) => chunks.push(chunk))
        response.on('error', (error) => reject(timedOut ? this.timeoutError(method, path, limits) : this.transportError(method, path, error)))
        // A connection cut in the middle of the body: the answer is incomplete, never a short body.
        response.on('close', () => {
          clearTimeout(timer)
          if (!response.complete) reject(timedOut ? this.timeoutError(method, path, limits) : this.transportError(method, path, Object.assign(new Error('connection closed mid-answer'), {code: 'ECONNRESET'})))
        })
        response.on('end', () => {
          clearTimeout(timer)
          resolve({status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), contentType: String(response.headers['content-type'] ?? '')})
        })
      })
      // A whole-request timer, not an idle one: a server that trickles bytes must not hold the command.
      const timer = setTimeout(() => {
        timedOut = true
        request.destroy(Object.assign(new Error('request timed out'), {code: 'ETIMEDOUT'}))
      }, limits.timeoutMs)
      request.on('error', (error) => {
        clearTimeout(timer)
        reject(timedOut ? this.timeoutError(method, path, limits) : this.transportError(method, path, error))
      })
      request.end(payload)
    })
  }

  /**
   * Streams a response body (e.g. a Raft snapshot). Only the connection phase
   * is retried: once bytes flow, a failure surfaces to the consumer.
   */
  async download(path: string, options: {timeoutMs?: number} = {}): Promise<Readable> {
    return this.run(
      'GET',
      path,
      () =>
        new Promise<Readable>((resolve, reject) => {
          const request = this.#transport().request(this.url(path), {method: 'GET', headers: this.headers(), agent: this.agent}, (response) => {
            const status = response.statusCode ?? 0
            if (status !== 200) {
              reject(this.#errorAnswer('GET', path, response, {accept: []}))
              return
            }
            request.setTimeout(0)
            resolve(response)
          })
          // Idle timeout only: a large snapshot may take long but must keep moving.
          request.setTimeout(options.timeoutMs ?? this.timeoutMs * 4, () =>
            request.destroy(Object.assign(new Error('no data within the timeout'), {code: 'ETIMEDOUT'})),
          )
          request.on('error', (error) => reject(this.transportError('GET', path, error)))
          request.end()
        }),
    )
  }

  /** Reads the head of an error answer (64 chunks at most: Vault's errors are short) and judges it. */
  #errorAnswer(method: string, path: string, response: http.IncomingMessage, expectation: AnswerExpectation): Promise<StoreRequestError> {
    return new Promise((resolve) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.length < 64 && chunks.push(chunk))
      response.on('error', () => undefined)
      response.on('close', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        const answer: HttpAnswer = {status: response.statusCode ?? 0, json: parseJson(text), bytes: Buffer.byteLength(text), contentType: String(response.headers['content-type'] ?? '')}
        resolve(this.judgeAnswer(method, path, answer, expectation) ?? this.badResponseError(method, path, answer.status, describeBody(answer)))
      })
    })
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
            const text = Buffer.concat(chunks).toString('utf8')
            // Not retried whatever it says: the body stream is spent.
            reject(this.judgeAnswer('POST', path, {status, json: parsed, bytes: Buffer.byteLength(text)}))
            return
          }
          resolve({status, body: parsed})
        })
      })
      request.setTimeout(options.timeoutMs ?? this.timeoutMs * 10, () =>
        request.destroy(Object.assign(new Error('no progress within the timeout'), {code: 'ETIMEDOUT'})),
      )
      request.on('error', (error) => reject(this.transportError('POST', path, error)))
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
}

function parseJson(text: string): unknown {
  if (text.length === 0) return undefined
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** What kind of wrong answer it was, by type and size only: the body itself is never quoted (it could hold a value). */
function describeBody(answer: HttpAnswer): string {
  const type = answer.contentType === undefined ? '' : `${answer.contentType.split(';')[0].trim() || 'no content type'}`
  if (answer.bytes === 0) return type ? `empty body, ${type}` : 'empty body'
  return `${answer.json === undefined ? 'not JSON' : 'JSON but not an object'}: ${type ? `${type}, ` : ''}${answer.bytes} bytes`
}
