import type {ToolkitConfig} from '../config/schema.js'
import {ToolkitError} from '../errors/errors.js'
import {PUSH_SECRET_API_VERSION} from '../eso/api.js'
import {readyCondition} from '../eso/status.js'
import type {KubeClient} from '../kube/client.js'
import type {SecretValue} from '../secret/secret-value.js'
import {connectRegion, type RegionVault} from '../vault/connect.js'
import {confirmGate, runStages, type Stage, type StageRenderer, type WorkflowHooks} from '../workflow/runner.js'
import {applyPlannedSecret, incompleteError, type AppliedState} from './apply.js'
import {isVerified, needsValues, observeCluster, planBootstrap, planToJson, pushedKeys, renderPlan, type BootstrapPlan, type PlanSummaryJson} from './plan.js'
import {requireInteractiveTerminal} from './prompts.js'
import type {LoadedSpec} from './spec.js'
import {collectValues, parseStdinValues, type SecretValues, type ValueSource} from './values.js'
import {waitForVaults, type VaultCheck, type VaultExpectation} from './wait.js'

export interface WizardOptions {
  spec: LoadedSpec
  config: ToolkitConfig
  kube: KubeClient
  rotate: string[]
  /** 0: do not wait for the Vaults (and do not require Vault credentials). */
  waitTimeoutMs: number
  dryRun: boolean
  json: boolean
  valuesFromStdin: boolean
  stdinIsTTY: boolean
  readStdin: () => Promise<string>
  /** Human report lines (stdout). */
  say: (line: string) => void
  /**
   * The confirmation gate before the first write: resolves to go on, throws
   * (a refusal) to stop. The command owns the policy (--yes, TTY, prompt).
   */
  confirm: NonNullable<WorkflowHooks['confirm']>
  /** How the write and wait stages are shown (the CLI's renderer; nothing when absent). */
  renderer?: StageRenderer
  /** Where the values come from when they are not piped: the CLI's hidden prompts. */
  promptValues: () => ValueSource
  env?: NodeJS.ProcessEnv
}

export interface SecretOutcome {
  id: string
  action: PlanSummaryJson['action']
  /** Why it is not in sync, from the PushSecret's Ready condition (names and reasons only). */
  pushSecretStatus?: string
}

export interface WizardResult {
  dryRun: boolean
  plan: PlanSummaryJson[]
  written: string[]
  /** Given on stdin but left alone (they exist; --rotate replaces them). */
  ignoredFromStdin: string[]
  vaults: VaultCheck[]
  waited: boolean
  inSync: boolean
  outcomes: SecretOutcome[]
}

/** The terminal rule, checked before anything is read or asked. */
export function checkValueMode(valuesFromStdin: boolean, stdinIsTTY: boolean, json: boolean): void {
  if (valuesFromStdin) {
    if (stdinIsTTY) {
      throw new ToolkitError('STDIN_IS_TERMINAL', '--values-from-stdin reads JSON from a pipe, but stdin is a terminal (what you type there is echoed)', {
        hint: 'Pipe the JSON in (e.g. from your secret manager\'s CLI), or drop --values-from-stdin to use the hidden prompts.',
      })
    }
    return
  }
  requireInteractiveTerminal(stdinIsTTY)
  if (json) {
    throw new ToolkitError('JSON_NEEDS_STDIN', '--json cannot be combined with the interactive prompts (they write to the same stdout)', {
      hint: 'Use --values-from-stdin for machine-readable runs, or --dry-run --json for the plan.',
    })
  }
}

/**
 * The bootstrap run: read the cluster, plan, check the Vaults can be read,
 * collect the values, summarize, confirm, write, and wait until both
 * Vaults hold every value. Nothing is written before the confirmation.
 */
export async function runWizard(options: WizardOptions): Promise<WizardResult> {
  const {spec, config, kube} = options
  const stores = config.regions.map((region) => region.clusterSecretStore)
  const needsPrompts = !options.dryRun
  if (needsPrompts) checkValueMode(options.valuesFromStdin, options.stdinIsTTY, options.json)

  const observed = await observeCluster(kube, spec.spec.secrets)
  const plan = planBootstrap(spec.spec.secrets, observed, options.rotate)
  const context = {specSource: spec.source, server: kube.server, stores}
  options.say(renderPlan(plan, context))
  const writes = plan.secrets.filter((planned) => needsValues(planned) || planned.action === 'push')
  const result: WizardResult = {dryRun: options.dryRun, plan: planToJson(plan), written: [], ignoredFromStdin: [], vaults: [], waited: false, inSync: true, outcomes: []}
  if (options.dryRun) {
    options.say(writes.length === 0 ? '\nDry run: nothing to write.' : `\nDry run: ${writes.length} secret(s) would be written; nothing was asked or changed.`)
    result.inSync = writes.length === 0
    return result
  }

  const vaults = options.waitTimeoutMs > 0 ? await connectVaults(config, options.env) : []
  try {
    let collected = new Map<string, SecretValues>()
    if (plan.secrets.some(needsValues)) {
      let source: ValueSource
      if (options.valuesFromStdin) {
        const stdin = parseStdinValues(await options.readStdin(), plan)
        result.ignoredFromStdin = stdin.ignored
        source = stdin.source
      } else {
        options.say('\nType each value (hidden; asked twice). Nothing is written before the summary is confirmed.')
        source = options.promptValues()
      }
      collected = await collectValues(plan, source)
      options.say('')
      options.say(renderPlan(plan, context, collected))
    }
    for (const id of result.ignoredFromStdin) options.say(`note: ${id} was given on stdin but exists and is not rotated: left alone (use --rotate ${id}).`)
    if (writes.length > 0) {
      await confirmGate(options, {
        message: `Write ${writes.length} secret(s) and their PushSecrets to ${kube.server}?`,
        nonInteractiveHint: 'Review the plan with --dry-run, then pipe the values again with --yes.',
      })
      await applyAll(kube, plan, collected, config, options.renderer)
      result.written = writes.map((planned) => planned.id)
    }
    if (vaults.length > 0) {
      result.waited = true
      result.vaults = await waitStep(plan, collected, vaults, options)
      result.inSync = result.vaults.every((check) => check.state === 'in-sync')
    }
    result.outcomes = await outcomes(kube, plan, result.vaults)
  } finally {
    await Promise.all(vaults.map((vault) => vault.close()))
  }
  return result
}

/** Connects to every region before anything is asked, so a missing token or a sealed Vault is found first. */
async function connectVaults(config: ToolkitConfig, env?: NodeJS.ProcessEnv): Promise<RegionVault[]> {
  const vaults: RegionVault[] = []
  try {
    for (const region of config.regions) {
      const vault = await connectRegion(region, {env})
      vaults.push(vault)
      await vault.store.ready()
    }
  } catch (error) {
    await Promise.all(vaults.map((vault) => vault.close()))
    if (!(error instanceof ToolkitError)) throw error
    throw new ToolkitError(error.code, `${error.message} (the wizard checks that both Vaults receive the values)`, {
      hint: `${error.hint ? `${error.hint} ` : ''}Nothing was asked or changed. To write without checking, add --wait-timeout 0.`,
      exitCode: error.exitCode,
    })
  }
  return vaults
}

async function applyAll(kube: KubeClient, plan: BootstrapPlan, collected: Map<string, SecretValues>, config: ToolkitConfig, renderer: StageRenderer | undefined): Promise<void> {
  const states = new Map<string, AppliedState>()
  const steps: Stage<object>[] = plan.secrets
    .filter((planned) => needsValues(planned) || planned.action === 'push')
    .map((planned) => ({
      title: `${planned.action === 'push' ? 'Add PushSecret for' : planned.action === 'rotate' ? 'Rotate' : 'Create'} ${planned.id}`,
      run: async () => {
        const state: AppliedState = {namespace: false, pushSecret: false, secret: false}
        states.set(planned.id, state)
        await applyPlannedSecret(kube, planned, collected.get(planned.id), config.regions, state)
      },
    }))
  try {
    await runStages(steps, {}, {renderer})
  } catch (error) {
    throw incompleteError(error, plan.secrets, states)
  }
}

function expectations(plan: BootstrapPlan, collected: Map<string, SecretValues>): VaultExpectation[] {
  return plan.secrets.filter(isVerified).flatMap((planned) => {
    const written = collected.get(planned.id)
    const values = new Map<string, SecretValue>()
    if (written) for (const [key, value] of written) values.set(key, value)
    else for (const key of pushedKeys(planned)) values.set(key, planned.existing!.data.get(key)!)
    return values.size === 0 ? [] : [{id: planned.id, remoteKey: planned.remoteKey, values}]
  })
}

async function waitStep(plan: BootstrapPlan, collected: Map<string, SecretValues>, vaults: RegionVault[], options: WizardOptions): Promise<VaultCheck[]> {
  const expected = expectations(plan, collected)
  let checks: VaultCheck[] = []
  const regions = vaults.map((vault) => vault.region.name).join(' and ')
  await runStages(
    [
      {
        title: `Wait until ${regions} hold the values (up to ${Math.round(options.waitTimeoutMs / 1000)} s)`,
        run: async (_context, update) => {
          checks = await waitForVaults(
            expected,
            vaults.map((vault) => ({name: vault.region.name, read: (key) => vault.store.read(key)})),
            {timeoutMs: options.waitTimeoutMs, onRound: (inSync, total) => update(`${inSync}/${total} in sync`)},
          )
        },
      },
    ],
    {},
    {renderer: options.renderer},
  )
  return checks
}

async function outcomes(kube: KubeClient, plan: BootstrapPlan, checks: VaultCheck[]): Promise<SecretOutcome[]> {
  const result: SecretOutcome[] = []
  for (const planned of plan.secrets) {
    const outcome: SecretOutcome = {id: planned.id, action: planned.action}
    if (checks.some((check) => check.id === planned.id && check.state !== 'in-sync')) {
      const pushSecret = await kube.read(PUSH_SECRET_API_VERSION, 'PushSecret', planned.secret.name, planned.secret.namespace).catch(() => undefined)
      const ready = readyCondition(pushSecret)
      outcome.pushSecretStatus = pushSecret
        ? ready
          ? `Ready=${ready.status}${ready.reason ? ` (${ready.reason})` : ''}${ready.message ? `: ${ready.message.slice(0, 300)}` : ''}`
          : 'no Ready condition yet (is the ESO controller running?)'
        : 'PushSecret not found'
    }
    result.push(outcome)
  }
  return result
}
