/**
 * `meshgate snapshot restore [options] FILE` — Consul's `consul snapshot restore`: sends the archive to the server,
 * which checks it whole and then replaces its entire state with it; prints "Restored snapshot".
 */
import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { Command } from 'commander';
import { addHttpFlags, clientFrom, type HttpFlags } from '../../http-flags.ts';
import { CliErrors, info, type CliIO } from '../../io.ts';

export function snapshotRestoreCommand(io: CliIO): Command {
  return addHttpFlags(new Command('restore'))
    .description('Restores snapshot of the server state')
    .argument('<file>', 'the snapshot to restore')
    .action(async (file: string, flags: HttpFlags) => {
      try {
        await access(file);
      } catch (err) {
        throw CliErrors.failed(`Error opening snapshot file: ${err instanceof Error ? err.message : String(err)}`);
      }
      const client = clientFrom(flags, io);
      try {
        await client.snapshot.restore(createReadStream(file));
      } catch (err) {
        throw CliErrors.failed(`Error restoring snapshot: ${err instanceof Error ? err.message : String(err)}`);
      }
      info(io, 'Restored snapshot');
    });
}
