/** `meshgate services register [options] [FILE...]` — Consul's `consul services register`, through the agent API. */
import { Command } from 'commander';
import type { AgentServiceRegistration } from '../../../api/types.ts';
import { addHttpFlags, clientFrom, type HttpFlags } from '../../http-flags.ts';
import { CliErrors, info, type CliIO } from '../../io.ts';
import { collectNodeMeta } from '../catalog/nodes.ts';
import { readServiceDefinitions } from './definition.ts';

interface Flags extends HttpFlags {
  name?: string;
  id?: string;
  address?: string;
  port?: string;
  tag: string[];
  meta: Record<string, string>;
}

export function servicesRegisterCommand(io: CliIO): Command {
  return addHttpFlags(new Command('register'))
    .description('Registers services with the local agent')
    .argument('[files...]', 'service definition files (JSON: {"service": {...}} or {"services": [...]})')
    .option('--name <name>', 'register one service by flags instead of a file')
    .option('--id <id>', 'service ID (default: the name)')
    .option('--address <address>', 'service address')
    .option('--port <port>', 'service port')
    .option('--tag <tag>', 'service tag (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--meta <key=value>', 'service metadata (repeatable)', collectNodeMeta, {})
    .action(async (files: string[], flags: Flags) => {
      const services: AgentServiceRegistration[] = [];
      if (flags.name) {
        if (files.length > 0) throw CliErrors.usage('Error! Service registration flags cannot be combined with files');
        const port = flags.port === undefined ? undefined : Number(flags.port);
        if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) throw CliErrors.usage(`Error! Invalid -port "${flags.port}"`);
        services.push({
          Name: flags.name,
          ...(flags.id ? { ID: flags.id } : {}),
          ...(flags.address ? { Address: flags.address } : {}),
          ...(port !== undefined ? { Port: port } : {}),
          ...(flags.tag.length ? { Tags: flags.tag } : {}),
          ...(Object.keys(flags.meta).length ? { Meta: flags.meta } : {}),
        });
      } else {
        if (files.length === 0) throw CliErrors.usage('Error! Expected at least one service definition file or -name');
        for (const file of files) services.push(...(await readServiceDefinitions(file)));
      }
      const client = clientFrom(flags, io);
      for (const svc of services) {
        try {
          await client.agent.serviceRegister(svc);
        } catch (err) {
          throw CliErrors.failed(`Error registering service "${svc.Name}": ${(err as Error).message}`);
        }
        info(io, `Registered service: ${svc.Name}`);
      }
    });
}
