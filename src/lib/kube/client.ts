import {existsSync} from 'node:fs'
import {delimiter, dirname, join} from 'node:path'

import * as k8s from '@kubernetes/client-node'

import {checkKubeconfigText, kubeconfigClientError, readKubeconfigText} from '../config/kubeconfig.js'
import {ToolkitError} from '../errors/errors.js'
import {SecretValue} from '../secret/secret-value.js'
import {displayText} from '../report/display.js'
import {displayServer, isMissingKind, kubeError} from './errors.js'

export const FIELD_MANAGER = 'secrets-toolkit'
/** How long one Kubernetes request may take, answer included. */
export const KUBE_REQUEST_TIMEOUT_MS = 60_000

export interface KubeConnectionOptions {
  kubeconfig?: string
  context?: string
}

/** The files kubectl would read: --kubeconfig, else every $KUBECONFIG entry (merged), else ~/.kube/config when it exists. */
function kubeconfigFiles(explicit: string | undefined, env: NodeJS.ProcessEnv): string[] {
  if (explicit) return [explicit]
  const fromEnv = (env.KUBECONFIG ?? '').split(delimiter).filter(Boolean)
  if (fromEnv.length > 0) return fromEnv
  const home = k8s.findHomeDir()
  const file = home ? join(home, '.kube', 'config') : undefined
  return file && existsSync(file) ? [file] : []
}

/**
 * client-node's loadFromFile, with the toolkit's own parse and shape check
 * first: the client's YAML errors quote the file (tokens included), so the
 * file reaches it only once it is known to parse, and whatever it still
 * throws is reworded (config/kubeconfig.ts).
 */
function loadKubeconfigFile(config: k8s.KubeConfig, file: string): void {
  const text = readKubeconfigText(file)
  checkKubeconfigText(text, file)
  try {
    config.loadFromString(text)
    config.makePathsAbsolute(dirname(file))
  } catch (error) {
    throw kubeconfigClientError(file, error)
  }
}

/** kubectl's rules: --kubeconfig, else $KUBECONFIG (merged), else ~/.kube/config, else in-cluster. */
export function loadKubeConfig(options: KubeConnectionOptions = {}): k8s.KubeConfig {
  const config = new k8s.KubeConfig()
  const files = kubeconfigFiles(options.kubeconfig, process.env)
  for (const [index, file] of files.entries()) {
    if (index === 0) {
      loadKubeconfigFile(config, file)
      continue
    }
    const next = new k8s.KubeConfig()
    loadKubeconfigFile(next, file)
    try {
      config.mergeConfig(next)
    } catch (error) {
      throw kubeconfigClientError(file, error)
    }
  }
  if (files.length === 0) {
    try {
      // No kubeconfig file: in-cluster service account, else client-node's localhost default.
      config.loadFromDefault()
    } catch (error) {
      throw kubeconfigClientError('(default: in-cluster service account)', error)
    }
  }
  if (options.context) {
    if (!config.getContextObject(options.context)) {
      const known = config.getContexts().map((c) => c.name).join(', ') || 'none'
      throw new ToolkitError('KUBE_CONTEXT_UNKNOWN', displayText(`kubeconfig has no context "${options.context}" (known: ${known})`), {
        hint: 'Pass an existing --context, or fix kubernetes.context in the configuration.',
      })
    }
    config.setCurrentContext(options.context)
  }
  if (!config.getCurrentCluster()) {
    throw new ToolkitError('KUBECONFIG_INVALID', 'kubeconfig has no current cluster', {hint: 'Set a context with --context or `kubectl config use-context`.'})
  }
  return config
}

/** A Secret as the toolkit handles it: values stay SecretValues until serialised for the API. */
export interface SecretSpec {
  namespace: string
  name: string
  type: string
  labels: Record<string, string>
  annotations: Record<string, string>
  data: Map<string, SecretValue>
}

export interface ObservedSecret extends SecretSpec {
  resourceVersion?: string
}

export type KubeObject = k8s.KubernetesObject & {spec?: Record<string, unknown>; status?: Record<string, unknown>}

export interface Condition {
  type: string
  status: string
  reason?: string
  message?: string
}

/** KubernetesObjectApi.makeApiClient, for a configuration of our own (the default namespace comes from the kubeconfig context). */
class ObjectApi extends k8s.KubernetesObjectApi {
  static create(configuration: k8s.Configuration, config: k8s.KubeConfig): ObjectApi {
    const api = new ObjectApi(configuration)
    api.setDefaultNamespace(config)
    return api
  }
}

/** The narrow slice of the Kubernetes API the toolkit uses. */
export class KubeClient {
  readonly config: k8s.KubeConfig
  readonly #objects: k8s.KubernetesObjectApi
  readonly #core: k8s.CoreV1Api
  readonly #extensions: k8s.ApiextensionsV1Api
  readonly #custom: k8s.CustomObjectsApi

  /**
   * `requestTimeoutMs` bounds every request, answer included: client-node has
   * no timeout, so a frozen API server (or a silent firewall) would hang a
   * command for ever instead of ending in "timed out" (exit 2).
   */
  constructor(config: k8s.KubeConfig, options: {requestTimeoutMs?: number} = {}) {
    this.config = config
    const timeoutMs = options.requestTimeoutMs ?? KUBE_REQUEST_TIMEOUT_MS
    const cluster = config.getCurrentCluster()
    if (!cluster) throw new ToolkitError('KUBECONFIG_INVALID', 'kubeconfig has no current cluster', {hint: 'Set a context with --context or `kubectl config use-context`.'})
    // client-node's makeApiClient, with the kubeconfig's authentication followed by a deadline.
    const configuration = k8s.createConfiguration({
      baseServer: new k8s.ServerConfiguration(cluster.server, {}),
      authMethods: {
        default: {
          getName: () => 'kubeconfig-with-deadline',
          applySecurityAuthentication: async (context: k8s.RequestContext) => {
            await config.applySecurityAuthentication(context)
            context.setSignal(AbortSignal.timeout(timeoutMs) as never)
          },
        },
      },
    })
    this.#objects = ObjectApi.create(configuration, config)
    this.#core = new k8s.CoreV1Api(configuration)
    this.#extensions = new k8s.ApiextensionsV1Api(configuration)
    this.#custom = new k8s.CustomObjectsApi(configuration)
  }

  static connect(options: KubeConnectionOptions = {}): KubeClient {
    return new KubeClient(loadKubeConfig(options))
  }

  /** The raw address, for error messages (which show it without credentials). */
  get #serverAddress(): string {
    return this.config.getCurrentCluster()?.server ?? 'unknown'
  }

  /** The API server's address as shown to the operator: without user:password or credential parameters. */
  get server(): string {
    return displayServer(this.#serverAddress)
  }

  async getSecret(namespace: string, name: string): Promise<ObservedSecret | undefined> {
    try {
      return observedSecret(await this.#core.readNamespacedSecret({namespace, name}))
    } catch (error) {
      if ((error as {code?: number}).code === 404) return undefined
      throw kubeError('read', {kind: 'Secret', namespace, name}, error, this.#serverAddress)
    }
  }

  /** Every Secret of a namespace in one paged LIST: what a bulk pre-flight reads instead of one GET per Secret. */
  async listSecrets(namespace: string, labelSelector?: string): Promise<ObservedSecret[]> {
    try {
      const secrets: ObservedSecret[] = []
      let continueToken: string | undefined
      do {
        const page = await this.#core.listNamespacedSecret({namespace, labelSelector, limit: 500, _continue: continueToken})
        secrets.push(...page.items.map(observedSecret))
        continueToken = page.metadata?._continue || undefined
      } while (continueToken)
      return secrets
    } catch (error) {
      throw kubeError('list', {kind: 'Secret', namespace}, error, this.#serverAddress)
    }
  }

  /** Server-side apply of a Secret; `force` takes over fields another manager owns. */
  async applySecret(secret: SecretSpec, options: {force?: boolean; dryRun?: boolean} = {}): Promise<void> {
    const data: Record<string, string> = {}
    for (const [key, value] of secret.data) data[key] = value.revealBase64()
    const body: k8s.V1Secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {name: secret.name, namespace: secret.namespace, labels: secret.labels, annotations: secret.annotations},
      type: secret.type,
      data,
    }
    await this.apply(body, options)
  }

  async apply<T extends k8s.KubernetesObject>(object: T, options: {force?: boolean; dryRun?: boolean} = {}): Promise<T> {
    try {
      return await this.#objects.patch(
        object,
        undefined,
        options.dryRun ? 'All' : undefined,
        FIELD_MANAGER,
        options.force ?? false,
        k8s.PatchStrategy.ServerSideApply,
      )
    } catch (error) {
      throw kubeError('apply', {kind: object.kind ?? 'object', namespace: object.metadata?.namespace, name: object.metadata?.name}, error, this.#serverAddress)
    }
  }

  /**
   * Sets annotations on an existing object with a merge patch (not an apply):
   * nothing else of the object changes hands, so it works on objects another
   * tool (Flux, kubectl) applied. `null` removes an annotation.
   */
  async annotate(apiVersion: string, kind: string, name: string, namespace: string | undefined, annotations: Record<string, string | null>): Promise<void> {
    try {
      await this.#objects.patch({apiVersion, kind, metadata: {name, namespace, annotations}} as k8s.KubernetesObject, undefined, undefined, FIELD_MANAGER, undefined, k8s.PatchStrategy.MergePatch)
    } catch (error) {
      throw kubeError('apply', {kind, namespace, name}, error, this.#serverAddress)
    }
  }

  /**
   * Merge-patches the status subresource of a namespaced custom object
   * (`plural` as in its URL, e.g. externalsecrets): `null` removes a field.
   * What a controller reads to decide whether to act again.
   */
  async patchStatus(apiVersion: string, plural: string, name: string, namespace: string, status: Record<string, unknown>): Promise<void> {
    const [group, version] = apiVersion.split('/')
    try {
      await this.#custom.patchNamespacedCustomObjectStatus({group, version, namespace, plural, name, body: {status}}, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch))
    } catch (error) {
      throw kubeError('apply', {kind: `${plural}/status`, namespace, name}, error, this.#serverAddress)
    }
  }

  async read(apiVersion: string, kind: string, name: string, namespace?: string): Promise<KubeObject | undefined> {
    try {
      return (await this.#objects.read({apiVersion, kind, metadata: {name, namespace}})) as KubeObject
    } catch (error) {
      if ((error as {code?: number}).code === 404 && !isMissingKind(error)) return undefined
      throw kubeError('read', {kind, namespace, name}, error, this.#serverAddress)
    }
  }

  async list(apiVersion: string, kind: string, options: {namespace?: string; labelSelector?: string} = {}): Promise<KubeObject[]> {
    try {
      const items: KubeObject[] = []
      let continueToken: string | undefined
      do {
        const page = await this.#objects.list(apiVersion, kind, options.namespace, undefined, undefined, undefined, undefined, options.labelSelector, 500, continueToken)
        items.push(...(page.items as KubeObject[]))
        continueToken = page.metadata?._continue || undefined
      } while (continueToken)
      return items
    } catch (error) {
      throw kubeError('list', {kind, namespace: options.namespace}, error, this.#serverAddress)
    }
  }

  async delete(apiVersion: string, kind: string, name: string, namespace?: string): Promise<void> {
    try {
      await this.#objects.delete({apiVersion, kind, metadata: {name, namespace}})
    } catch (error) {
      if ((error as {code?: number}).code === 404) return
      throw kubeError('delete', {kind, namespace, name}, error, this.#serverAddress)
    }
  }

  async crdInstalled(name: string): Promise<boolean> {
    try {
      await this.#extensions.readCustomResourceDefinition({name})
      return true
    } catch (error) {
      if ((error as {code?: number}).code === 404) return false
      throw kubeError('read', {kind: 'CustomResourceDefinition', name}, error, this.#serverAddress)
    }
  }

  async namespaceExists(name: string): Promise<boolean> {
    try {
      await this.#core.readNamespace({name})
      return true
    } catch (error) {
      if ((error as {code?: number}).code === 404) return false
      throw kubeError('read', {kind: 'Namespace', name}, error, this.#serverAddress)
    }
  }

  async ensureNamespace(name: string): Promise<void> {
    if (await this.namespaceExists(name)) return
    await this.apply({apiVersion: 'v1', kind: 'Namespace', metadata: {name}})
  }

}

function observedSecret(secret: k8s.V1Secret): ObservedSecret {
  const data = new Map<string, SecretValue>()
  for (const [key, value] of Object.entries(secret.data ?? {})) data.set(key, SecretValue.fromBase64(value))
  return {
    namespace: secret.metadata?.namespace ?? '',
    name: secret.metadata?.name ?? '',
    type: secret.type ?? 'Opaque',
    labels: secret.metadata?.labels ?? {},
    annotations: secret.metadata?.annotations ?? {},
    data,
    resourceVersion: secret.metadata?.resourceVersion,
  }
}

export {isMissingKind}

export function conditionOf(object: KubeObject | undefined, type: string): Condition | undefined {
  const conditions = (object?.status?.conditions as Condition[] | undefined) ?? []
  return conditions.find((condition) => condition.type === type)
}
