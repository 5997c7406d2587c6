// The run record and the part-way report are pure: names, sources and counts in, text out.
import {ToolkitError} from '../../../src/lib/errors/errors.js'
import {buildPushSecret, DEFAULT_REMOTE_KEY_TEMPLATE} from '../../../src/lib/eso/push-secret.js'
import {emptyWritten} from '../../../src/lib/migrate/apply.js'
import type {MigrationPlan} from '../../../src/lib/migrate/plan.js'
import {parseRunRecord, runId, runRecordObjects, RUN_RECORD_LABEL} from '../../../src/lib/migrate/run-record.js'
import {stoppedPartWayError} from '../../../src/lib/migrate/run.js'
import {SecretValue} from '../../../src/lib/secret/secret-value.js'

const CANARY = 'canary-run-record-value'

function planOf(ids: string[], failures: string[] = []): MigrationPlan {
  return {
    engine: {name: 'builtin', reason: 'test'},
    discovery: {sopsFiles: [], configFiles: [], skipped: [], filesRead: 0} as never,
    failures: failures.map((source) => ({source, code: 'NO_KEY', message: `${source}: no key`})),
    migrations: ids.map((id) => {
      const [namespace, name] = id.split('/')
      return {
        planned: {source: `apps/${name}.yaml`, document: 0, origin: 'file', spec: {namespace, name, type: 'Opaque', labels: {}, annotations: {}, data: new Map([['password', SecretValue.fromString(CANARY)]])}},
        pushSecret: buildPushSecret({namespace, name, keys: ['password']}, [], {remoteKeyTemplate: DEFAULT_REMOTE_KEY_TEMPLATE, deletionPolicy: 'None', refreshInterval: '1h', labels: {}}),
        remotes: [],
      }
    }),
  }
}

describe('run record', () => {
  test('one ConfigMap per namespace, names and counts only; the id depends on the planned set alone', () => {
    const plan = planOf(['b/two', 'a/one', 'b/three'], ['apps/broken.yaml'])
    const objects = runRecordObjects(plan, 'planned')
    expect(objects.map((object) => `${object.metadata!.namespace}/${object.metadata!.name}`)).toEqual([`a/secrets-toolkit-migration-${runId(plan)}`, `b/secrets-toolkit-migration-${runId(plan)}`])
    expect(objects[0].metadata!.labels![RUN_RECORD_LABEL]).toBe(runId(plan))
    expect(JSON.stringify(objects)).not.toContain(CANARY)
    const parsed = parseRunRecord(objects[1])
    expect(parsed).toMatchObject({state: 'planned', plannedTotal: 3, skippedSources: ['apps/broken.yaml']})
    expect(parsed.entries).toEqual([
      {namespace: 'b', name: 'two', source: 'apps/two.yaml', keys: 1},
      {namespace: 'b', name: 'three', source: 'apps/three.yaml', keys: 1},
    ])
    expect(runId(planOf(['a/one', 'b/three', 'b/two']))).toBe(runId(plan))
    expect(runId(planOf(['a/one']))).not.toBe(runId(plan))
  })

  test('a record that is not ours is an error naming the ConfigMap, not an empty plan', () => {
    const bad = {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'secrets-toolkit-migration-x', namespace: 'a'}, data: {'run.json': '{"version": 2}'}}
    expect(() => parseRunRecord(bad as never)).toThrow(/a\/secrets-toolkit-migration-x/)
  })
})

describe('an error after the first write says what was written', () => {
  test('counts, Secrets without PushSecret, uncertain writes, and that a re-run completes it', () => {
    const written = {...emptyWritten(), runRecords: ['a/secrets-toolkit-migration-abc'], secrets: {create: 86, update: 0}, pushSecrets: {create: 77, update: 0}}
    written.secretsWithoutPushSecret = ['a/s9']
    written.uncertain = ['PushSecret a/s9']
    written.notWritten = {secrets: 114, pushSecrets: 123}
    const cause = new ToolkitError('KUBE_UNREACHABLE', 'cannot apply PushSecret a/s9: the Kubernetes API server at https://k8s:6443 is unreachable: connection refused (ECONNREFUSED)', {hint: 'Check the kubeconfig.'})
    const error = stoppedPartWayError(cause, written, 200)
    expect(error.code).toBe('KUBE_UNREACHABLE')
    expect(error.message).toContain('migration stopped part-way (200 Secret(s) planned)')
    expect(error.message).toContain('Secrets: 86 created, 0 updated')
    expect(error.message).toContain('PushSecrets: 77 created, 0 updated')
    expect(error.message).toContain('1 Secret(s) exist without their PushSecret (not pushed to any Vault): a/s9')
    expect(error.message).toContain('Failed while being written (the server may have applied them): PushSecret a/s9')
    expect(error.message).not.toMatch(/nothing (was )?written/)
    expect(error.details).toMatchObject({stoppedPartWay: true, planned: 200, written: {secrets: {create: 86}, secretsWithoutPushSecret: ['a/s9']}})
    expect(error.hint).toBe('Check the kubeconfig. Then re-run the same `secrets migrate sops` command: it completes what is missing and leaves what is in place. `secrets migrate verify` lists what is still missing.')
  })

  test('with no confirmed write it does not claim any', () => {
    const error = stoppedPartWayError(new ToolkitError('KUBE_UNREACHABLE', 'x'), emptyWritten(), 3)
    expect(error.message).toContain('No write was confirmed before the failure')
  })
})
