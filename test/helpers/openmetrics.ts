// The reference OpenMetrics parser: the Prometheus Python client's
// (prometheus_client.openmetrics.parser), which is strict — it refuses a
// text without `# EOF`, a malformed name or label, a sample of the wrong
// type. Installed once from PyPI into the test cache (pinned), like
// git-filter-repo; a missing python3 or pip fails with the command to run.
import {execFileSync} from 'node:child_process'
import {existsSync, mkdirSync, renameSync, rmSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'

const VERSION = '0.26.0'

export interface OpenMetricsFamily {
  name: string
  type: string
  samples: {name: string; labels: Record<string, string>; value: number}[]
}

function clientDirectory(): string {
  const cache = process.env.SECRETS_TOOLKIT_CACHE ?? join(homedir(), '.cache', 'secrets-toolkit')
  const target = join(cache, 'tools', `prometheus-client-${VERSION}`)
  if (existsSync(join(target, 'prometheus_client'))) return target
  const partial = `${target}.partial-${process.pid}`
  mkdirSync(partial, {recursive: true})
  try {
    execFileSync('python3', ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-deps', '--target', partial, `prometheus-client==${VERSION}`], {stdio: ['ignore', 'ignore', 'pipe'], timeout: 180_000})
  } catch (error) {
    rmSync(partial, {recursive: true, force: true})
    throw new Error(`cannot install the OpenMetrics parser (prometheus-client ${VERSION} from PyPI): ${(error as Error).message}\nRun: apt-get install -y python3-pip   (the tests need python3 with pip, see docs/testing.md)`)
  }
  if (!existsSync(target)) renameSync(partial, target)
  else rmSync(partial, {recursive: true, force: true})
  return target
}

const SCRIPT = `
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
out = []
for family in text_string_to_metric_families(sys.stdin.read()):
    out.append({"name": family.name, "type": family.type, "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in family.samples]})
print(json.dumps(out))
`

/** Parses OpenMetrics text strictly; throws with the parser's message when it is not valid OpenMetrics. */
export function parseOpenMetrics(text: string): OpenMetricsFamily[] {
  const directory = clientDirectory()
  try {
    const output = execFileSync('python3', ['-c', SCRIPT], {input: text, env: {...process.env, PYTHONPATH: directory}, stdio: ['pipe', 'pipe', 'pipe'], timeout: 60_000})
    return JSON.parse(output.toString('utf8')) as OpenMetricsFamily[]
  } catch (error) {
    const stderr = (error as {stderr?: Buffer}).stderr?.toString('utf8').trim().split('\n').at(-1) ?? (error as Error).message
    throw new Error(`not valid OpenMetrics: ${stderr}`)
  }
}
