import {applyPlannedSecret, REGENERATE_SETTLE_MS, type AppliedState} from '../../../src/lib/bootstrap/apply.js'
import type {PlannedSecret} from '../../../src/lib/bootstrap/plan.js'
import {PUSH_REQUESTED_ANNOTATION} from '../../../src/lib/eso/apply.js'
import {REGENERATE_REQUESTED_ANNOTATION} from '../../../src/lib/eso/nudge.js'
import type {KubeClient} from '../../../src/lib/kube/client.js'
import {SecretValue} from '../../../src/lib/secret/secret-value.js'

// ESO as `bootstrap --rotate` of a generated secret meets it: under
// refreshPolicy CreatedOnce it regenerates an ExternalSecret whose sync
// record (status.refreshTime) was cleared, once the annotation makes it look.
// Each script step runs on one poll of the Secret (every 500 ms).
type Step = 'nothing' | 'regenerate' | 'regenerate-without-record' | 'record'

class FakeEso {
  refreshTime: string | null = '2026-12-01T07:00:00Z'
  value = 'first-generated-value'.padEnd(40, '0')
  resourceVersion = 1
  regenerations = 0
  pushRequests = 0
  requested = false

  constructor(private readonly script: Step[]) {}

  #regenerate(): void {
    this.regenerations++
    this.value = `regenerated-value-${this.regenerations}`.padEnd(40, '0')
    this.resourceVersion++
  }

  kube(): KubeClient {
    const fake = {
      patchStatus: async (_apiVersion: string, _plural: string, _name: string, _namespace: string, status: Record<string, unknown>) => {
        if (status.refreshTime === null) this.refreshTime = null
      },
      annotate: async (_apiVersion: string, kind: string, _name: string, _namespace: string, annotations: Record<string, string>) => {
        if (kind === 'ExternalSecret' && REGENERATE_REQUESTED_ANNOTATION in annotations) this.requested = true
        if (kind === 'PushSecret' && PUSH_REQUESTED_ANNOTATION in annotations) this.pushRequests++
      },
      read: async () => ({apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', status: {refreshTime: this.refreshTime}}),
      getSecret: async (namespace: string, name: string) => {
        const step = this.requested ? (this.script.shift() ?? 'nothing') : 'nothing'
        if (step === 'regenerate' || step === 'regenerate-without-record') this.#regenerate()
        if (step === 'regenerate' || step === 'record') this.refreshTime = '2026-12-01T07:05:00Z'
        return {namespace, name, type: 'Opaque', labels: {}, annotations: {}, resourceVersion: String(this.resourceVersion), data: new Map([['token', SecretValue.fromString(this.value)]])}
      },
    }
    return fake as unknown as KubeClient
  }
}

function plannedRegeneration(eso: FakeEso): PlannedSecret {
  return {
    id: 'apps/receiver',
    action: 'regenerate',
    remoteKey: 'apps/receiver',
    missingKeys: [],
    secret: {namespace: 'apps', name: 'receiver', generatedInCluster: true, keys: [{key: 'token', source: 'generate'}]},
    existing: {namespace: 'apps', name: 'receiver', type: 'Opaque', labels: {}, annotations: {}, data: new Map([['token', SecretValue.fromString(eso.value)]])},
  } as unknown as PlannedSecret
}

/** A clock that the loop's sleeps move forward, so the test takes no real time. */
function fakeTime() {
  let now = Date.parse('2026-12-01T08:00:00Z')
  const started = now
  return {now: () => new Date(now), sleep: async (ms: number) => void (now += ms), elapsed: () => now - started}
}

async function rotate(eso: FakeEso) {
  const state: AppliedState = {namespace: true, pushSecret: false, secret: false}
  const time = fakeTime()
  const values = await applyPlannedSecret(eso.kube(), plannedRegeneration(eso), undefined, [], state, {regenerateTimeoutMs: 120_000, now: time.now, sleep: time.sleep})
  return {value: values!.get('token')!.revealString(), elapsedMs: time.elapsed(), state}
}

describe('bootstrap --rotate of a value ESO generates', () => {
  test('one regeneration: its values, once they have stayed for the settle time, and one push request', async () => {
    const eso = new FakeEso(['nothing', 'regenerate'])
    const result = await rotate(eso)
    expect(result.value).toBe(eso.value)
    expect(result.elapsedMs).toBeGreaterThanOrEqual(REGENERATE_SETTLE_MS)
    expect(result.elapsedMs).toBeLessThan(REGENERATE_SETTLE_MS + 2_000)
    expect({pushRequests: eso.pushRequests, state: result.state}).toEqual({pushRequests: 1, state: {namespace: true, pushSecret: true, secret: true}})
  })

  test('ESO regenerating twice for one request (the second reconcile read a stale cache): the second values, not the first', async () => {
    const eso = new FakeEso(['regenerate', 'nothing', 'regenerate'])
    const result = await rotate(eso)
    expect(eso.regenerations).toBe(2)
    expect(result.value).toBe('regenerated-value-2'.padEnd(40, '0'))
    expect(eso.pushRequests).toBe(1)
  })

  test('new values before ESO has recorded the sync are not taken yet', async () => {
    const eso = new FakeEso(['regenerate-without-record', 'nothing', 'nothing', 'nothing', 'nothing', 'nothing', 'nothing', 'regenerate-without-record', 'record'])
    const result = await rotate(eso)
    expect(result.value).toBe('regenerated-value-2'.padEnd(40, '0'))
  })

  test('ESO never regenerating: a timeout naming the ExternalSecret, and no push requested', async () => {
    const eso = new FakeEso([])
    await expect(rotate(eso)).rejects.toMatchObject({code: 'REGENERATE_TIMEOUT', message: expect.stringContaining('apps/receiver: ESO did not write new values within 120 s')})
    expect(eso.pushRequests).toBe(0)
  })
})
