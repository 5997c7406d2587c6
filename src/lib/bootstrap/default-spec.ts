export const DEFAULT_SPEC_SOURCE = 'built-in default spec'

/**
 * The credentials a fresh platform usually needs before Flux can reconcile
 * anything. Kept as YAML text (not objects) so that `--print-spec` shows the
 * operator exactly the file format they commit, and it goes through the same
 * validation as theirs.
 */
export const DEFAULT_SPEC_YAML = `# secrets bootstrap spec: names and rules only — never values. Commit it to the GitOps repository.
# Fields: docs/runbooks/bootstrap.md. Use your own with: secrets bootstrap --spec bootstrap.yaml
secrets:
  - namespace: flux-system
    name: gitea-token
    description: Git credentials Flux uses to pull from the Gitea server (GitRepository .spec.secretRef)
    keys:
      - key: username
        prompt: Gitea user Flux pulls as
        validate:
          regex: '^[A-Za-z0-9][A-Za-z0-9_.-]*$'
          hint: letters, digits, "_", "." and "-"
      - key: password
        prompt: Access token of that Gitea user (Settings → Applications, scope read:repository)
        validate:
          regex: '^[0-9a-f]{40}$'
          hint: a Gitea access token is 40 lowercase hex characters

  - namespace: external-dns
    name: cloudflare-credentials
    description: Cloudflare API token external-dns and cert-manager use (Zone.DNS edit)
    keys:
      - key: api-token
        prompt: Cloudflare API token (My Profile → API Tokens, permission Zone.DNS edit)
        validate:
          regex: '^[A-Za-z0-9_-]{40}$'
          hint: a Cloudflare API token is 40 characters of letters, digits, "_" and "-"

  - namespace: kube-system
    name: hcloud
    description: Hetzner Cloud API token for the cloud-controller-manager and CSI driver
    keys:
      - key: token
        prompt: Hetzner Cloud API token (project → Security → API tokens, read & write)
        validate:
          regex: '^[A-Za-z0-9]{64}$'
          hint: a Hetzner Cloud API token is 64 letters and digits

  - namespace: flux-system
    name: webhook-receiver-token
    description: Token of the Flux notification Receiver the Git server's webhook calls; ESO generates it in the cluster
    generatedInCluster: true
    keys:
      - key: token
        source: generate
        prompt: Receiver token (also configured as the webhook secret in Gitea)
        generate:
          length: 40
          digits: 10
          symbols: 0
`
