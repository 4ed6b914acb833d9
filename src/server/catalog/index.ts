/**
 * The catalog domain's public face: the tables, the transactional writes and the reads that endpoints and other
 * parts of the server (sessions, txn, DNS, the UI) build on, and the server's local agent.
 */
import type { ServerDeps } from '../deps.ts';
import { ExternalChecks } from './external-checks.ts';
import { LocalAgent, type LocalAgentOptions } from './local-agent.ts';

export { Tables, checkKey, serviceKey, nodePrefix } from './tables.ts';
export type { StoredCheck, StoredNode, StoredService, StoredAgentCheck } from './tables.ts';
export {
  CatalogTxn, catalogWrite, onCheckWrite, nodeChecks, checkStatus, nodeExists, getNode, listNodes, listNodeServices,
  listServices, listServiceInstances, listConnectInstances, listChecks, instanceChecks, serviceViewIndex,
} from './state.ts';
export type { CheckWriteHook, Registration } from './state.ts';
export { LocalAgent } from './local-agent.ts';
export { CatalogErrors } from './errors.ts';

const agents = new WeakMap<ServerDeps, LocalAgent>();

/**
 * The server's local agent, started once per server: registers this node and resumes its checks, and starts the
 * runner for external services' checks. Both stop through `deps.onClose`.
 */
export async function startLocalAgent(deps: ServerDeps, options: LocalAgentOptions = {}): Promise<LocalAgent> {
  let agent = agents.get(deps);
  if (agent) return agent;
  agent = new LocalAgent(deps, options);
  agents.set(deps, agent);
  await agent.start();
  new ExternalChecks(deps, options.runner).start();
  return agent;
}
