/**
 * Where the Kubernetes API is: an explicit kubeconfig file, else client-node's defaults — `KUBECONFIG`,
 * `~/.kube/config`, or the in-cluster service account when running in a pod. The product never knows whether it
 * talks to a real cluster or the tests' API server.
 */
import { KubeConfig } from '@kubernetes/client-node';

export function loadKubeConfig(path?: string): KubeConfig {
  const kubeConfig = new KubeConfig();
  if (path) kubeConfig.loadFromFile(path);
  else kubeConfig.loadFromDefault();
  return kubeConfig;
}
