/** `meshgate services deregister [options] [FILE...]` — Consul's `consul services deregister` (by file or -id). */
import { Command } from 'commander';
import { addHttpFlags, clientFrom, type HttpFlags } from '../../http-flags.ts';
import { CliErrors, info, type CliIO } from '../../io.ts';
import { readServiceDefinitions } from './definition.ts';

interface Flags extends HttpFlags {
  id?: string;
}

export function servicesDeregisterCommand(io: CliIO): Command {
  return addHttpFlags(new Command('deregister'))
    .description('Deregisters services from the local agent')
    .argument('[files...]', 'service definition files whose services (by ID, else name) are removed')
    .option('--id <id>', 'deregister this service ID instead of reading files')
    .action(async (files: string[], flags: Flags) => {
      const ids: string[] = [];
      if (flags.id) {
        if (files.length > 0) throw CliErrors.usage('Error! -id cannot be combined with files');
        ids.push(flags.id);
      } else {
        if (files.length === 0) throw CliErrors.usage('Error! Expected at least one service definition file or -id');
        for (const file of files) for (const svc of await readServiceDefinitions(file)) ids.push(svc.ID || svc.Name);
      }
      const client = clientFrom(flags, io);
      for (const id of ids) {
        try {
          await client.agent.serviceDeregister(id);
        } catch (err) {
          throw CliErrors.failed(`Error deregistering service "${id}": ${(err as Error).message}`);
        }
        info(io, `Deregistered service: ${id}`);
      }
    });
}
