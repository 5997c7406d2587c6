import type {ToolkitConfig} from '../config/schema.js'
import {ExitCode, isToolkitError, ToolkitError} from '../errors/errors.js'
import {PUSH_SECRET_API_VERSION} from '../eso/api.js'
import {readyCondition} from '../eso/status.js'
import {checkClusterSecretStores, storeProblems, type StorePreflight} from '../eso/store-preflight.js'
import type {KubeClient} from '../kube/client.js'
import type {SecretValue} from '../secret/secret-value.js'
import {connectRegion, type RegionVault} from '../vault/connect.js'
import {confirmGate, runStages, type Stage, type StageRenderer, type WorkflowHooks} from '../workflow/runner.js'
import {applyPlannedSecret, incompleteError, type AppliedState} from './apply.js'
import {
  isVerified,
  isWrite,
  markRepush,
  namespacesToCreate,
  needsValues,
  observeCluster,
  planBootstrap,
  planToJson,
  pushedKeys,
  renderPlan,
  type BootstrapPlan,
  type PlannedSecret,
  type PlanSummaryJson,
} from './plan.js'
import {requireInteractiveTerminal} from './prompts.js'
import type {LoadedSpec} from './spec.js'
import {collectValues, parseStdinValues, type SecretValues, type ValueSource} from './values.js'
import {checkVaultOnce, removeStaleProperties, waitForVaults, type StaleRemoval, type VaultCheck, type VaultExpectation} from './wait.js'

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
  /** The kubeconfig context in use, named in the confirmation. */
  kubeContext?: string
  /** How an operator re-runs this (the advice after a failed wait), e.g. `secrets bootstrap --spec bootstrap.yaml`. */
  rerunCommand?: string
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
  /** Every region's ClusterSecretStore as the pre-flight found it. */
  stores: StorePreflight[]
  /** Properties the Secrets no longer have, removed from the Vaults (check-and-set), or why not. */
  staleRemovals: StaleRemoval[]
  /** Namespaces this run created. */
  namespacesCreated: string[]
  /** --dry-run --values-from-stdin: stdin was read and every value is valid. */
  stdinValidated?: boolean
  /** After a wait that did not end in sync: what to run (a command that re-pushes). */
  advice?: string
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
 * The bootstrap run: read the cluster, plan, pre-flight the stores and the
 * Vaults, collect the values, summarize, confirm, write, and wait until every
 * Vault holds every value (nothing more, nothing less). Nothing is asked
 * before the pre-flight passes, and nothing is written before the confirmation.
 */
export async function runWizard(options: WizardOptions): Promise<WizardResult> {
  const {spec, config, kube} = options
  const stores = config.regions.map((region) => region.clusterSecretStore)
  if (!options.dryRun) checkValueMode(options.valuesFromStdin, options.stdinIsTTY, options.json)
  else if (options.valuesFromStdin && options.stdinIsTTY) checkValueMode(true, true, options.json)

  const observed = await observeCluster(kube, spec.spec.secrets, {rotate: options.rotate})
  const plan = planBootstrap(spec.spec.secrets, observed, options.rotate, stores)
  const context = {specSource: spec.source, server: kube.server, stores}
  const result: WizardResult = {
    dryRun: options.dryRun,
    plan: [],
    written: [],
    ignoredFromStdin: [],
    vaults: [],
    waited: false,
    inSync: true,
    outcomes: [],
    stores: [],
    staleRemovals: [],
    namespacesCreated: [],
  }

  // Pre-flight, before the first prompt: every store ESO pushes through, and every Vault the wait reads.
  result.stores = await checkClusterSecretStores(kube, config.regions.map((region) => ({region: region.name, clusterSecretStore: region.clusterSecretStore})))
  const vaults = options.waitTimeoutMs > 0 ? await connectVaults(config, storeProblems(result.stores), options.env) : await noVaults(storeProblems(result.stores))
  try {
    // A kept secret a Vault lacks (or holds with properties the Secret no longer has) is re-pushed: a re-run repairs a failed wait.
    if (vaults.length > 0) markRepush(plan, await vaultGaps(plan, vaults))
    result.plan = planToJson(plan)
    const writes = plan.secrets.filter(isWrite)
    const asksValues = plan.secrets.some(needsValues)
    // With stdin the values are known before the summary: the plan is shown once, as the summary.
    if (!(options.valuesFromStdin && asksValues)) options.say(renderPlan(plan, context))

    let collected = new Map<string, SecretValues>()
    let source: ValueSource | undefined
    if (options.valuesFromStdin) {
      const stdin = parseStdinValues(await options.readStdin(), plan)
      result.ignoredFromStdin = stdin.ignored
      source = stdin.source
    }
    if (options.dryRun) {
      if (options.valuesFromStdin) {
        // Every value is checked now, so automation learns of a bad input before the real run.
        collected = await collectValues(plan, source!)
        options.say(renderPlan(plan, context, collected))
        result.stdinValidated = true
      }
      const checked = options.valuesFromStdin ? ' stdin was read and every value is valid;' : ''
      options.say(writes.length === 0 ? `\nDry run:${checked} nothing to write.` : `\nDry run:${checked} ${writes.length} secret(s) would be written; nothing was asked or changed.`)
      result.inSync = writes.length === 0
      return result
    }

    if (asksValues) {
      if (!source) {
        options.say('\nType each value (hidden; asked twice). Nothing is written before the summary is confirmed.')
        source = options.promptValues()
      }
      collected = await collectValues(plan, source)
      options.say('')
      options.say(renderPlan(plan, context, collected))
    }
    for (const id of result.ignoredFromStdin) options.say(`note: ${id} was given on stdin but exists and is not rotated: left alone (use --rotate ${id}).`)
    if (writes.length > 0) {
      const creating = namespacesToCreate(plan, observed)
      const where = `${kube.server}${options.kubeContext ? ` (kubeconfig context ${options.kubeContext})` : ''}`
      await confirmGate(options, {
        message: `Write ${writes.length} secret(s) and their PushSecrets to ${where}${creating.length > 0 ? `, creating namespace(s) ${creating.join(', ')}` : ''}?`,
        nonInteractiveHint: 'Review the plan with --dry-run, then pipe the values again with --yes.',
      })
      const generated = await applyAll(kube, plan, collected, config, options)
      for (const [id, values] of generated) collected.set(id, values)
      result.written = writes.map((planned) => planned.id)
      result.namespacesCreated = creating
    }
    if (vaults.length > 0) {
      result.waited = true
      const waited = await waitStep(plan, collected, vaults, options)
      result.vaults = waited.checks
      result.staleRemovals = waited.removals
      result.inSync = result.vaults.every((check) => check.state === 'in-sync')
      if (!result.inSync) result.advice = adviceAfterWait(plan, result.vaults, options.rerunCommand ?? 'secrets bootstrap')
    }
    result.outcomes = await outcomes(kube, plan, result.vaults)
  } finally {
    await Promise.all(vaults.map((vault) => vault.close()))
  }
  return result
}

const PREFLIGHT_HINT =
  'Nothing was asked or changed. Fix each one (create the ClusterSecretStore, give ESO a working token, unseal the Vault), or remove the region from the configuration for now: when it is back, a re-run updates every PushSecret to push to it.'

function preflightError(problems: string[]): ToolkitError {
  return new ToolkitError('PREFLIGHT_FAILED', `pre-flight found ${problems.length} problem(s) before anything was asked:\n  ${problems.join('\n  ')}`, {hint: PREFLIGHT_HINT})
}

async function noVaults(problems: string[]): Promise<RegionVault[]> {
  if (problems.length > 0) throw preflightError(problems)
  return []
}

/**
 * Connects to every region and checks it can take reads and writes, before
 * anything is asked; every problem (with the stores' problems) is reported
 * at once.
 */
async function connectVaults(config: ToolkitConfig, problems: string[], env?: NodeJS.ProcessEnv): Promise<RegionVault[]> {
  const vaults: RegionVault[] = []
  const all = [...problems]
  let exitCode: ExitCode | undefined
  for (const region of config.regions) {
    try {
      const vault = await connectRegion(region, {env})
      vaults.push(vault)
      await vault.store.ready()
    } catch (error) {
      if (!isToolkitError(error)) {
        await Promise.all(vaults.map((vault) => vault.close()))
        throw error
      }
      all.push(`Vault of region ${region.name}: ${error.message}${error.hint ? ` (${error.hint})` : ''}`)
      exitCode = error.exitCode
    }
  }
  if (all.length > 0) {
    await Promise.all(vaults.map((vault) => vault.close()))
    const error = preflightError(all)
    throw new ToolkitError(error.code, `${error.message}\n(the wizard checks that every Vault receives the values; --wait-timeout 0 skips the Vault check)`, {hint: error.hint, exitCode: exitCode ?? ExitCode.Error})
  }
  return vaults
}

/** What each Vault lacks for the secrets that are kept (one read per secret and region). Names only. */
async function vaultGaps(plan: BootstrapPlan, vaults: RegionVault[]): Promise<Map<string, string[]>> {
  const gaps = new Map<string, string[]>()
  for (const planned of plan.secrets.filter((candidate) => candidate.action === 'keep')) {
    const expectation = expectationOf(planned, undefined)
    if (!expectation) continue
    for (const vault of vaults) {
      const check = await checkVaultOnce(vault.store, expectation)
      if (check.state === 'in-sync' || check.state === 'error') continue
      const parts = [check.state === 'missing' ? 'missing' : check.keys.length > 0 ? `differs (${check.keys.join(', ')})` : '', check.stale ? `stale ${check.stale.join(', ')}` : '']
      gaps.set(planned.id, [...(gaps.get(planned.id) ?? []), `${vault.region.name}: ${parts.filter(Boolean).join(', ')}`])
    }
  }
  return gaps
}

async function applyAll(kube: KubeClient, plan: BootstrapPlan, collected: Map<string, SecretValues>, config: ToolkitConfig, options: WizardOptions): Promise<Map<string, SecretValues>> {
  const states = new Map<string, AppliedState>()
  const generated = new Map<string, SecretValues>()
  const titles: Record<string, string> = {push: 'Add PushSecret for', update: 'Update PushSecret of', repush: 'Re-push', rotate: 'Rotate', regenerate: 'Regenerate (ESO)', create: 'Create'}
  const steps: Stage<object>[] = plan.secrets.filter(isWrite).map((planned) => ({
    title: `${titles[planned.action] ?? planned.action} ${planned.id}`,
    run: async () => {
      const state: AppliedState = {namespace: false, pushSecret: false, secret: false}
      states.set(planned.id, state)
      const values = await applyPlannedSecret(kube, planned, collected.get(planned.id), config.regions, state, {regenerateTimeoutMs: Math.max(options.waitTimeoutMs, 60_000)})
      if (planned.action === 'regenerate' && values) generated.set(planned.id, values)
    },
  }))
  try {
    await runStages(steps, {}, {renderer: options.renderer})
  } catch (error) {
    throw incompleteError(error, plan.secrets, states)
  }
  return generated
}

/** What every Vault must hold for one secret: the values written now, else the existing Secret's pushed keys. */
function expectationOf(planned: PlannedSecret, written: SecretValues | undefined): VaultExpectation | undefined {
  const values = new Map<string, SecretValue>()
  if (written) for (const [key, value] of written) values.set(key, value)
  else for (const key of pushedKeys(planned)) values.set(key, planned.existing!.data.get(key)!)
  if (values.size === 0) return undefined
  // Keys the Secret has beyond the spec are not stale in the Vault: only keys the Secret no longer has are.
  const others = written ? [] : [...(planned.existing?.data.keys() ?? [])].filter((key) => !values.has(key))
  return {id: planned.id, remoteKey: planned.remoteKey, values, ...(others.length > 0 ? {tolerated: others} : {})}
}

function expectations(plan: BootstrapPlan, collected: Map<string, SecretValues>): VaultExpectation[] {
  return plan.secrets.filter(isVerified).flatMap((planned) => {
    const expectation = expectationOf(planned, collected.get(planned.id))
    return expectation ? [expectation] : []
  })
}

/**
 * The wait, one stage: until every Vault holds every value; then, for the
 * secrets this run wrote, the properties they no longer have are removed
 * (check-and-set) and those pairs read again. It fails — a failed stage,
 * exit 1 — when a Vault is still not in sync.
 */
async function waitStep(
  plan: BootstrapPlan,
  collected: Map<string, SecretValues>,
  vaults: RegionVault[],
  options: WizardOptions,
): Promise<{checks: VaultCheck[]; removals: StaleRemoval[]}> {
  const expected = expectations(plan, collected)
  let checks: VaultCheck[] = []
  const removals: StaleRemoval[] = []
  const regions = vaults.map((vault) => vault.region.name).join(', ')
  const writtenIds = new Set(plan.secrets.filter(isWrite).map((planned) => planned.id))
  try {
    await runStages(
      [
        {
          title: `Wait until ${regions} hold the values (up to ${Math.round(options.waitTimeoutMs / 1000)} s)`,
          run: async (_context, update) => {
            let shown = ''
            const show = (text: string) => {
              // Progress on change only: a plain log gets one line per change, not one per second.
              if (text !== shown) update((shown = text))
            }
            checks = await waitForVaults(
              expected,
              vaults.map((vault) => ({name: vault.region.name, read: (key) => vault.store.read(key)})),
              {timeoutMs: options.waitTimeoutMs, onRound: (inSync, total) => show(`${inSync}/${total} in sync`)},
            )
            for (const [index, check] of checks.entries()) {
              if (!check.stale || check.keys.length > 0 || !writtenIds.has(check.id)) continue
              const vault = vaults.find((candidate) => candidate.region.name === check.region)!
              const expectation = expected.find((candidate) => candidate.id === check.id)!
              show(`removing stale properties of ${check.id} in ${check.region}`)
              removals.push(await removeStaleProperties(vault.store, expectation))
              checks[index] = await checkVaultOnce(vault.store, expectation)
            }
            const off = checks.filter((check) => check.state !== 'in-sync')
            if (off.length > 0) {
              throw new ToolkitError('VAULTS_NOT_IN_SYNC', `${off.length} of ${checks.length} (secret, region) pairs are not in sync: ${off.map((check) => `${check.id} in ${check.region} (${check.state})`).join(', ')}`, {
                exitCode: ExitCode.Findings,
              })
            }
          },
        },
      ],
      {},
      {renderer: options.renderer},
    )
  } catch (error) {
    // The failed stage is shown by the renderer; the report and the advice follow.
    if (!(isToolkitError(error) && error.code === 'VAULTS_NOT_IN_SYNC')) throw error
  }
  return {checks, removals}
}

/** A command that repairs it: a re-run re-pushes every kept secret a Vault lacks (plan: "re-push") and removes stale properties. */
function adviceAfterWait(plan: BootstrapPlan, checks: VaultCheck[], rerun: string): string {
  const off = checks.filter((check) => check.state !== 'in-sync')
  const regions = [...new Set(off.map((check) => check.region))]
  const stale = off.filter((check) => check.stale && check.keys.length === 0 && !plan.secrets.find((planned) => planned.id === check.id && isWrite(planned)))
  const lines = [
    `Not every Vault holds every value (${regions.join(', ')}). Check the PushSecret status above (and the ESO controller), then run:`,
    `  ${rerun}`,
    'It re-pushes every secret a Vault lacks (ESO is asked to push now; nothing is asked again) and removes properties the Secrets no longer have, then waits again; add --wait-timeout SECONDS if ESO is slow.',
  ]
  if (stale.length > 0) lines.push(`Stale properties only (the values are there): the same command removes them (check-and-set).`)
  if (regions.length === 1) lines.push(`If ${regions[0]}'s Vault was rebuilt empty, \`secrets dr reseed --region ${regions[0]}\` refills it from every PushSecret, not only bootstrap's.`)
  return lines.join('\n')
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
