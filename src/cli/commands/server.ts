/**
 * `meshgate server` — runs the Consul-compatible server until SIGINT/SIGTERM, then closes it (flushes the store,
 * removes a dev data dir). The server module is loaded on demand so the other commands start fast.
 */
import { hostname } from 'node:os';
import { Command, Option } from 'commander';
import { parseDuration } from '../../lib/duration.ts';
import { Errors } from '../../lib/errors.ts';
import type { ServerOptions, StoreChoice } from '../../server/options.ts';
import { info, type CliIO } from '../io.ts';
import { untilSignal } from '../signals.ts';

interface Flags {
  dev?: boolean;
  dataDir?: string;
  httpAddr: string;
  nodeName: string;
  datacenter: string;
  logLevel?: string;
  store: string;
  etcdEndpoints?: string;
  etcdPrefix?: string;
  dnsPort: string;
  domain: string;
  httpRequestTimeout: string;
}

export function serverCommand(io: CliIO): Command {
  return new Command('server')
    .description('Runs a Meshgate server: catalog, health, KV, sessions, transactions, config entries, intentions and DNS')
    .option('--dev', 'development mode: temporary data dir, removed on exit')
    .option('--data-dir <dir>', 'directory for the state store (required unless -dev)')
    .option('--http-addr <host:port>', 'address of the HTTP API', '127.0.0.1:8500')
    .option('--node-name <name>', 'name of this node', hostname())
    .option('--datacenter <dc>', 'datacenter name', 'dc1')
    .option('--log-level <level>', 'trace, debug, info, warn, error')
    .addOption(new Option('--store <backend>', 'state store: embedded sqlite, or etcd shared by several servers').choices(['sqlite', 'etcd']).default('sqlite'))
    .option('--etcd-endpoints <urls>', 'etcd client URLs, comma-separated (with --store etcd)')
    .option('--etcd-prefix <prefix>', 'key prefix of this cluster in etcd (with --store etcd)', '/meshgate')
    .option('--dns-port <port>', 'DNS interface port (UDP and TCP) on the HTTP API host; -1 disables', '8600')
    .option('--domain <domain>', 'DNS domain served', 'consul.')
    .option('--http-request-timeout <duration>', 'longest time a client may take to send a whole request (head and body); 0 disables', '60s')
    .action(async (flags: Flags, command: Command) => {
      const options: ServerOptions = {
        store: storeChoice(flags),
        dev: flags.dev === true,
        httpAddr: flags.httpAddr,
        nodeName: flags.nodeName,
        datacenter: flags.datacenter,
        ports: { dns: dnsPort(flags.dnsPort) },
        dnsBestEffort: command.getOptionValueSource('dnsPort') === 'default',
        domain: flags.domain,
        httpRequestTimeout: requestTimeout(flags.httpRequestTimeout),
        ...(flags.dataDir ? { dataDir: flags.dataDir } : {}),
        ...(flags.logLevel ? { logLevel: flags.logLevel } : {}),
      };
      const { startServer } = await import('../../server/main.ts');
      const running = await startServer(options);
      info(io, `==> Meshgate server running! HTTP API: ${running.url}`);
      const signal = await untilSignal(['SIGINT', 'SIGTERM']);
      info(io, `==> Caught signal: ${signal}, shutting down`);
      await running.close();
    });
}

/** Consul's ports.dns: a port number, or -1 to turn the DNS interface off. */
function dnsPort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < -1 || port > 65535) throw Errors.invalidConfig(`--dns-port: expected a port or -1, got "${value}"`);
  return port;
}

/** A Go duration ("60s", "2m") for the HTTP API's request-receive bound; "0" disables it. */
function requestTimeout(value: string): number {
  const ms = parseDuration(value, '--http-request-timeout');
  if (ms < 0) throw Errors.invalidConfig(`--http-request-timeout: expected a duration such as "60s", got "${value}"`);
  return ms;
}

function storeChoice(flags: Flags): StoreChoice {
  if (flags.store !== 'etcd') {
    if (flags.etcdEndpoints) throw Errors.invalidConfig('--etcd-endpoints needs --store etcd');
    return { backend: 'sqlite' };
  }
  const endpoints = (flags.etcdEndpoints ?? '').split(',').map((e) => e.trim()).filter((e) => e !== '');
  if (endpoints.length === 0) throw Errors.invalidConfig('--store etcd needs --etcd-endpoints URL[,URL]');
  for (const e of endpoints) {
    if (!/^https?:\/\/[^/]+\/?$/.test(e)) throw Errors.invalidConfig(`--etcd-endpoints: expected http(s)://HOST:PORT, got "${e}"`);
  }
  return { backend: 'etcd', endpoints, ...(flags.etcdPrefix ? { prefix: flags.etcdPrefix } : {}) };
}
