import type {KubeClient, SecretSpec} from '../kube/client.js'
import type {PushSecret} from './push-secret.js'

/**
 * Changing it makes ESO push at once: the PushSecret controller does not
 * watch Secrets, but it reconciles (and pushes) whenever the PushSecret's
 * labels or annotations change. A timestamp, never anything derived from a value.
 */
export const PUSH_REQUESTED_ANNOTATION = 'secrets-toolkit.io/push-requested-at'

export type WrittenKind = 'Secret' | 'PushSecret'

/** One Secret and the PushSecret that pushes it, as the caller found them against the cluster. */
export interface SecretAndPushSecret {
  /** The Secret to write (server-side apply; `force` takes over fields another manager owns), or undefined when it is in place as wanted. */
  secret?: {spec: SecretSpec; force: boolean}
  /** The PushSecret as it must be. */
  pushSecret: PushSecret
  /** The PushSecret in the cluster is absent or differs from `pushSecret`. */
  pushSecretChanged: boolean
}

export interface ApplyPushOptions {
  /** Take over PushSecret fields another field manager owns. */
  forcePushSecret: boolean
  /** After each write the server confirmed. */
  onWritten?: (kind: WrittenKind) => void
  /** A write that failed: the server may have applied it and lost the answer. */
  onFailed?: (kind: WrittenKind) => void
  now?: () => Date
}

/** The PushSecret with a fresh push request: what makes ESO push now. */
export function withPushRequest(pushSecret: PushSecret, at: Date): PushSecret {
  const {metadata} = pushSecret
  return {...pushSecret, metadata: {...metadata, annotations: {...metadata.annotations, [PUSH_REQUESTED_ANNOTATION]: at.toISOString()}}}
}

/**
 * Writes a Secret and its PushSecret, then makes ESO push now. The one way
 * both `migrate sops` and `bootstrap` do it.
 *
 * The Secret goes first, and the PushSecret (carrying the push request) after
 * it, in one write:
 * - ESO reads the Secret when it reconciles the PushSecret. Written after the
 *   Secret, a new or changed PushSecret is first seen with the complete new
 *   values, so ESO's first push is the complete Secret. PushSecret first would
 *   let ESO push the old Secret, fail on a key the Secret does not have yet
 *   (ESO fails the whole push when a listed key is absent), or fail on a Secret
 *   that does not exist yet — and then need a second PushSecret write.
 * - A stop between the two writes leaves a Secret that nothing pushes: the
 *   Vaults keep what they held, nothing partial reaches them, `migrate verify`
 *   names it (pushsecret-missing), and a re-run adds the PushSecret (migrate:
 *   the PushSecret is still to create; bootstrap: "add PushSecret").
 *
 * The PushSecret is written whenever the Secret was, even when it is
 * unchanged: ESO does not watch Secrets, so without the new annotation the
 * new values would wait for the next refreshInterval.
 */
export async function applySecretAndPushSecret(kube: KubeClient, item: SecretAndPushSecret, options: ApplyPushOptions): Promise<void> {
  const now = options.now ?? (() => new Date())
  const write = async (kind: WrittenKind, action: () => Promise<unknown>) => {
    try {
      await action()
    } catch (error) {
      options.onFailed?.(kind)
      throw error
    }
    options.onWritten?.(kind)
  }
  if (item.secret) {
    const {spec, force} = item.secret
    await write('Secret', () => kube.applySecret(spec, {force}))
  }
  if (item.secret || item.pushSecretChanged) {
    await write('PushSecret', () => kube.apply(withPushRequest(item.pushSecret, now()), {force: options.forcePushSecret}))
  }
}
