/**
 * `meshgate agent` — the client agent (Consul's `consul agent` without `-server`): registers this node and the
 * services of its config files with a server (`-retry-join`), runs their checks, keeps the catalog in sync, serves
 * the local `/v1/agent/*` API on `-http-addr` and forwards every other `/v1/*` call to the server. SIGHUP (or
 * `meshgate reload`) re-reads the configuration; `-auto-reload-config` also reloads when a config file changes.
 * SIGINT/SIGTERM stop it (sidecars included). The agent module is loaded on demand so other commands start fast.
 */
import { watch, type FSWatcher } from 'node:fs';
import { hostname } from 'node:os';
import { Command } from 'commander';
import { parseDuration } from '../../lib/duration.ts';
import { Errors } from '../../lib/errors.ts';
import { createLogger } from '../../lib/logger.ts';
import { info, type CliIO } from '../io.ts';
import { untilSignal } from '../signals.ts';
import { collect } from '../repeatable.ts';

interface Flags {
  retryJoin: string[];
  join: string[];
  configFile: string[];
  configDir: string[];
  dataDir?: string;
  nodeName?: string;
  httpAddr: string;
  datacenter?: string;
  advertise?: string;
  antiEntropyInterval: string;
  autoReloadConfig?: boolean;
  proxyCommand?: string;
  workloadApiSocket?: string;
  workloadApiService?: string;
  workloadApiSocketMode?: string;
  logLevel?: string;
}

export function agentCommand(io: CliIO): Command {
  return new Command('agent')
    .description('Runs a client agent: registers this node\'s services and checks with the servers and keeps them in sync')
    .option('--retry-join <address>', 'server HTTP address to join (repeatable; the next is tried when one fails)', collect, [] as string[])
    .option('--join <address>', 'same as -retry-join', collect, [] as string[])
    .option('--config-file <file>', 'configuration file, JSON or HCL (repeatable)', collect, [] as string[])
    .option('--config-dir <dir>', 'directory of .json/.hcl configuration files, read in lexical order (repeatable)', collect, [] as string[])
    .option('--data-dir <dir>', 'directory for the node ID and services registered through the API')
    .option('--node-name <name>', `name of this node (default: the config's node_name, else ${hostname()})`)
    .option('--http-addr <host:port>', 'address of the local HTTP API', '127.0.0.1:8500')
    .option('--datacenter <dc>', 'datacenter of this agent (default: the config\'s, else dc1)')
    .option('--advertise <address>', 'address the node is registered with (default 127.0.0.1)')
    .option('--anti-entropy-interval <duration>', 'time between full syncs of the local state with the catalog', '60s')
    .option('--auto-reload-config', 'reload when a config file or directory changes')
    .option('--proxy-command <path>', 'executable started for sidecars instead of this meshgate (gets `proxy -sidecar-for ID -http-addr ADDR`)')
    .option('--workload-api-socket <address>', 'serve a SPIFFE Workload API here: a unix socket path, unix:///path or tcp://IP:port (config: spiffe_workload_api.socket)')
    .option('--workload-api-service <name>', 'the service whose SVID the Workload API socket serves (config: spiffe_workload_api.service)')
    .option('--workload-api-socket-mode <mode>', 'file mode of the Workload API socket, octal (default 0600; config: spiffe_workload_api.socket_mode)')
    .option('--log-level <level>', 'trace, debug, info, warn, error')
    .action(async (flags: Flags) => {
      const servers = [...flags.retryJoin, ...flags.join];
      if (servers.length === 0) throw Errors.invalidConfig('-retry-join: at least one server address is required');
      const interval = parseDuration(flags.antiEntropyInterval, '-anti-entropy-interval');
      if (interval <= 0) throw Errors.invalidConfig('-anti-entropy-interval must be positive');
      const logger = createLogger({ name: 'meshgate-agent', ...(flags.logLevel ? { level: flags.logLevel } : {}) });
      const { startAgent } = await import('../../agent/main.ts');
      const running = await startAgent({
        retryJoin: servers,
        config: { files: flags.configFile, dirs: flags.configDir },
        httpAddr: flags.httpAddr,
        antiEntropyIntervalMs: interval,
        ...(flags.dataDir ? { dataDir: flags.dataDir } : {}),
        ...(flags.nodeName ? { nodeName: flags.nodeName } : {}),
        ...(flags.datacenter ? { datacenter: flags.datacenter } : {}),
        ...(flags.advertise ? { advertiseAddr: flags.advertise } : {}),
        ...(flags.proxyCommand ? { proxyCommand: [flags.proxyCommand] } : {}),
        workloadApi: { socket: flags.workloadApiSocket, service: flags.workloadApiService, socketMode: flags.workloadApiSocketMode },
      }, logger);
      info(io, `==> Meshgate agent running! Node: ${running.agent.identity.node}, HTTP API: ${running.url}, server: ${running.agent.servers.address()}`
        + (running.workloadApiAddress ? `, SPIFFE Workload API: ${running.workloadApiAddress}` : ''));
      const reload = () => running.reload().then(
        () => logger.info('configuration reloaded'),
        (err: unknown) => logger.error({ err: (err as Error).message }, 'reload failed; keeping the previous configuration'),
      );
      const onHup = () => void reload();
      process.on('SIGHUP', onHup);
      const watchers = flags.autoReloadConfig ? watchConfig([...flags.configFile, ...flags.configDir], reload) : [];
      const signal = await untilSignal(['SIGINT', 'SIGTERM']);
      info(io, `==> Caught signal: ${signal}, shutting down`);
      process.off('SIGHUP', onHup);
      for (const w of watchers) w.close();
      await running.close();
    });
}

/** fs.watch on every config path; bursts of events (an editor's save) collapse into one reload 250 ms later. */
function watchConfig(paths: readonly string[], reload: () => Promise<void>): FSWatcher[] {
  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void reload(), 250);
  };
  return paths.map((p) => watch(p, schedule));
}
