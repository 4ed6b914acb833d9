/**
 * Where the Kubernetes API is: an explicit kubeconfig file, else client-node's defaults — `KUBECONFIG`,
 * `~/.kube/config`, or the in-cluster service account when running in a pod. The product never knows whether it
 * talks to a real cluster or the tests' API server.
 */
import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';

export function loadKubeConfig(path?: string): KubeConfig {
  const kubeConfig = new KubeConfig();
  if (path) kubeConfig.loadFromFile(path);
  else kubeConfig.loadFromDefault();
  return kubeConfig;
}

/**
 * The PEM CA bundle the current cluster's API server is verified with (kubeconfig `certificate-authority-data` or
 * `certificate-authority`; in a pod, the service account's ca.crt), or undefined when there is none (plain HTTP,
 * or a kubeconfig that skips verification).
 */
export function clusterCaPem(kubeConfig: KubeConfig): string | undefined {
  const cluster = kubeConfig.getCurrentCluster();
  if (cluster?.caData) return Buffer.from(cluster.caData, 'base64').toString('utf8');
  if (cluster?.caFile) return readFileSync(cluster.caFile, 'utf8');
  return undefined;
}
