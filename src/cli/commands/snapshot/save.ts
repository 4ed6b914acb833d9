/**
 * `meshgate snapshot save [options] FILE` — Consul's `consul snapshot save`: the archive is written to
 * `FILE.unverified`, read back and verified (format, version, row count, checksum), then renamed to FILE, so FILE
 * is only ever a whole, good snapshot; prints "Saved and verified snapshot to index N".
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { Command } from 'commander';
import { decodeSnapshot } from '../../../server/snapshot/format.ts';
import { addHttpFlags, clientFrom, type HttpFlags } from '../../http-flags.ts';
import { CliErrors, info, type CliIO } from '../../io.ts';

export function snapshotSaveCommand(io: CliIO): Command {
  return addHttpFlags(new Command('save'))
    .description('Saves snapshot of the server state')
    .argument('<file>', 'where to write the snapshot')
    .action(async (file: string, flags: HttpFlags) => {
      const client = clientFrom(flags, io);
      const unverified = `${file}.unverified`;
      let index: number;
      try {
        const { value, meta } = await client.snapshot.save({ stale: flags.stale === true });
        await pipeline(value, createWriteStream(unverified));
        index = meta.LastIndex;
      } catch (err) {
        await rm(unverified, { force: true });
        throw CliErrors.failed(`Error saving snapshot: ${message(err)}`);
      }
      try {
        await decodeSnapshot(createReadStream(unverified));
      } catch (err) {
        await rm(unverified, { force: true });
        throw CliErrors.failed(`Error verifying snapshot file: ${message(err)}`);
      }
      await rename(unverified, file);
      info(io, `Saved and verified snapshot to index ${index}`);
    });
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));
