/** The flags every client command shares (Consul's `-http-addr`, `-token`, `-datacenter`, `-stale`) and the client they build. */
import type { Command } from 'commander';
import { ConsulClient } from '../api/client.ts';
import type { CliIO } from './io.ts';

export interface HttpFlags {
  httpAddr?: string;
  token?: string;
  datacenter?: string;
  stale?: boolean;
}

export function addHttpFlags(cmd: Command): Command {
  return cmd
    .option('--http-addr <address>', 'address of the HTTP API (env MESHGATE_HTTP_ADDR, CONSUL_HTTP_ADDR; default 127.0.0.1:8500)')
    .option('--token <token>', 'ACL token (env MESHGATE_HTTP_TOKEN, CONSUL_HTTP_TOKEN)')
    .option('--datacenter <dc>', 'datacenter to query (default: the server\'s)')
    .option('--stale', 'allow any server to answer reads');
}

export function clientFrom(flags: HttpFlags, io: CliIO): ConsulClient {
  return new ConsulClient({
    env: io.env,
    ...(flags.httpAddr ? { address: flags.httpAddr } : {}),
    ...(flags.token ? { token: flags.token } : {}),
    ...(flags.datacenter ? { datacenter: flags.datacenter } : {}),
  });
}
