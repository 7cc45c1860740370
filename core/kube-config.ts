// Which Kubernetes credentials a service uses, from the configuration: the pod's own ServiceAccount
// (`in-cluster`), the file OPENCRANE_KUBECONFIG names, or the client's default search (KUBECONFIG,
// then ~/.kube/config, then in-cluster).
import { KubeConfig } from '@kubernetes/client-node';
import type { Config } from './config.ts';

export function loadKubeConfig(cluster: Pick<Config['cluster'], 'mode' | 'kubeconfig'>): KubeConfig {
  const kubeConfig = new KubeConfig();
  if (cluster.mode === 'in-cluster') kubeConfig.loadFromCluster();
  else if (cluster.kubeconfig) kubeConfig.loadFromFile(cluster.kubeconfig);
  else kubeConfig.loadFromDefault();
  return kubeConfig;
}
