/** `meshgate reload` — Consul's `consul reload`: asks the local agent (PUT /v1/agent/reload) to re-read its configuration. */
import { Command } from 'commander';
import { addHttpFlags, clientFrom, type HttpFlags } from '../http-flags.ts';
import { CliErrors, info, type CliIO } from '../io.ts';

export function reloadCommand(io: CliIO): Command {
  return addHttpFlags(new Command('reload'))
    .description('Triggers the local agent to reload its configuration files')
    .action(async (flags: HttpFlags) => {
      try {
        await clientFrom(flags, io).agent.reload();
      } catch (err) {
        throw CliErrors.failed(`Error reloading: ${(err as Error).message}`);
      }
      info(io, 'Configuration reload triggered');
    });
}
