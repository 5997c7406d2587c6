/** Kubernetes object names (Secrets, PushSecrets): RFC 1123 subdomain. */
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
/** Namespaces: RFC 1123 label. */
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
/** Secret data keys. */
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/
/** Label values (a label key prefix is fixed by the toolkit). */
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/

/** Kubernetes' limit on the total size of a Secret's data. */
export const SECRET_MAX_BYTES = 1024 * 1024

export function nameProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty'
  if (name.length > 253) return 'is longer than 253 characters'
  if (!DNS1123_SUBDOMAIN.test(name)) return 'must be lowercase letters, digits, "-" and ".", starting and ending with a letter or digit'
  return undefined
}

export function namespaceProblem(namespace: string): string | undefined {
  if (namespace.length === 0) return 'is empty'
  if (namespace.length > 63) return 'is longer than 63 characters'
  if (!DNS1123_LABEL.test(namespace)) return 'must be lowercase letters, digits and "-", starting and ending with a letter or digit'
  return undefined
}

export function secretKeyProblem(key: string): string | undefined {
  if (key.length === 0) return 'is empty'
  if (key.length > 253) return 'is longer than 253 characters'
  if (key === '.' || key === '..') return `must not be "${key}"`
  if (!SECRET_KEY.test(key)) return 'may contain only letters, digits, "-", "_" and "."'
  return undefined
}

/**
 * A name made DNS-1123 safe from a file name: `Values.SOPS.yml.j2` →
 * `values`, `db_credentials.enc.yaml` → `db-credentials`. Encryption and
 * template suffixes are dropped because they describe the file, not the secret.
 */
export function secretNameFromFile(fileName: string): string {
  let base = fileName.toLowerCase()
  for (;;) {
    const stripped = base.replace(/\.(j2|jinja2?|tpl|tmpl|gotmpl|ya?ml|json|env|ini|txt|bin|enc|encrypted|sops|secrets?)$/, '')
    if (stripped === base || stripped === '') break
    base = stripped
  }
  const safe = base
    .replaceAll(/[^a-z0-9.-]+/g, '-')
    .replaceAll(/-{2,}/g, '-')
    .replaceAll(/\.{2,}/g, '.')
    .replace(/^[-.]+|[-.]+$/g, '')
  return safe.slice(0, 253).replace(/[-.]+$/, '')
}

/** A path made safe for a label value (63 characters, alphanumeric ends); long paths keep their tail, which names the file. */
export function labelValueFromPath(path: string): string {
  let value = path.replaceAll(/[^A-Za-z0-9_.-]+/g, '_').replace(/^[^A-Za-z0-9]+/, '')
  if (value.length > 63) value = value.slice(value.length - 63).replace(/^[^A-Za-z0-9]+/, '')
  value = value.replace(/[^A-Za-z0-9]+$/, '')
  return LABEL_VALUE.test(value) ? value : ''
}
