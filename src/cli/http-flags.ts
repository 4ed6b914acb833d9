/**
 * The flags every client command shares (Consul's `-http-addr`, `-token`, `-token-file`, `-datacenter`, `-stale`)
 * and the client they build. The token: `-token`, else the file `-token-file` names, else — from the environment, a
 * token file over a token as in Consul's api.NewClient — MESHGATE_HTTP_TOKEN_FILE / CONSUL_HTTP_TOKEN_FILE, else
 * MESHGATE_HTTP_TOKEN / CONSUL_HTTP_TOKEN.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ConsulClient } from '../api/client.ts';
import { CliErrors, type CliIO } from './io.ts';

export interface HttpFlags {
  httpAddr?: string;
  token?: string;
  tokenFile?: string;
  datacenter?: string;
  stale?: boolean;
}

export function addHttpFlags(cmd: Command): Command {
  return cmd
    .option('--http-addr <address>', 'address of the HTTP API (env MESHGATE_HTTP_ADDR, CONSUL_HTTP_ADDR; default 127.0.0.1:8500)')
    .option('--token <token>', 'ACL token (env MESHGATE_HTTP_TOKEN, CONSUL_HTTP_TOKEN)')
    .option('--token-file <path>', 'file holding the ACL token (env MESHGATE_HTTP_TOKEN_FILE, CONSUL_HTTP_TOKEN_FILE)')
    .option('--datacenter <dc>', 'datacenter to query (default: the server\'s)')
    .option('--stale', 'allow any server to answer reads');
}

export function clientFrom(flags: HttpFlags, io: CliIO): ConsulClient {
  const token = flags.token || tokenFromFile(flags, io);
  return new ConsulClient({
    env: io.env,
    ...(flags.httpAddr ? { address: flags.httpAddr } : {}),
    ...(token ? { token } : {}),
    ...(flags.datacenter ? { datacenter: flags.datacenter } : {}),
  });
}

function tokenFromFile(flags: HttpFlags, io: CliIO): string | undefined {
  const file = flags.tokenFile || io.env.MESHGATE_HTTP_TOKEN_FILE || io.env.CONSUL_HTTP_TOKEN_FILE;
  if (!file) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw CliErrors.failed(`Error loading token file: ${(err as Error).message}`);
  }
  return text.trim() || undefined;
}
