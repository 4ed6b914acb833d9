/** `meshgate config write [-cas -modify-index N] FILE|-` — Consul's `consul config write`. */
import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { addHttpFlags, clientFrom, type HttpFlags } from '../../http-flags.ts';
import { CliErrors, info, type CliIO } from '../../io.ts';
import { parseEntryFile } from './entry-file.ts';
import { apiError } from './errors.ts';

interface Flags extends HttpFlags {
  cas?: boolean;
  modifyIndex?: string;
}

export function configWriteCommand(io: CliIO): Command {
  return addHttpFlags(new Command('write'))
    .description('Create or update a centralized config entry')
    .argument('<file>', 'entry file (HCL or JSON), or - for stdin')
    .option('--cas', 'only write if the entry\'s ModifyIndex equals -modify-index')
    .option('--modify-index <n>', 'the ModifyIndex for -cas (0: only create)')
    .action(async (file: string, flags: Flags) => {
      const text = file === '-' ? (await io.readStdin()).toString('utf8') : await readFile(file, 'utf8').catch((err: Error) => {
        throw CliErrors.failed(`Failed to read config entry input: ${err.message}`);
      });
      const entry = await parseEntryFile(file === '-' ? 'stdin.hcl' : file, text);
      const asText = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
      const kind = asText(entry.Kind) ?? asText(entry.kind) ?? '';
      const name = asText(entry.Name) ?? asText(entry.name) ?? (kind === 'proxy-defaults' ? 'global' : kind === 'mesh' ? 'mesh' : '');
      let cas: number | undefined;
      if (flags.cas) {
        if (flags.modifyIndex === undefined || !/^\d+$/.test(flags.modifyIndex)) throw CliErrors.usage('Must specify a -modify-index greater than 0 with -cas');
        cas = Number(flags.modifyIndex);
      }
      const client = clientFrom(flags, io);
      let written: boolean;
      try {
        written = await client.configEntries.set(entry, cas === undefined ? {} : { cas });
      } catch (err) {
        throw apiError('Error writing config entry', kind, name, err);
      }
      if (!written) throw CliErrors.failed(`Config entry not updated: ${kind}/${name}`);
      info(io, `Config entry written: ${kind}/${name}`);
    });
}
