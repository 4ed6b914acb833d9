/** `meshgate config delete -kind K -name N [-cas -modify-index N]` — Consul's `consul config delete`. */
import { Command } from 'commander';
import { addHttpFlags, clientFrom, type HttpFlags } from '../../http-flags.ts';
import { CliErrors, info, type CliIO } from '../../io.ts';
import { apiError } from './errors.ts';

interface Flags extends HttpFlags {
  kind?: string;
  name?: string;
  cas?: boolean;
  modifyIndex?: string;
}

export function configDeleteCommand(io: CliIO): Command {
  return addHttpFlags(new Command('delete'))
    .description('Delete a centralized config entry')
    .option('--kind <kind>', 'the kind of the entry')
    .option('--name <name>', 'the name of the entry')
    .option('--cas', 'only delete if the entry\'s ModifyIndex equals -modify-index')
    .option('--modify-index <n>', 'the ModifyIndex for -cas')
    .action(async (flags: Flags) => {
      if (!flags.kind) throw CliErrors.usage('Must specify the -kind parameter');
      if (!flags.name) throw CliErrors.usage('Must specify the -name parameter');
      let cas: number | undefined;
      if (flags.cas) {
        if (flags.modifyIndex === undefined || !/^\d+$/.test(flags.modifyIndex) || flags.modifyIndex === '0') {
          throw CliErrors.usage('Must specify a -modify-index greater than 0 with -cas');
        }
        cas = Number(flags.modifyIndex);
      } else if (flags.modifyIndex !== undefined) throw CliErrors.usage('Cannot specify -modify-index without -cas');
      const client = clientFrom(flags, io);
      let deleted: boolean;
      try {
        deleted = await client.configEntries.delete(flags.kind, flags.name, cas === undefined ? {} : { cas });
      } catch (err) {
        throw apiError('Error deleting config entry', flags.kind, flags.name, err);
      }
      if (!deleted) throw CliErrors.failed(`Config entry not deleted: ${flags.kind}/${flags.name}`);
      info(io, `Config entry deleted: ${flags.kind}/${flags.name}`);
    });
}
