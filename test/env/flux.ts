// Flux's source-controller and kustomize-controller, run out of cluster
// against the test kube-apiserver (as ESO is), and a Git server on loopback
// for them to clone from. Only the tests that reconcile a GitOps repository
// start them — not the global setup — see docs/testing.md for the measured
// cost. Each start gets a watch label of its own, so two test files running
// Flux at the same time do not reconcile each other's objects.
import {execFileSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {existsSync, mkdirSync, rmSync, writeFileSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'

import * as k8s from '@kubernetes/client-node'

import {conditionOf, type KubeClient, type KubeObject} from '../../src/lib/kube/client.js'
import {PROJECT_ROOT, requireBinary} from '../helpers/binaries.js'
import {applyCrds, crdDocumentsFromFiles} from './kube.js'
import {freePorts, httpGet, waitFor} from './net.js'
import {logTail, type ManagedProcess, startProcess} from './processes.js'

export const FLUX_NAMESPACE = 'flux-system'
export const GIT_REPOSITORY_API_VERSION = 'source.toolkit.fluxcd.io/v1'
export const KUSTOMIZATION_API_VERSION = 'kustomize.toolkit.fluxcd.io/v1'
/** The label each Flux start watches (--watch-label-selector); put `watchLabels` on every GitRepository and Kustomization. */
export const FLUX_WATCH_LABEL = 'secrets-toolkit.test/flux'
/** Field manager of the test's own annotations, so they never take fields from the manifests the tests apply. */
const RECONCILE_FIELD_MANAGER = 'secrets-toolkit-test-flux'
const STARTUP_TIMEOUT_MS = 90_000
const GIT_SERVER_SCRIPT = resolve(PROJECT_ROOT, 'test/env/git-http-server.mjs')

export interface FluxControllers {
  sourceController: ManagedProcess
  kustomizeController: ManagedProcess
  /** Labels the controllers of this start reconcile; objects without them are left alone. */
  watchLabels: Record<string, string>
  /** Milliseconds per start-up phase: binaries, crds, controllers, total. */
  timings: Record<string, number>
  stop(): Promise<void>
}

/**
 * Installs Flux's CRDs and starts both controllers against the cluster of
 * `kubeconfig`. They read KUBECONFIG from their environment (controller-runtime),
 * bind only loopback ports, run without leader election, and get no other
 * variable of the test process — no SOPS key, no Vault token — so what they
 * decrypt they decrypt with the key a Kustomization names.
 */
export async function startFlux(options: {kube: KubeClient; kubeconfig: string; workDir: string}): Promise<FluxControllers> {
  const started = Date.now()
  const timings: Record<string, number> = {}
  const timed = async <T>(phase: string, work: () => Promise<T>): Promise<T> => {
    const begin = Date.now()
    const result = await work()
    timings[phase] = Date.now() - begin
    return result
  }
  const binaries = await timed('binaries', async () => ({
    source: requireBinary('flux-source-controller'),
    kustomize: requireBinary('flux-kustomize-controller'),
  }))
  await timed('crds', async () => {
    await applyCrds(options.kube, crdDocumentsFromFiles([`${binaries.source}.crds.yaml`, `${binaries.kustomize}.crds.yaml`]))
    await options.kube.ensureNamespace(FLUX_NAMESPACE)
  })

  const instance = randomBytes(4).toString('hex')
  const dir = join(options.workDir, 'flux', instance)
  const home = join(dir, 'home')
  const storage = join(dir, 'storage')
  // source-controller refuses a storage path that does not exist yet.
  for (const needed of [home, storage]) mkdirSync(needed, {recursive: true})
  const env = {PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, TMPDIR: dir, KUBECONFIG: options.kubeconfig, RUNTIME_NAMESPACE: FLUX_NAMESPACE}
  const watchLabels = {[FLUX_WATCH_LABEL]: instance}
  const common = [
    // Metrics off, and health on a free port below: the defaults (:8080, :9440) are shared with every other run on the machine.
    '--metrics-addr=0',
    '--enable-leader-election=false',
    '--watch-all-namespaces=true',
    `--watch-label-selector=${FLUX_WATCH_LABEL}=${instance}`,
    '--log-encoding=console',
    '--log-level=info',
  ]
  const running: ManagedProcess[] = []
  try {
    const [sourceHealth, storagePort, kustomizeHealth] = await freePorts(3)
    const sourceController = await timed('source-controller', () =>
      startController({
        name: 'flux-source-controller',
        binary: binaries.source,
        healthPort: sourceHealth,
        args: [
          ...common,
          `--health-addr=127.0.0.1:${sourceHealth}`,
          `--storage-path=${storage}`,
          `--storage-addr=127.0.0.1:${storagePort}`,
          // kustomize-controller downloads artifacts from the address advertised here.
          `--storage-adv-addr=127.0.0.1:${storagePort}`,
        ],
        env,
        logFile: join(options.workDir, 'logs', `flux-source-controller-${instance}.log`),
      }),
    )
    running.push(sourceController)
    const kustomizeController = await timed('kustomize-controller', () =>
      startController({
        name: 'flux-kustomize-controller',
        binary: binaries.kustomize,
        healthPort: kustomizeHealth,
        args: [...common, `--health-addr=127.0.0.1:${kustomizeHealth}`, '--no-remote-bases=true'],
        env,
        logFile: join(options.workDir, 'logs', `flux-kustomize-controller-${instance}.log`),
      }),
    )
    running.push(kustomizeController)
    timings.total = Date.now() - started
    writeFileSync(join(dir, 'timings.json'), JSON.stringify(timings, null, 2))
    return {
      sourceController,
      kustomizeController,
      watchLabels,
      timings,
      async stop() {
        // The consumer before the source, as the global teardown orders ESO before the API server.
        for (const controller of [...running].reverse()) await controller.stop()
      },
    }
  } catch (error) {
    for (const controller of [...running].reverse()) await controller.stop()
    throw error
  }
}

async function startController(options: {name: string; binary: string; healthPort: number; args: string[]; env: NodeJS.ProcessEnv; logFile: string}): Promise<ManagedProcess> {
  mkdirSync(dirname(options.logFile), {recursive: true})
  const controller = startProcess({name: options.name, command: options.binary, args: options.args, env: options.env, logFile: options.logFile})
  try {
    await waitFor(`${options.name} to answer /readyz`, async () => ((await httpGet(`http://127.0.0.1:${options.healthPort}/readyz`)).status === 200 ? true : undefined), {
      timeoutMs: STARTUP_TIMEOUT_MS,
      intervalMs: 100,
      abort: () => (controller.running() ? undefined : `${options.name} exited; ${options.logFile} ends with:\n${logTail(options.logFile)}`),
    })
  } catch (error) {
    await controller.stop()
    throw error
  }
  return controller
}

export interface GitServer {
  /** http://127.0.0.1:PORT */
  readonly url: string
  readonly root: string
  readonly process: ManagedProcess
  /** A bare repository served at `${url}/${name}.git`, with a work tree to commit from. */
  createRepository(name: string): GitRepositoryFixture
  stop(): Promise<void>
}

export interface GitRepositoryFixture {
  /** What a GitRepository's spec.url names. */
  readonly url: string
  readonly branch: string
  readonly workTree: string
  /**
   * Writes (string or Buffer) or removes (null) files of the work tree, commits
   * and pushes to the served repository; returns the commit's full hash.
   */
  commit(changes: Record<string, string | Buffer | null>, message: string): string
  /** Runs git in the work tree (no user or system configuration), e.g. to push a branch another tool committed; returns its trimmed stdout. */
  git(args: string[]): string
}

function git(args: string[], cwd: string): string {
  // No user or system configuration: hooks, signing or templates of the machine must not change the fixture.
  const env = {...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_AUTHOR_NAME: 'test', GIT_AUTHOR_EMAIL: 'test@example.invalid', GIT_COMMITTER_NAME: 'test', GIT_COMMITTER_EMAIL: 'test@example.invalid'}
  return execFileSync('git', args, {cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']}).trim()
}

/**
 * `git http-backend` behind a small HTTP bridge (test/env/git-http-server.mjs),
 * in a process of its own — a test's synchronous work cannot stall a clone —
 * with no authentication, on a free loopback port.
 */
export async function startGitServer(options: {workDir: string; name?: string}): Promise<GitServer> {
  const name = options.name ?? `git-${randomBytes(3).toString('hex')}`
  const root = join(options.workDir, 'git-server', name)
  mkdirSync(root, {recursive: true})
  const logFile = join(options.workDir, 'logs', `${name}.log`)
  const [port] = await freePorts(1)
  const url = `http://127.0.0.1:${port}`
  const server = startProcess({name, command: process.execPath, args: [GIT_SERVER_SCRIPT, root, String(port)], logFile})
  try {
    await waitFor(`the Git server ${name} to listen`, async () => ((await httpGet(`${url}/`)).status > 0 ? true : undefined), {
      timeoutMs: 30_000,
      intervalMs: 50,
      abort: () => (server.running() ? undefined : `it exited; ${logFile} ends with:\n${logTail(logFile)}`),
    })
  } catch (error) {
    await server.stop()
    throw error
  }
  return {
    url,
    root,
    process: server,
    createRepository(repository: string): GitRepositoryFixture {
      const bare = join(root, `${repository}.git`)
      const workTree = join(options.workDir, 'git-work', name, repository)
      const branch = 'main'
      git(['init', '--quiet', '--bare', `--initial-branch=${branch}`, bare], root)
      rmSync(workTree, {recursive: true, force: true})
      mkdirSync(workTree, {recursive: true})
      git(['init', '--quiet', `--initial-branch=${branch}`], workTree)
      git(['remote', 'add', 'origin', bare], workTree)
      // An identity of the repository's own, for tools under test that commit here without the fixture's environment.
      git(['config', 'user.name', 'test'], workTree)
      git(['config', 'user.email', 'test@example.invalid'], workTree)
      return {
        url: `${url}/${repository}.git`,
        branch,
        workTree,
        commit(changes, message) {
          for (const [path, content] of Object.entries(changes)) {
            const file = join(workTree, path)
            if (content === null) {
              if (existsSync(file)) git(['rm', '--quiet', '--', path], workTree)
              continue
            }
            mkdirSync(dirname(file), {recursive: true})
            writeFileSync(file, content)
            git(['add', '--', path], workTree)
          }
          git(['commit', '--quiet', '--allow-empty', '-m', message], workTree)
          git(['push', '--quiet', 'origin', branch], workTree)
          return git(['rev-parse', 'HEAD'], workTree)
        },
        git: (args) => git(args, workTree),
      }
    },
    stop: () => server.stop(),
  }
}

/** A Flux object's Ready condition is True for the current generation, and `accept` (if any) agrees. */
export async function waitForFluxReady(
  kube: KubeClient,
  ref: {apiVersion: string; kind: string; name: string; namespace: string},
  options: {timeoutMs?: number; accept?: (object: KubeObject) => string | undefined; controllers?: FluxControllers} = {},
): Promise<KubeObject> {
  return waitFor(`${ref.kind} ${ref.namespace}/${ref.name} to be Ready`, async () => {
    const object = await kube.read(ref.apiVersion, ref.kind, ref.name, ref.namespace)
    if (!object) throw new Error('it does not exist')
    const ready = conditionOf(object, 'Ready')
    const observed = object.status?.observedGeneration
    if (ready?.status !== 'True') throw new Error(ready ? `Ready=${ready.status} ${ready.reason ?? ''}: ${ready.message ?? ''}` : 'no Ready condition yet')
    if (observed !== object.metadata?.generation) throw new Error(`generation ${object.metadata?.generation} not observed yet (${String(observed)})`)
    const notYet = options.accept?.(object)
    if (notYet) throw new Error(notYet)
    return object
  }, {
    timeoutMs: options.timeoutMs ?? 120_000,
    intervalMs: 250,
    abort: () => {
      for (const controller of [options.controllers?.sourceController, options.controllers?.kustomizeController]) {
        if (controller && !controller.running()) return `${controller.name} exited; ${controller.logFile} ends with:\n${logTail(controller.logFile)}`
      }
      return undefined
    },
  })
}

/** An `accept` for waitForFluxReady: the Kustomization has applied `commit` of `branch`. */
export function appliedRevision(commit: string, branch = 'main'): (object: KubeObject) => string | undefined {
  return (object) => {
    const applied = object.status?.lastAppliedRevision
    return applied === `${branch}@sha1:${commit}` ? undefined : `last applied revision ${String(applied)}, waiting for ${branch}@sha1:${commit}`
  }
}

/**
 * Deletes Kustomizations and waits until they are gone, while the controllers
 * still run: their finalizers garbage-collect what the Kustomizations applied
 * (a stopped controller would leave them stuck). For a test's teardown: gives
 * up quietly after `timeoutMs`.
 */
export async function deleteKustomizations(kube: KubeClient, refs: {name: string; namespace: string}[], timeoutMs = 60_000): Promise<void> {
  for (const {name, namespace} of refs) await kube.delete(KUSTOMIZATION_API_VERSION, 'Kustomization', name, namespace)
  await waitFor('the Kustomizations to be gone', async () => {
    const left = await Promise.all(refs.map(({name, namespace}) => kube.read(KUSTOMIZATION_API_VERSION, 'Kustomization', name, namespace)))
    return left.every((object) => object === undefined) ? true : undefined
  }, {timeoutMs}).catch(() => undefined)
}

/**
 * Asks Flux to reconcile now, as `flux reconcile` does: the
 * reconcile.fluxcd.io/requestedAt annotation, under a field manager of its
 * own so that it never takes fields from the manifest the test applied.
 * Returns the annotation's value: the object's status.lastHandledReconcileAt
 * equals it once the controller has handled the request.
 */
export async function requestReconcile(kube: KubeClient, ref: {apiVersion: string; kind: string; name: string; namespace: string}): Promise<string> {
  const objects = k8s.KubernetesObjectApi.makeApiClient(kube.config)
  const requestedAt = new Date().toISOString()
  await objects.patch(
    {apiVersion: ref.apiVersion, kind: ref.kind, metadata: {name: ref.name, namespace: ref.namespace, annotations: {'reconcile.fluxcd.io/requestedAt': requestedAt}}},
    undefined,
    undefined,
    RECONCILE_FIELD_MANAGER,
    true,
    k8s.PatchStrategy.ServerSideApply,
  )
  return requestedAt
}
