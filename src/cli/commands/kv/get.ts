/** `meshgate kv get [options] [KEY_OR_PREFIX]` — Consul's `consul kv get`: value, -detailed, -recurse, -keys. */
import { Command } from 'commander';
import { kvValueBytes } from '../../../api/client.ts';
import { prettyKVPair } from '../../format.ts';
import { addHttpFlags, clientFrom, type HttpFlags } from '../../http-flags.ts';
import { CliErrors, info, type CliIO } from '../../io.ts';

interface Flags extends HttpFlags {
  recurse?: boolean;
  keys?: boolean;
  separator: string;
  detailed?: boolean;
  base64?: boolean;
}

export function kvGetCommand(io: CliIO): Command {
  return addHttpFlags(new Command('get'))
    .description('Retrieves or lists data from the KV store')
    .argument('[key]', 'key or prefix', '')
    .option('--recurse', 'list every key-value pair under the prefix')
    .option('--keys', 'list key names only (up to the separator)')
    .option('--separator <sep>', 'separator for -keys', '/')
    .option('--detailed', 'show all metadata of the key')
    .option('--base64', 'print values base64-encoded')
    .action(async (rawKey: string, flags: Flags) => {
      // Keys cannot start with "/"; Consul strips it for the user.
      const key = rawKey.replace(/^\//, '');
      if (key === '' && !(flags.recurse || flags.keys)) throw CliErrors.usage('Error! Missing KEY argument');
      const client = clientFrom(flags, io);
      const q = { stale: flags.stale === true };
      try {
        if (flags.keys && flags.recurse) {
          const { value: pairs } = await client.kv.list(key, q);
          pairs.forEach((pair, i) => {
            if (flags.detailed) {
              info(io, prettyKVPair(pair, false, true));
              if (i < pairs.length - 1) info(io, '');
            } else info(io, pair.Key);
          });
          return;
        }
        if (flags.keys) {
          const { value: keys } = await client.kv.keys(key, { ...q, separator: flags.separator });
          for (const k of keys) info(io, k);
          return;
        }
        if (flags.recurse) {
          const { value: pairs } = await client.kv.list(key, q);
          pairs.forEach((pair, i) => {
            if (flags.detailed) {
              info(io, prettyKVPair(pair, flags.base64 === true));
              if (i < pairs.length - 1) info(io, '');
            } else {
              const bytes = kvValueBytes(pair);
              info(io, `${pair.Key}:${flags.base64 ? bytes.toString('base64') : bytes.toString('utf8')}`);
            }
          });
          return;
        }
        const { value: pair } = await client.kv.get(key, q);
        if (!pair) throw CliErrors.failed(`Error! No key exists at: ${key}`);
        if (flags.detailed) info(io, prettyKVPair(pair, flags.base64 === true));
        else info(io, flags.base64 ? kvValueBytes(pair).toString('base64') : kvValueBytes(pair).toString('utf8'));
      } catch (err) {
        throw queryError(err);
      }
    });
}

/** Consul's wording for a failed read; CLI errors pass through. */
export function queryError(err: unknown): unknown {
  if (err instanceof Error && 'code' in err && String(err.code).startsWith('MG_CLI')) return err;
  return CliErrors.failed(`Error querying Consul agent: ${err instanceof Error ? err.message : String(err)}`);
}
