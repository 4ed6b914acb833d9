/** `meshgate kv delete [options] KEY_OR_PREFIX` — Consul's `consul kv delete`: -recurse, -cas -modify-index. */
import { Command } from 'commander';
import { addHttpFlags, clientFrom, type HttpFlags } from '../../http-flags.ts';
import { CliErrors, info, type CliIO } from '../../io.ts';

interface Flags extends HttpFlags {
  recurse?: boolean;
  cas?: boolean;
  modifyIndex?: string;
}

export function kvDeleteCommand(io: CliIO): Command {
  return addHttpFlags(new Command('delete'))
    .description('Removes data from the KV store')
    .argument('[key]', 'key or prefix', '')
    .option('--recurse', 'delete every key under the prefix')
    .option('--cas', 'check-and-set: delete only if the key\'s ModifyIndex equals -modify-index')
    .option('--modify-index <index>', 'ModifyIndex for -cas')
    .action(async (rawKey: string, flags: Flags) => {
      const key = rawKey.replace(/^\//, '');
      if (key === '' && !flags.recurse) throw CliErrors.usage('Error! Missing KEY argument');
      if (flags.cas && flags.recurse) throw CliErrors.usage('Cannot specify both -cas and -recurse!');
      if (flags.cas && flags.modifyIndex === undefined) throw CliErrors.usage('Must specify -modify-index with -cas!');
      const client = clientFrom(flags, io);
      let ok: boolean;
      try {
        ok = await client.kv.delete(key, { recurse: flags.recurse === true, ...(flags.cas ? { cas: parseUint(flags.modifyIndex!, 'modify-index') } : {}) });
      } catch (err) {
        throw CliErrors.failed(`Error! Did not delete key ${key}: ${(err as Error).message}`);
      }
      if (!ok) throw CliErrors.failed(`Error! Did not delete key ${key}: CAS failed`);
      info(io, flags.recurse ? `Success! Deleted keys with prefix: ${key}` : `Success! Deleted key: ${key}`);
    });
}

export function parseUint(text: string, flag: string): number {
  if (!/^\d+$/.test(text.trim())) throw CliErrors.usage(`Error! Invalid -${flag}: "${text}" is not an unsigned integer`);
  return Number(text.trim());
}
