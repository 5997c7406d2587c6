// Vault's kubernetes auth method on a real test region, validating tokens
// through the real test kube-apiserver's TokenReview: what an operator sets up
// once for the chart (docs/operations.md). Everything is made under names of
// the test's own and removed afterwards; the shared regions are otherwise left
// as they were.

export interface KubernetesAuthSetup {
  /** The region's address and root token (test servers only). */
  address: string
  token: string
  /** The auth mount, e.g. k8s-chart-1a2b3c. */
  mount: string
  kubernetesHost: string
  kubernetesCaPem: string
  /** A token of a ServiceAccount allowed to create TokenReviews (system:auth-delegator). */
  reviewerJwt: string
  policyName: string
  policyHcl: string
  role: string
  serviceAccounts: string[]
  namespace: string
  audience: string
}

async function vault(address: string, token: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${address}/v1/${path}`, {
    method,
    headers: {'X-Vault-Token': token, 'Content-Type': 'application/json'},
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await response.text()
  if (!response.ok) throw new Error(`Vault ${method} ${path} answered ${response.status}: ${text.slice(0, 500)}`)
  return text ? JSON.parse(text) : undefined
}

export async function enableKubernetesAuth(setup: KubernetesAuthSetup): Promise<void> {
  const {address, token} = setup
  await vault(address, token, 'POST', `sys/auth/${setup.mount}`, {type: 'kubernetes'})
  await vault(address, token, 'POST', `auth/${setup.mount}/config`, {
    kubernetes_host: setup.kubernetesHost,
    kubernetes_ca_cert: setup.kubernetesCaPem,
    token_reviewer_jwt: setup.reviewerJwt,
    disable_local_ca_jwt: true,
  })
  await vault(address, token, 'PUT', `sys/policies/acl/${setup.policyName}`, {policy: setup.policyHcl})
  await vault(address, token, 'POST', `auth/${setup.mount}/role/${setup.role}`, {
    bound_service_account_names: setup.serviceAccounts,
    bound_service_account_namespaces: [setup.namespace],
    audience: setup.audience,
    token_policies: [setup.policyName],
    token_ttl: '1h',
  })
}

export async function disableKubernetesAuth(setup: Pick<KubernetesAuthSetup, 'address' | 'token' | 'mount' | 'policyName'>): Promise<void> {
  await vault(setup.address, setup.token, 'DELETE', `sys/auth/${setup.mount}`).catch(() => undefined)
  await vault(setup.address, setup.token, 'DELETE', `sys/policies/acl/${setup.policyName}`).catch(() => undefined)
}
