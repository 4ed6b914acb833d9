/** `meshgate config list -kind K` — the names of every entry of a kind, one per line, like `consul config list`. */
import { Command } from 'commander';
import { addHttpFlags, clientFrom, type HttpFlags } from '../../http-flags.ts';
import { CliErrors, info, type CliIO } from '../../io.ts';

interface Flags extends HttpFlags {
  kind?: string;
}

export function configListCommand(io: CliIO): Command {
  return addHttpFlags(new Command('list'))
    .description('List centralized config entries of a given kind')
    .option('--kind <kind>', 'the kind of entries to list')
    .action(async (flags: Flags) => {
      if (!flags.kind) throw CliErrors.usage('Must specify the -kind parameter');
      const client = clientFrom(flags, io);
      try {
        const { value } = await client.configEntries.list(flags.kind, { stale: flags.stale === true });
        for (const e of value) info(io, e.Name);
      } catch (err) {
        throw CliErrors.failed(`Error listing config entries for kind "${flags.kind}": ${(err as Error).message}`);
      }
    });
}
