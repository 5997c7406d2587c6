// The chart tests' tools: Helm and kubectl run as binaries (never through a
// shell), the rendered manifests parsed, and a CronJob's container run out of
// cluster with its own arguments and environment, its volumes mapped to
// directories on this machine.
import {execFileSync, spawn, spawnSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'

import {parseAllDocuments, stringify} from 'yaml'

import {PROJECT_ROOT} from '../../helpers/binaries.js'
import {builtCli} from '../../helpers/cli.js'

export const CHART = resolve(PROJECT_ROOT, 'charts/secrets-toolkit')

export interface RunResult {
  code: number
  stdout: string
  stderr: string
}

export interface KubeObject {
  apiVersion: string
  kind: string
  metadata: {name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>}
  [key: string]: any
}

/** Helm with its caches and configuration in a directory of the test's own (it writes nothing under ~). */
export function helmRunner(helm: string): (args: string[], input?: string) => RunResult {
  const home = mkdtempSync(join(tmpdir(), 'secrets-chart-helm-'))
  const env = {PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, HELM_CACHE_HOME: join(home, 'cache'), HELM_CONFIG_HOME: join(home, 'config'), HELM_DATA_HOME: join(home, 'data')}
  return (args, input) => {
    const result = spawnSync(helm, args, {env, input, encoding: 'utf8', timeout: 120_000})
    if (result.error) throw result.error
    return {code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr}
  }
}

/** kubectl with the admin kubeconfig of the test environment. */
export function kubectlRunner(kubectl: string, kubeconfig: string): (args: string[], input?: string) => RunResult {
  return (args, input) => {
    const result = spawnSync(kubectl, ['--kubeconfig', kubeconfig, ...args], {input, encoding: 'utf8', timeout: 120_000})
    if (result.error) throw result.error
    return {code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr}
  }
}

/** Fails with the command's output unless it exited 0. */
export function ok(result: RunResult, what: string): string {
  if (result.code !== 0) throw new Error(`${what} exited ${result.code}:\n${result.stderr}\n${result.stdout.slice(0, 4000)}`)
  return result.stdout
}

/** The documents of a rendered chart (empty documents dropped). */
export function parseManifests(text: string): KubeObject[] {
  return parseAllDocuments(text)
    .map((document) => {
      if (document.errors.length > 0) throw new Error(`helm rendered YAML that does not parse: ${document.errors[0].message}`)
      return document.toJS() as KubeObject | null
    })
    .filter((object): object is KubeObject => object !== null && typeof object === 'object')
}

export function writeValues(dir: string, values: unknown): string {
  const file = join(dir, `values-${Math.random().toString(16).slice(2, 8)}.yaml`)
  writeFileSync(file, stringify(values))
  return file
}

export function cronJobs(objects: KubeObject[]): KubeObject[] {
  return objects.filter((object) => object.kind === 'CronJob')
}

/** The one container of a CronJob's pods, and the pod spec it runs in. */
export function jobContainer(cronJob: KubeObject): {pod: any; container: any} {
  const pod = cronJob.spec.jobTemplate.spec.template.spec
  if (pod.containers.length !== 1) throw new Error(`${cronJob.metadata.name} has ${pod.containers.length} containers, expected 1`)
  return {pod, container: pod.containers[0]}
}

/** What a pod's volumes hold, out of cluster: a directory per volume, filled as the kubelet would. */
export interface VolumeSources {
  /** ConfigMaps by name: their data, written as files. */
  configMaps: Map<string, Record<string, string>>
  /** The projected ServiceAccount token for an audience: `kubectl create token`. */
  projectedToken: (serviceAccount: string, audience: string, expirationSeconds: number) => string
  /** The directory that stands for a PersistentVolumeClaim (shared between the jobs that mount it). */
  claim: (name: string) => string
  /** The directory that stands for any other volume source (hostPath, nfs…), by volume name. */
  other: (volumeName: string) => string
}

export interface MappedRun {
  command: string[]
  args: string[]
  env: Record<string, string>
  /** Container path prefix → directory on this machine. */
  mounts: Array<{mountPath: string; dir: string; readOnly: boolean}>
}

/** Rewrites every container path under a mounted directory into the directory standing for it. */
export function mapPath(text: string, mounts: MappedRun['mounts']): string {
  for (const mount of [...mounts].sort((a, b) => b.mountPath.length - a.mountPath.length)) {
    if (text === mount.mountPath) return mount.dir
    if (text.startsWith(`${mount.mountPath}/`)) return join(mount.dir, text.slice(mount.mountPath.length + 1))
  }
  return text
}

/**
 * The container of a CronJob as it would run: each volume mounted as a
 * directory of this machine, the configuration files rewritten so that the
 * paths they name (a projected token) point there too, and the environment the
 * container declares — nothing of the test process's environment but PATH.
 */
export function mapContainer(cronJob: KubeObject, sources: VolumeSources, kubeAccess: (serviceAccount: string) => string | undefined): MappedRun {
  const {pod, container} = jobContainer(cronJob)
  const scratch = mkdtempSync(join(tmpdir(), `secrets-chart-${cronJob.metadata.name}-`))
  const volumes = new Map<string, any>(pod.volumes.map((volume: any) => [volume.name, volume]))
  const mounts: MappedRun['mounts'] = []
  const pending: Array<() => void> = []
  for (const mount of container.volumeMounts ?? []) {
    const volume = volumes.get(mount.name)
    if (!volume) throw new Error(`${cronJob.metadata.name} mounts ${mount.name}, which is not a volume of its pod`)
    let dir: string
    if (volume.configMap) {
      dir = join(scratch, mount.name)
      mkdirSync(dir, {recursive: true})
      const data = sources.configMaps.get(volume.configMap.name)
      if (!data) throw new Error(`${cronJob.metadata.name} mounts ConfigMap ${volume.configMap.name}, which the chart did not render`)
      // Written after every mount is known: the files may name paths under other mounts.
      pending.push(() => {
        for (const [file, text] of Object.entries(data)) writeFileSync(join(dir, file), rewriteConfigPaths(text, mounts))
      })
    } else if (volume.projected) {
      dir = join(scratch, mount.name)
      mkdirSync(dir, {recursive: true})
      for (const source of volume.projected.sources) {
        const token = source.serviceAccountToken
        if (!token) throw new Error(`${cronJob.metadata.name}: projected source ${JSON.stringify(source)} is not a ServiceAccount token`)
        writeFileSync(join(dir, token.path), sources.projectedToken(pod.serviceAccountName, token.audience, token.expirationSeconds), {mode: 0o600})
      }
    } else if (volume.persistentVolumeClaim) {
      dir = sources.claim(volume.persistentVolumeClaim.claimName)
    } else if (volume.emptyDir) {
      dir = join(scratch, mount.name)
      mkdirSync(dir, {recursive: true})
    } else {
      dir = sources.other(mount.name)
    }
    mounts.push({mountPath: mount.mountPath, dir, readOnly: mount.readOnly === true})
  }
  for (const write of pending) write()
  const env: Record<string, string> = {PATH: process.env.PATH ?? '/usr/bin:/bin'}
  for (const variable of container.env ?? []) {
    if (variable.valueFrom) throw new Error(`${cronJob.metadata.name}: env ${variable.name} comes from ${JSON.stringify(variable.valueFrom)}, which this test does not provide`)
    env[variable.name] = mapPath(String(variable.value ?? ''), mounts)
  }
  // In a pod with automountServiceAccountToken, client-node reads the in-cluster token; out of
  // cluster the same ServiceAccount's token comes in a kubeconfig.
  if (pod.automountServiceAccountToken !== false) {
    const kubeconfig = kubeAccess(pod.serviceAccountName)
    if (!kubeconfig) throw new Error(`${cronJob.metadata.name} reads Kubernetes as ${pod.serviceAccountName}, and no kubeconfig was made for it`)
    env.KUBECONFIG = kubeconfig
  }
  return {command: container.command ?? [], args: (container.args ?? []).map((arg: unknown) => mapPath(String(arg), mounts)), env, mounts}
}

/** The configuration file's paths (tokenFile, caCert, kubeconfig…) moved under the mapped directories, in one pass. */
function rewriteConfigPaths(text: string, mounts: MappedRun['mounts']): string {
  const ordered = [...mounts].sort((a, b) => b.mountPath.length - a.mountPath.length)
  const pattern = new RegExp(`(?<![\\w/.:-])(${ordered.map((mount) => mount.mountPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})/`, 'g')
  return text.replace(pattern, (_match, mountPath: string) => `${ordered.find((mount) => mount.mountPath === mountPath)!.dir}/`)
}

/** Runs a mapped container: its command must be the `secrets` CLI, which runs from the build. */
export function runMapped(run: MappedRun, options: {timeoutMs?: number} = {}): Promise<RunResult> {
  if (run.command.length !== 1 || run.command[0] !== 'secrets') throw new Error(`the container's command is ${JSON.stringify(run.command)}, not ["secrets"]`)
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [builtCli(), ...run.args], {cwd: run.env.HOME ?? tmpdir(), env: run.env, stdio: ['ignore', 'pipe', 'pipe']})
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk))
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 240_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolvePromise({code: code ?? -1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8')})
    })
  })
}

/** A kubeconfig that authenticates as a ServiceAccount with a token of the API server's audience. */
export function serviceAccountKubeconfig(dir: string, cluster: {server: string; caFile: string}, token: string, name: string): string {
  const file = join(dir, `kubeconfig-${name}`)
  writeFileSync(
    file,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{name: 'test', cluster: {server: cluster.server, 'certificate-authority': cluster.caFile}}],
      users: [{name, user: {token}}],
      contexts: [{name, context: {cluster: 'test', user: name}}],
      'current-context': name,
    }),
    {mode: 0o600},
  )
  return file
}

/**
 * Runs `go` (or, with `program`, a binary Go built: args[0]) with the test
 * cache's module and build caches, as scripts/test-env/binaries.sh does.
 * Fails with the command's own error output.
 */
export function goCommand(args: string[], options: {cwd: string; env?: Record<string, string>; program?: boolean}): string {
  const cache = process.env.SECRETS_TOOLKIT_CACHE ?? join(process.env.HOME ?? '/root', '.cache/secrets-toolkit')
  const [file, rest] = options.program ? [args[0], args.slice(1)] : ['go', args]
  try {
    return execFileSync(file, rest, {
      cwd: options.cwd,
      encoding: 'utf8',
      env: {...process.env, GOMODCACHE: join(cache, 'gomod'), GOCACHE: join(cache, 'gocache'), GOFLAGS: '-modcacherw -mod=mod', GOTOOLCHAIN: 'local', CGO_ENABLED: '0', ...options.env},
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 1_800_000,
    })
  } catch (error) {
    const failure = error as {stderr?: string; message: string}
    throw new Error(`${file} ${rest.join(' ')}: ${failure.stderr || failure.message}`)
  }
}
