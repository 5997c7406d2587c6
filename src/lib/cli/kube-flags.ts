import {Flags} from '@oclif/core'

import type {ToolkitConfig} from '../config/schema.js'
import {KubeClient} from '../kube/client.js'

/** kubectl's connection flags, for commands that talk to Kubernetes. */
export const kubeFlags = {
  kubeconfig: Flags.string({description: 'kubeconfig file (default: $KUBECONFIG, else ~/.kube/config, else in-cluster)', helpGroup: 'KUBERNETES'}),
  context: Flags.string({description: 'kubeconfig context (default: kubernetes.context in the configuration, else the current context)', helpGroup: 'KUBERNETES'}),
}

/** Flags win over the configuration file, which wins over kubeconfig's current context. */
export function connectKube(flags: {kubeconfig?: string; context?: string}, config?: ToolkitConfig): KubeClient {
  return KubeClient.connect({
    kubeconfig: flags.kubeconfig ?? config?.kubernetes.kubeconfig,
    context: flags.context ?? config?.kubernetes.context,
  })
}
