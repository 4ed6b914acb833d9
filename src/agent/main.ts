/**
 * `startAgent`: the whole client agent — reads its config, listens on its HTTP address, registers with the server
 * and keeps in sync — returned as one handle the CLI (and tests, in process) run and close.
 */
import type { Logger } from '../lib/logger.ts';
import { Agent, type AgentOptions } from './agent.ts';
import { startAgentHttp } from './http-api.ts';

export interface RunningAgent {
  agent: Agent;
  /** `http://127.0.0.1:<port>` of the local API. */
  url: string;
  reload(): Promise<void>;
  close(): Promise<void>;
}

export interface StartAgentOptions extends Omit<AgentOptions, 'logger'> {
  /** The local API's address; default 127.0.0.1:8500 (port 0 picks one). */
  httpAddr?: string;
}

export async function startAgent(options: StartAgentOptions, logger: Logger): Promise<RunningAgent> {
  const agent = await Agent.create({ ...options, logger });
  const http = await startAgentHttp(agent, options.httpAddr ?? '127.0.0.1:8500', logger);
  try {
    await agent.start(http.address);
  } catch (err) {
    await http.close();
    await agent.close();
    throw err;
  }
  return {
    agent,
    url: `http://${http.address}`,
    reload: () => agent.reload(),
    async close() {
      await http.close();
      await agent.close();
    },
  };
}
