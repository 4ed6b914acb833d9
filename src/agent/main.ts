/**
 * `startAgent`: the whole client agent — reads its config, listens on its HTTP address, registers with the server
 * and keeps in sync — returned as one handle the CLI (and tests, in process) run and close.
 */
import type { Logger } from '../lib/logger.ts';
import { Agent, type AgentOptions } from './agent.ts';
import { startAgentHttp } from './http-api.ts';
import { withWorkloadApiFlags, type WorkloadApiFlags } from './workload-api/settings.ts';

export interface RunningAgent {
  agent: Agent;
  /** `http://127.0.0.1:<port>` of the local API. */
  url: string;
  /** `unix:///path` or `tcp://IP:port` of the SPIFFE Workload API, when one is configured. */
  workloadApiAddress?: string;
  reload(): Promise<void>;
  close(): Promise<void>;
}

export interface StartAgentOptions extends Omit<AgentOptions, 'logger'> {
  /** The local API's address; default 127.0.0.1:8500 (port 0 picks one). */
  httpAddr?: string;
  /** The -workload-api-* flags; they override the config's `spiffe_workload_api` keys. */
  workloadApi?: WorkloadApiFlags;
}

export async function startAgent(options: StartAgentOptions, logger: Logger): Promise<RunningAgent> {
  const agent = await Agent.create({ ...options, logger });
  const http = await startAgentHttp(agent, options.httpAddr ?? '127.0.0.1:8500', logger);
  let workloadApi: { address: string; close(): Promise<void> } | undefined;
  try {
    await agent.start(http.address);
    const settings = withWorkloadApiFlags(agent.config.workloadApi, options.workloadApi);
    if (settings) {
      // grpc-js is loaded only by an agent that serves a Workload API.
      const { startWorkloadApi } = await import('./workload-api/server.ts');
      workloadApi = await startWorkloadApi(settings, { servers: agent.servers, defaultToken: () => agent.config.aclTokens.default ?? '', logger });
    }
  } catch (err) {
    await http.close();
    await agent.close();
    throw err;
  }
  return {
    agent,
    url: `http://${http.address}`,
    ...(workloadApi ? { workloadApiAddress: workloadApi.address } : {}),
    reload: () => agent.reload(),
    async close() {
      await workloadApi?.close();
      await http.close();
      await agent.close();
    },
  };
}
