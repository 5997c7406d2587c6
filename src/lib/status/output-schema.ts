import {z} from 'zod'

// The --json output of `secrets status`: names, states, counts, indexes, sizes and times — never a value.

const problemSchema = z.object({
  /** degraded: exit 1 (the system runs, something needs attention); unknown: exit 2 (it could not be checked). */
  severity: z.enum(['degraded', 'unknown']),
  /** What is wrong, naming the region, store, PushSecret or file. */
  message: z.string(),
})

const nodeSchema = z.object({
  address: z.string(),
  reachable: z.boolean(),
  initialized: z.boolean().optional(),
  sealed: z.boolean().optional(),
  standby: z.boolean().optional(),
  version: z.string().optional(),
  error: z.string().optional(),
})

export const regionStatusSchema = z.object({
  region: z.string(),
  /** The configured address (vault.address), without credentials. */
  address: z.string(),
  /** At least one node answered sys/health. */
  reachable: z.boolean(),
  initialized: z.boolean().optional(),
  /** Sealed when no node is unsealed. */
  sealed: z.boolean().optional(),
  /** active: an unsealed active node answered; standby-only: only standbys did. */
  haState: z.enum(['active', 'standby-only', 'sealed', 'uninitialized', 'unreachable']),
  haEnabled: z.boolean().optional(),
  /** The active node's address (sys/leader), when known. */
  activeNode: z.string().optional(),
  nodes: z.array(nodeSchema),
  version: z.string().optional(),
  raftAppliedIndex: z.number().optional(),
  raftCommittedIndex: z.number().optional(),
  /** How far the applied index is behind the highest of the regions checked. */
  indexLag: z.number().optional(),
  /** Raft autopilot (sys/storage/raft/autopilot/state); absent when the token may not read it. */
  autopilot: z.object({healthy: z.boolean(), failureTolerance: z.number().optional(), voters: z.number().optional()}).optional(),
  /** The toolkit's token (auth/token/lookup-self): seconds left (0 = never expires) and renewability. */
  token: z.object({ttlSeconds: z.number(), expires: z.boolean(), renewable: z.boolean()}).optional(),
  snapshot: z
    .object({
      file: z.string().optional(),
      createdAt: z.string().optional(),
      ageSeconds: z.number().optional(),
      bytes: z.number().optional(),
      /** ok: verified; hash-only: encrypted, checked against its manifest only; failed; missing: no snapshot of this region. */
      verification: z.enum(['ok', 'hash-only', 'failed', 'missing']),
      problem: z.string().optional(),
    })
    .optional(),
  problems: z.array(problemSchema),
})

export const esoStatusSchema = z.object({
  /** False when no kubeconfig was available (or --no-eso): nothing below was checked. */
  checked: z.boolean(),
  reason: z.string().optional(),
  stores: z.array(z.object({name: z.string(), found: z.boolean(), ready: z.boolean(), message: z.string().optional(), pushSecretsNotReady: z.number()})),
  pushSecrets: z.object({
    total: z.number(),
    notReady: z.array(z.object({namespace: z.string(), name: z.string(), stores: z.array(z.string()), message: z.string()})),
    /** PushSecrets that are not Ready, per store they push to (a PushSecret pushing to two stores counts in both). */
    notReadyByStore: z.record(z.string(), z.number()),
  }),
  problems: z.array(problemSchema),
})

export const statusOutputSchema = z.object({
  /** healthy: exit 0; degraded: exit 1; unknown: exit 2 (something could not be checked). */
  health: z.enum(['healthy', 'degraded', 'unknown']),
  checkedAt: z.string(),
  thresholds: z.object({minTokenTtlSeconds: z.number(), maxSnapshotAgeSeconds: z.number().optional(), maxIndexLag: z.number().optional()}),
  regions: z.array(regionStatusSchema),
  eso: esoStatusSchema,
  /** Every problem found, in order: regions first, then ESO. */
  problems: z.array(problemSchema),
})

export type StatusProblem = z.infer<typeof problemSchema>
export type RegionStatus = z.infer<typeof regionStatusSchema>
export type EsoStatus = z.infer<typeof esoStatusSchema>
export type StatusReport = z.infer<typeof statusOutputSchema>
