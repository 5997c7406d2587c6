// The integration environment runs the ESO release TEST_ESO_VERSION names,
// with that release's own CRDs: neither v2.9.0 nor v0.20.4 serves v1beta1 of
// ExternalSecret/SecretStore/ClusterSecretStore (external-secrets.io/v1 is
// what the toolkit and the environment use), and PushSecret stays v1alpha1.
import {PUSH_SECRET_API_VERSION} from '../../../src/lib/eso/api.js'
import {KubeClient} from '../../../src/lib/kube/client.js'
import {CLUSTER_SECRET_STORE_API_VERSION} from '../../env/eso.js'
import {esoVersion} from '../../helpers/binaries.js'
import {testEnv} from '../../helpers/env.js'

const env = testEnv()
const kube = KubeClient.connect({kubeconfig: env.kubeconfig})

interface CrdVersion {
  name: string
  served: boolean
  storage: boolean
}

async function servedVersions(crd: string): Promise<string[]> {
  const object = await kube.read('apiextensions.k8s.io/v1', 'CustomResourceDefinition', crd)
  const versions = ((object?.spec?.versions as CrdVersion[] | undefined) ?? []).filter((version) => version.served)
  return versions.map((version) => version.name).sort()
}

describe(`ESO ${esoVersion()} in the integration environment`, () => {
  test('the stores and PushSecrets are served at the API versions the toolkit uses', async () => {
    expect(CLUSTER_SECRET_STORE_API_VERSION).toBe('external-secrets.io/v1')
    expect(PUSH_SECRET_API_VERSION).toBe('external-secrets.io/v1alpha1')
    for (const crd of ['clustersecretstores.external-secrets.io', 'secretstores.external-secrets.io', 'externalsecrets.external-secrets.io']) {
      expect(await servedVersions(crd)).toContain('v1')
    }
    expect(await servedVersions('pushsecrets.external-secrets.io')).toEqual(['v1alpha1'])
  })

  // Both releases' bundles keep v1beta1 in the CRDs only as `served: false`:
  // a manifest written for v1beta1 is refused on either.
  test('v1beta1 is in the CRDs but not served', async () => {
    expect(await servedVersions('externalsecrets.external-secrets.io')).toEqual(['v1'])
    expect(await servedVersions('clustersecretstores.external-secrets.io')).toEqual(['v1'])
    const crd = await kube.read('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'externalsecrets.external-secrets.io')
    expect(((crd?.spec?.versions as CrdVersion[] | undefined) ?? []).map((version) => version.name).sort()).toEqual(['v1', 'v1beta1'])
  })
})
