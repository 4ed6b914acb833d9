/** `meshgate config read -kind K -name N` — prints the entry as indented JSON, like `consul config read`. */
import { Command } from 'commander';
import { addHttpFlags, clientFrom, type HttpFlags } from '../../http-flags.ts';
import { CliErrors, info, type CliIO } from '../../io.ts';
import { apiError } from './errors.ts';

interface Flags extends HttpFlags {
  kind?: string;
  name?: string;
}

export function configReadCommand(io: CliIO): Command {
  return addHttpFlags(new Command('read'))
    .description('Read a centralized config entry')
    .option('--kind <kind>', 'the kind of the entry')
    .option('--name <name>', 'the name of the entry')
    .action(async (flags: Flags) => {
      if (!flags.kind) throw CliErrors.usage('Must specify the -kind parameter');
      if (!flags.name) throw CliErrors.usage('Must specify the -name parameter');
      const client = clientFrom(flags, io);
      let entry;
      try {
        entry = (await client.configEntries.get(flags.kind, flags.name, { stale: flags.stale === true })).value;
      } catch (err) {
        throw apiError('Error reading config entry', flags.kind, flags.name, err);
      }
      if (!entry) throw CliErrors.failed(`Error reading config entry ${flags.kind}/${flags.name}: Unexpected response code: 404 (Config entry not found for "${flags.kind}" / "${flags.name}")`);
      info(io, JSON.stringify(entry, null, 4));
    });
}
