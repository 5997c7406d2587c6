// etcd + kube-apiserver started the way controller-runtime's envtest does it:
// a throw-away CA and serving certificate, a service-account signing key, a
// static admin token in system:masters, RBAC, and no controller-manager.
import {execFileSync} from 'node:child_process'
import {generateKeyPairSync, randomBytes} from 'node:crypto'
import {existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import * as k8s from '@kubernetes/client-node'
import {parseAllDocuments, stringify} from 'yaml'

import {conditionOf, KubeClient, loadKubeConfig, type KubeObject} from '../../src/lib/kube/client.js'
import {freePorts, httpGet, sleep, waitFor} from './net.js'
import {logTail, type ManagedProcess, startProcess} from './processes.js'

const STARTUP_TIMEOUT_MS = 90_000

export interface Etcd {
  url: string
  process: ManagedProcess
}

/** Retries a start on fresh ports when another process took one between freePorts() and bind. */
async function withFreshPorts<T>(logFile: string, start: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start()
    } catch (error) {
      if (attempt >= 3 || !/address already in use/.test(logTail(logFile, 40))) throw error
      await sleep(100)
    }
  }
}

export async function startEtcd(binary: string, workDir: string): Promise<Etcd> {
  const logFile = join(workDir, 'logs', 'etcd.log')
  return withFreshPorts(logFile, async () => {
    const [clientPort, peerPort] = await freePorts(2)
    const url = `http://127.0.0.1:${clientPort}`
    const peer = `http://127.0.0.1:${peerPort}`
    const process_ = startProcess({
      name: 'etcd',
      command: binary,
      args: [
        '--name=default',
        `--data-dir=${join(workDir, 'etcd')}`,
        `--listen-client-urls=${url}`,
        `--advertise-client-urls=${url}`,
        `--listen-peer-urls=${peer}`,
        `--initial-advertise-peer-urls=${peer}`,
        `--initial-cluster=default=${peer}`,
        // Throw-away data: durability buys nothing and fsync costs seconds on a busy disk.
        '--unsafe-no-fsync',
      ],
      logFile,
    })
    try {
      await waitFor('etcd to report healthy', async () => ((await httpGet(`${url}/health`)).body.includes('"health":"true"') ? true : undefined), {
        timeoutMs: STARTUP_TIMEOUT_MS,
        abort: () => (process_.running() ? undefined : `etcd exited; ${logFile} ends with:\n${logTail(logFile)}`),
      })
    } catch (error) {
      await process_.stop()
      throw error
    }
    return {url, process: process_}
  })
}

interface Certificates {
  caCert: string
  servingCert: string
  servingKey: string
  serviceAccountKey: string
  serviceAccountPublicKey: string
}

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, {cwd, stdio: ['ignore', 'ignore', 'pipe']})
  } catch (error) {
    const stderr = (error as {stderr?: Buffer}).stderr?.toString() ?? (error as Error).message
    throw new Error(`openssl ${args[0]} failed (install openssl: apt-get install openssl): ${stderr}`)
  }
}

/** A CA, a serving certificate for 127.0.0.1 signed by it, and a service-account key pair. */
function makeCertificates(dir: string): Certificates {
  mkdirSync(dir, {recursive: true})
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '7', '-subj', '/CN=secrets-toolkit-test-ca',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir)
  openssl(['req', ...ec, '-keyout', 'apiserver.key', '-out', 'apiserver.csr', '-subj', '/CN=kube-apiserver'], dir)
  writeFileSync(join(dir, 'apiserver.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n')
  openssl(['x509', '-req', '-in', 'apiserver.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'apiserver.crt', '-days', '7', '-extfile', 'apiserver.ext'], dir)
  const {privateKey, publicKey} = generateKeyPairSync('ec', {namedCurve: 'prime256v1'})
  writeFileSync(join(dir, 'service-account.key'), privateKey.export({type: 'sec1', format: 'pem'}))
  writeFileSync(join(dir, 'service-account.pub'), publicKey.export({type: 'spki', format: 'pem'}))
  return {
    caCert: join(dir, 'ca.crt'),
    servingCert: join(dir, 'apiserver.crt'),
    servingKey: join(dir, 'apiserver.key'),
    serviceAccountKey: join(dir, 'service-account.key'),
    serviceAccountPublicKey: join(dir, 'service-account.pub'),
  }
}

export interface KubeApiServer {
  url: string
  kubeconfig: string
  process: ManagedProcess
}

export async function startKubeApiServer(binary: string, workDir: string, etcdUrl: string): Promise<KubeApiServer> {
  const dir = join(workDir, 'kube-apiserver')
  const certs = makeCertificates(join(dir, 'pki'))
  const adminToken = randomBytes(24).toString('hex')
  const tokenFile = join(dir, 'tokens.csv')
  writeFileSync(tokenFile, `${adminToken},admin,admin,"system:masters"\n`, {mode: 0o600})
  const logFile = join(workDir, 'logs', 'kube-apiserver.log')
  return withFreshPorts(logFile, async () => {
    const [port] = await freePorts(1)
    const url = `https://127.0.0.1:${port}`
    const process_ = startProcess({
      name: 'kube-apiserver',
      command: binary,
      args: [
        `--etcd-servers=${etcdUrl}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${port}`,
        `--cert-dir=${dir}`,
        `--tls-cert-file=${certs.servingCert}`,
        `--tls-private-key-file=${certs.servingKey}`,
        `--token-auth-file=${tokenFile}`,
        '--authorization-mode=RBAC',
        `--service-account-issuer=${url}`,
        `--service-account-key-file=${certs.serviceAccountPublicKey}`,
        `--service-account-signing-key-file=${certs.serviceAccountKey}`,
        '--service-cluster-ip-range=10.0.0.0/24',
        // No controller-manager creates service-account tokens here (envtest does the same).
        '--disable-admission-plugins=ServiceAccount',
        '--allow-privileged=true',
        // One client (the tests) and one controller: fairness queues only add start-up work.
        '--enable-priority-and-fairness=false',
        '--profiling=false',
        // The default reconciler publishes the advertise address as the `kubernetes`
        // Service's endpoint, and Endpoints refuse loopback addresses: an error every 10 s.
        '--endpoint-reconciler-type=none',
      ],
      logFile,
    })
    const ca = readFileSync(certs.caCert)
    try {
      await waitFor('kube-apiserver to be ready (/readyz)', async () => {
        const answer = await httpGet(`${url}/readyz`, {ca, headers: {Authorization: `Bearer ${adminToken}`}})
        return answer.status === 200 ? true : undefined
      }, {
        timeoutMs: STARTUP_TIMEOUT_MS,
        intervalMs: 250,
        abort: () => (process_.running() ? undefined : `kube-apiserver exited; ${logFile} ends with:\n${logTail(logFile)}`),
      })
    } catch (error) {
      await process_.stop()
      throw error
    }
    const kubeconfig = join(workDir, 'kubeconfig')
    writeFileSync(
      kubeconfig,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{name: 'secrets-toolkit-test', cluster: {server: url, 'certificate-authority-data': ca.toString('base64')}}],
        users: [{name: 'admin', user: {token: adminToken}}],
        contexts: [{name: 'secrets-toolkit-test', context: {cluster: 'secrets-toolkit-test', user: 'admin'}}],
        'current-context': 'secrets-toolkit-test',
      }),
      {mode: 0o600},
    )
    return {url, kubeconfig, process: process_}
  })
}

export function kubeClient(kubeconfig: string): KubeClient {
  return new KubeClient(loadKubeConfig({kubeconfig}))
}

/** ESO's own CRD bundle beside the binary (the build copies it there), else the shared fixtures. */
export function esoCrdDocuments(esoBinary: string, fallbackDir: string): {source: string; crds: KubeObject[]} {
  const bundle = `${esoBinary}.crds.yaml`
  let sources: string[]
  if (existsSync(bundle)) sources = [bundle]
  else if (existsSync(fallbackDir)) {
    sources = readdirSync(fallbackDir)
      .filter((file) => file.endsWith('.yaml'))
      .sort()
      .map((file) => join(fallbackDir, file))
  } else {
    throw new Error(`no ESO CRDs: neither ${bundle} nor ${fallbackDir} exists.\nRun: scripts/test-env/binaries.sh ensure eso`)
  }
  return {source: sources.join(', '), crds: crdDocumentsFromFiles(sources)}
}

/** The CustomResourceDefinitions in YAML files (multi-document), ready for applyCrds. */
export function crdDocumentsFromFiles(files: string[]): KubeObject[] {
  // loadAllYaml turns each CRD into client-node's typed model: applying a plain
  // parsed object would lose every schema key the model spells differently
  // (x-kubernetes-preserve-unknown-fields becomes xKubernetesPreserveUnknownFields).
  // Empty documents (a file that starts with `---`, joined to another) are skipped: loadAllYaml fails on them.
  return files
    .flatMap((file) => parseAllDocuments(readFileSync(file, 'utf8')))
    .filter((document) => document.toJS() != null)
    .map((document) => k8s.loadYaml(document.toString()) as KubeObject)
    .filter((object) => object?.kind === 'CustomResourceDefinition')
}

/** Server-side apply of every CRD, then waits until each is Established. */
export async function applyCrds(kube: KubeClient, crds: KubeObject[]): Promise<void> {
  await Promise.all(crds.map((crd) => kube.apply(crd, {force: true})))
  await Promise.all(
    crds.map((crd) =>
      waitFor(`CRD ${crd.metadata?.name} to be Established`, async () => {
        const current = await kube.read('apiextensions.k8s.io/v1', 'CustomResourceDefinition', crd.metadata?.name ?? '')
        return conditionOf(current, 'Established')?.status === 'True' ? true : undefined
      }, {timeoutMs: 60_000, intervalMs: 200}),
    ),
  )
}
