// The PrometheusRule CRD for the server-side dry run of the chart's
// PrometheusRule: generated, as prometheus-operator generates its published
// CRDs, by controller-gen from the operator's API types (the Go module
// github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring),
// both through the Go module proxy, once, into the test cache.
import {cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync} from 'node:fs'
import {join} from 'node:path'

import {goCommand} from './chart-helpers.js'

export const PROMETHEUS_OPERATOR_API_VERSION = 'v0.95.2'
export const CONTROLLER_GEN_VERSION = 'v0.23.0'
const API_MODULE = 'github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring'

function cacheDir(): string {
  return process.env.SECRETS_TOOLKIT_CACHE ?? join(process.env.HOME ?? '/root', '.cache/secrets-toolkit')
}

/** The path of monitoring.coreos.com_prometheusrules.yaml, generated on first use. */
export function prometheusRuleCrd(): string {
  const dir = join(cacheDir(), 'build', `prometheus-operator-crds-${PROMETHEUS_OPERATOR_API_VERSION}`)
  const file = join(dir, 'monitoring.coreos.com_prometheusrules.yaml')
  if (existsSync(file)) return file
  const scratch = `${dir}.partial-${process.pid}`
  rmSync(scratch, {recursive: true, force: true})
  mkdirSync(scratch, {recursive: true})
  try {
    goCommand(['install', `sigs.k8s.io/controller-tools/cmd/controller-gen@${CONTROLLER_GEN_VERSION}`], {cwd: scratch, env: {GOBIN: join(scratch, 'bin')}})
    const module = JSON.parse(goCommand(['mod', 'download', '-json', `${API_MODULE}@${PROMETHEUS_OPERATOR_API_VERSION}`], {cwd: scratch})) as {Dir?: string}
    if (!module.Dir) throw new Error(`go mod download gave no directory for ${API_MODULE}@${PROMETHEUS_OPERATOR_API_VERSION}`)
    cpSync(module.Dir, join(scratch, 'src'), {recursive: true})
    goCommand(['mod', 'download'], {cwd: join(scratch, 'src')})
    goCommand([join(scratch, 'bin', 'controller-gen'), 'crd:crdVersions=v1', 'paths=./v1', `output:crd:dir=${join(scratch, 'crds')}`], {cwd: join(scratch, 'src'), program: true})
    const generated = join(scratch, 'crds', 'monitoring.coreos.com_prometheusrules.yaml')
    if (!existsSync(generated)) throw new Error(`controller-gen wrote ${readdirSync(join(scratch, 'crds')).join(', ')}, not the PrometheusRule CRD`)
    mkdirSync(dir, {recursive: true})
    renameSync(generated, `${file}.${process.pid}`)
    renameSync(`${file}.${process.pid}`, file)
    return file
  } catch (error) {
    throw new Error(
      `could not generate the PrometheusRule CRD (${(error as Error).message.slice(0, 2000)}).\n` +
        `It needs Go and the Go module proxy (controller-gen ${CONTROLLER_GEN_VERSION}, ${API_MODULE}@${PROMETHEUS_OPERATOR_API_VERSION}); see docs/testing.md.`,
    )
  } finally {
    rmSync(scratch, {recursive: true, force: true})
  }
}
