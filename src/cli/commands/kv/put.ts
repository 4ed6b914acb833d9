/** `meshgate kv put [options] KEY [DATA]` — Consul's `consul kv put`: DATA, @file or - (stdin); -cas, -flags, -base64, locks. */
import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { addHttpFlags, clientFrom, type HttpFlags } from '../../http-flags.ts';
import { CliErrors, info, type CliIO } from '../../io.ts';
import { parseUint } from './delete.ts';

interface Flags extends HttpFlags {
  cas?: boolean;
  modifyIndex?: string;
  flags?: string;
  base64?: boolean;
  acquire?: boolean;
  release?: boolean;
  session?: string;
}

export function kvPutCommand(io: CliIO): Command {
  return addHttpFlags(new Command('put'))
    .description('Sets or updates data in the KV store')
    .argument('<key>', 'key to write')
    .argument('[data]', 'value, @FILE to read a file, or - for stdin')
    .option('--cas', 'check-and-set: write only if the key\'s ModifyIndex equals -modify-index')
    .option('--modify-index <index>', 'ModifyIndex for -cas (0: only if the key does not exist)')
    .option('--flags <flags>', 'unsigned integer stored with the key', '0')
    .option('--base64', 'DATA is base64-encoded')
    .option('--acquire', 'obtain a lock on the key with -session')
    .option('--release', 'release the lock held by -session')
    .option('--session <id>', 'session for -acquire / -release')
    .action(async (rawKey: string, data: string | undefined, flags: Flags) => {
      const key = rawKey.replace(/^\//, '');
      if (key === '') throw CliErrors.usage('Error! Missing KEY argument');
      if (flags.cas && flags.modifyIndex === undefined) throw CliErrors.usage('Must specify -modify-index with -cas!');
      if ((flags.acquire || flags.release) && !flags.session) throw CliErrors.usage('Error! Missing -session (required with -acquire and -release)');
      const value = await readData(data, flags.base64 === true, io);
      const client = clientFrom(flags, io);
      let ok: boolean;
      try {
        ok = await client.kv.put(key, value, {
          flags: parseUint(flags.flags ?? '0', 'flags'),
          ...(flags.cas ? { cas: parseUint(flags.modifyIndex!, 'modify-index') } : {}),
          ...(flags.acquire ? { acquire: flags.session! } : {}),
          ...(flags.release ? { release: flags.session! } : {}),
        });
      } catch (err) {
        throw CliErrors.failed(`Error! Failed writing data: ${(err as Error).message}`);
      }
      if (!ok) {
        if (flags.cas) throw CliErrors.failed(`Error! Did not write to ${key}: CAS failed`);
        if (flags.acquire) throw CliErrors.failed(`Error! Did not acquire lock`);
        if (flags.release) throw CliErrors.failed(`Error! Did not release lock`);
        throw CliErrors.failed(`Error! Failed writing data to ${key}`);
      }
      if (flags.acquire) info(io, `Success! Lock acquired on: ${key}`);
      else if (flags.release) info(io, `Success! Lock released on: ${key}`);
      else info(io, `Success! Data written to: ${key}`);
    });
}

async function readData(data: string | undefined, base64: boolean, io: CliIO): Promise<Uint8Array> {
  let raw: Buffer;
  if (data === undefined) raw = Buffer.alloc(0);
  else if (data === '-') raw = await io.readStdin();
  else if (data.startsWith('@')) {
    try {
      raw = await readFile(data.slice(1));
    } catch (err) {
      throw CliErrors.failed(`Error! Failed to read file: ${(err as Error).message}`);
    }
  } else raw = Buffer.from(data, 'utf8');
  if (!base64) return raw;
  const text = raw.toString('utf8').trim();
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 === 1) throw CliErrors.failed('Error! Cannot base 64 decode data: illegal base64 data');
  return Buffer.from(text, 'base64');
}
