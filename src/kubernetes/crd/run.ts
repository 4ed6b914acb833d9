/** `meshgate k8s crd-controller` put together: the controller behind a Lease, so two replicas never both write. */
import type { KubeConfig } from '@kubernetes/client-node';
import type { ConsulClient } from '../../api/client.ts';
import type { Logger } from '../../lib/logger.ts';
import { electLeader } from '../leader.ts';
import { CrdController } from './controller.ts';

export interface RunCrdControllerOptions {
  kubeConfig: KubeConfig;
  consul: ConsulClient;
  logger: Logger;
  datacenter: string;
  leaseNamespace: string;
  identity?: string;
}

export async function runCrdController(options: RunCrdControllerOptions): Promise<{ close(): Promise<void> }> {
  const controller = new CrdController(options);
  await controller.start();
  const elector = electLeader(options, 'meshgate-crd-controller', [controller]);
  return {
    async close() {
      await elector.stop();
      await controller.stop();
    },
  };
}
