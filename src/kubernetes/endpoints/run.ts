/**
 * The endpoints controller put together: its caches started, then a `coordination.k8s.io` Lease so of two replicas
 * exactly one writes to the catalog; the new leader reconciles everything at once, which removes instances of pods
 * that went while no leader ran. `meshgate k8s connect-inject` runs it beside the webhook, and
 * `meshgate k8s endpoints-controller` runs it alone.
 */
import { electLeader, type LeaderElector, type LeaseSettings } from '../leader.ts';
import { EndpointsController, type EndpointsControllerOptions } from './controller.ts';

export interface RunEndpointsControllerOptions extends EndpointsControllerOptions, LeaseSettings {}

export interface RunningEndpointsController {
  readonly controller: EndpointsController;
  readonly elector: LeaderElector;
  close(): Promise<void>;
}

export async function runEndpointsController(options: RunEndpointsControllerOptions): Promise<RunningEndpointsController> {
  const controller = new EndpointsController(options);
  await controller.start();
  const elector = electLeader(options, 'meshgate-endpoints-controller', [controller]);
  return {
    controller,
    elector,
    async close() {
      await elector.stop();
      await controller.stop();
    },
  };
}
