// The External Secrets Operator API this toolkit speaks: every ESO group,
// version and kind is spelled here and nowhere else, so moving to a new ESO
// API version is one edit. This file imports nothing: the Kubernetes client
// reads it for its hints without depending on the rest of src/lib/eso.

/** PushSecret is still alpha in every ESO release this toolkit runs against (v0.20, v2.x). */
export const PUSH_SECRET_API_VERSION = 'external-secrets.io/v1alpha1'
export const EXTERNAL_SECRET_API_VERSION = 'external-secrets.io/v1'
export const CLUSTER_SECRET_STORE_API_VERSION = 'external-secrets.io/v1'
export const GENERATOR_API_VERSION = 'generators.external-secrets.io/v1alpha1'

/** The CRD whose presence says ESO (with PushSecret support) is installed. */
export const PUSH_SECRET_CRD = 'pushsecrets.external-secrets.io'

/** The kinds of ESO's CRDs this toolkit reads or writes. */
export const ESO_KINDS: readonly string[] = ['PushSecret', 'ClusterSecretStore', 'ExternalSecret', 'Password']

/** What to do when one of ESO_KINDS is not known to the API server. */
export const ESO_MISSING_HINT = `Install ESO (its CRDs include ${PUSH_SECRET_API_VERSION} PushSecret) and re-run.`
