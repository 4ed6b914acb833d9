/**
 * The `services` and `checks` of a server's configuration files, registered with the server's own agent once it
 * listens, as a Consul server agent registers the definitions in its files (agent.go loadServices/loadChecks). They
 * go through the HTTP API like any registration — validated by the same decoder, under the agent token (or the
 * initial-management token) when ACLs are on — with the files' snake_case turned into the API's PascalCase by the
 * same mapping `meshgate services register` uses.
 */
import { ConsulClient, type AgentCheckRegistration, type AgentServiceRegistration } from '../api/client.ts';
import type { AgentConfig } from '../lib/agent-config/index.ts';
import { Errors } from '../lib/errors.ts';
import { toApiShape } from './commands/services/definition.ts';

export function hasDefinitions(config: AgentConfig): boolean {
  return (config.services?.length ?? 0) + (config.checks?.length ?? 0) > 0;
}

export async function registerConfigDefinitions(httpUrl: string, config: AgentConfig): Promise<void> {
  const token = config.acl?.tokens?.agent ?? config.acl?.tokens?.initial_management;
  const client = new ConsulClient({ address: httpUrl, env: {}, ...(token ? { token } : {}) });
  for (const [i, service] of (config.services ?? []).entries()) {
    try {
      await client.agent.serviceRegister(toApiShape(service) as AgentServiceRegistration);
    } catch (err) {
      throw Errors.invalidConfig(`services[${i}] (${label(service)}): ${(err as Error).message}`);
    }
  }
  for (const [i, check] of (config.checks ?? []).entries()) {
    try {
      await client.agent.checkRegister(toApiShape(check) as AgentCheckRegistration);
    } catch (err) {
      throw Errors.invalidConfig(`checks[${i}] (${label(check)}): ${(err as Error).message}`);
    }
  }
}

function label(definition: Record<string, unknown>): string {
  const name = definition.name ?? definition.id;
  return typeof name === 'string' ? name : '';
}
