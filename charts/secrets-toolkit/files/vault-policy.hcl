# The Vault (OpenBao) policy the chart's jobs need, for the role their ServiceAccounts log in
# with (values vaultAuth.role). Read-only, except that reading sys/storage/raft/snapshot
# downloads a snapshot. "secret" is the KV v2 mount of config.regions[].vault.mount: repeat
# the three KV lines for every mount the jobs read. Write it in every region:
#   bao policy write secrets-toolkit vault-policy.hcl

# dr snapshot: the Raft snapshot.
path "sys/storage/raft/snapshot" {
  capabilities = ["read"]
}

# dr snapshot (key counts and version digests for its manifest), verify regions, migrate
# verify, status: the KV v2 keys, their metadata and (for the comparisons) their values.
path "secret/metadata/*" {
  capabilities = ["read", "list"]
}
path "secret/data/*" {
  capabilities = ["read"]
}

# dr snapshot: which KV v2 mounts exist, to count each one's keys.
path "sys/mounts" {
  capabilities = ["read"]
}

# status: Raft autopilot health, when the token may read it (the applied index comes from
# sys/leader, which needs no policy).
path "sys/storage/raft/autopilot/state" {
  capabilities = ["read"]
}
