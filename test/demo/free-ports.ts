/** The demo on free loopback ports, all distinct, so its tests run beside anything holding 8500 or 8080. */
import { DEFAULT_PORTS, type DemoPorts } from '../../examples/demo/topology.ts';
import { freePort } from '../helpers/server.ts';

export async function freeDemoPorts(): Promise<DemoPorts> {
  const ports = {} as DemoPorts;
  const taken = new Set<number>();
  for (const key of Object.keys(DEFAULT_PORTS) as Array<keyof DemoPorts>) {
    let port = await freePort();
    while (taken.has(port)) port = await freePort();
    taken.add(port);
    ports[key] = port;
  }
  return ports;
}
