/**
 * `meshgate server` — runs the Consul-compatible server until SIGINT/SIGTERM, then closes it (flushes the store,
 * removes a dev data dir). Configuration comes from flags and Consul's agent configuration files (`-config-file`,
 * `-config-dir`, read in the order given; flags win, see server-options.ts). The server module is loaded on demand
 * so the other commands start fast.
 */
import { Command, Option } from 'commander';
import { loadAgentConfig } from '../../lib/agent-config/index.ts';
import { info, type CliIO } from '../io.ts';
import { registerConfigDefinitions } from '../server-definitions.ts';
import { SERVER_FLAG_DEFAULTS, serverOptionsFrom, type ServerFlags } from '../server-options.ts';
import { untilSignal } from '../signals.ts';

export function serverCommand(io: CliIO): Command {
  // -config-file and -config-dir share one list so files merge in command-line order, as Consul's builder reads them.
  const configPaths: string[] = [];
  const collect = (value: string): string[] => {
    configPaths.push(value);
    return configPaths;
  };
  return new Command('server')
    .description('Runs a Meshgate server: catalog, health, KV, sessions, transactions, config entries, intentions and DNS')
    .option('--config-file <file>', 'agent configuration file (JSON or HCL); repeatable, later files win', collect)
    .option('--config-dir <dir>', 'directory of *.json and *.hcl configuration files, read in name order; repeatable', collect)
    .option('--dev', 'development mode: temporary data dir, removed on exit')
    .option('--data-dir <dir>', 'directory for the state store (required unless -dev)')
    .option('--http-addr <host:port>', 'address of the HTTP API', SERVER_FLAG_DEFAULTS.httpAddr)
    .option('--https-port <port>', 'HTTPS API port on the HTTP API host (needs tls.defaults cert_file/key_file); -1 disables')
    .option('--node-name <name>', 'name of this node', SERVER_FLAG_DEFAULTS.nodeName)
    .option('--datacenter <dc>', 'datacenter name', SERVER_FLAG_DEFAULTS.datacenter)
    .option('--log-level <level>', 'trace, debug, info, warn, error')
    .addOption(new Option('--store <backend>', 'state store: embedded sqlite, or etcd shared by several servers').choices(['sqlite', 'etcd']).default('sqlite'))
    .option('--etcd-endpoints <urls>', 'etcd client URLs, comma-separated (with --store etcd)')
    .option('--etcd-prefix <prefix>', 'key prefix of this cluster in etcd (with --store etcd)', '/meshgate')
    .option('--dns-port <port>', 'DNS interface port (UDP and TCP) on the HTTP API host; -1 disables', SERVER_FLAG_DEFAULTS.dnsPort)
    .option('--domain <domain>', 'DNS domain served', SERVER_FLAG_DEFAULTS.domain)
    .option('--http-request-timeout <duration>', 'longest time a client may take to send a whole request (head and body); 0 disables', SERVER_FLAG_DEFAULTS.httpRequestTimeout)
    .action(async (flags: ServerFlags, command: Command) => {
      const loaded = await loadAgentConfig(configPaths);
      for (const warning of loaded.warnings) info(io, `==> Warning: ${warning}`);
      const given = (flag: keyof ServerFlags): boolean => {
        const source = command.getOptionValueSource(flag);
        return source !== undefined && source !== 'default';
      };
      const options = serverOptionsFrom(flags, given, loaded.config);
      const { startServer } = await import('../../server/main.ts');
      const running = await startServer(options);
      try {
        await registerConfigDefinitions(running.url, loaded.config);
      } catch (err) {
        await running.close();
        throw err;
      }
      info(io, `==> Meshgate server running! HTTP API: ${running.url}${running.httpsUrl && running.httpsUrl !== running.url ? `, HTTPS API: ${running.httpsUrl}` : ''}`);
      const signal = await untilSignal(['SIGINT', 'SIGTERM']);
      info(io, `==> Caught signal: ${signal}, shutting down`);
      await running.close();
    });
}
