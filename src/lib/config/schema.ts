import {z} from 'zod'

const regionName = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, 'must be lowercase letters, digits and dashes (e.g. region1, eu-west)')

const tlsSchema = z
  .object({
    caCert: z.string().min(1).optional(),
    skipVerify: z.boolean().default(false),
  })
  .strict()

// Credentials never live in this file: only where to find them.
const authSchema = z.discriminatedUnion('method', [
  z.object({method: z.literal('token'), tokenFile: z.string().min(1).optional()}).strict(),
  z
    .object({
      method: z.literal('approle'),
      mount: z.string().min(1).default('approle'),
      roleId: z.string().min(1),
      secretIdFile: z.string().min(1).optional(),
    })
    .strict(),
  z
    .object({
      method: z.literal('kubernetes'),
      mount: z.string().min(1).default('kubernetes'),
      role: z.string().min(1),
      tokenFile: z.string().min(1).default('/var/run/secrets/kubernetes.io/serviceaccount/token'),
    })
    .strict(),
])

/**
 * Why an address carries a credential, or undefined. `https://user:pass@host`
 * puts a password in the file (and in every message that shows the address),
 * and a query string is where tokens travel; a Vault address needs neither.
 * The message never repeats the address.
 */
export function addressCredentialProblem(address: string): string | undefined {
  let url: URL
  try {
    url = new URL(address)
  } catch {
    return undefined
  }
  if (url.username !== '' || url.password !== '') {
    return 'must not contain a user name or password (user:pass@…): credentials never go in the address; give the token or AppRole secret id through auth (docs/configuration.md)'
  }
  if (url.search !== '' || url.hash !== '') return 'must not have a query (?…) or fragment (#…): a Vault address is scheme://host[:port][/path]'
  return undefined
}

const vaultAddress = z.url({message: 'must be a URL (e.g. https://vault.example.com:8200)'}).superRefine((address, ctx) => {
  const problem = addressCredentialProblem(address)
  if (problem) ctx.addIssue({code: 'custom', message: problem})
})

const vaultSchema = z
  .object({
    address: vaultAddress,
    // Every node of the region's cluster (address is tried first): commands that need the active node (snapshot,
    // restore, repair) find it by sys/health instead of failing on a standby; status checks each node.
    addresses: z.array(vaultAddress).max(16).optional(),
    mount: z.string().min(1).regex(/^[^/].*[^/]$|^[^/]$/, 'must not start or end with /').default('secret'),
    namespace: z.string().default(''),
    auth: authSchema.default({method: 'token'}),
    tls: tlsSchema.default({skipVerify: false}),
    requestTimeoutMs: z.number().int().positive().default(30_000),
    // How long a failed request is retried (with backoff) before it counts as failed; 0: never retried.
    retryBudgetMs: z.number().int().nonnegative().default(60_000),
    maxConcurrency: z.number().int().positive().max(256).default(16),
  })
  .strict()

export const regionSchema = z
  .object({
    name: regionName,
    clusterSecretStore: z.string().min(1),
    vault: vaultSchema,
  })
  .strict()

/**
 * A list refinement: each item's id (a region name, a Secret's namespace/name)
 * appears once; a repeat is an issue at its `name`, naming the first.
 */
export function uniqueBy<T>(idOf: (item: T) => string, message: (first: number, id: string) => string) {
  return (items: T[], ctx: z.RefinementCtx): void => {
    const seen = new Map<string, number>()
    for (const [index, item] of items.entries()) {
      const id = idOf(item)
      const first = seen.get(id)
      if (first !== undefined) ctx.addIssue({code: 'custom', path: [index, 'name'], message: message(first, id)})
      seen.set(id, index)
    }
  }
}

export const configSchema = z
  .object({
    kubernetes: z
      .object({
        context: z.string().min(1).optional(),
        kubeconfig: z.string().min(1).optional(),
      })
      .strict()
      .default({}),
    regions: z
      .array(regionSchema)
      .min(1, 'must list at least one region')
      .superRefine(uniqueBy((region) => region.name, (first, name) => `duplicates regions[${first}].name "${name}"`)),
  })
  .strict()

export type ToolkitConfig = z.infer<typeof configSchema>
export type RegionConfig = z.infer<typeof regionSchema>
export type VaultConfig = RegionConfig['vault']
export type VaultAuthConfig = VaultConfig['auth']
