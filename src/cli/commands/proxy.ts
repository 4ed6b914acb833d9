/**
 * `meshgate proxy -sidecar-for <service-id> | -proxy-id <id>` — the Connect sidecar (Consul's `consul connect proxy`):
 * configured from its connect-proxy registration on the local agent, it runs until SIGINT/SIGTERM. The proxy module
 * is loaded on demand so the other commands start fast. `CONNECT_SIDECAR_FOR` and `CONNECT_PROXY_ID` are read as
 * Consul's command reads them.
 */
import { Command } from 'commander';
import { createLogger } from '../../lib/logger.ts';
import { addHttpFlags, clientFrom, type HttpFlags } from '../http-flags.ts';
import { CliErrors, info, type CliIO } from '../io.ts';
import { untilSignal } from '../signals.ts';

interface Flags extends HttpFlags {
  sidecarFor?: string;
  proxyId?: string;
  logLevel?: string;
  metricsAddr?: string;
  accessLog?: string;
  registerChecks?: boolean;
  runAsUid?: string;
  nodeName?: string;
}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error'];

export function proxyCommand(io: CliIO): Command {
  return addHttpFlags(new Command('proxy'))
    .description('Runs the Connect sidecar proxy for a service: mTLS, intentions, upstream listeners')
    .option('--sidecar-for <service-id>', 'ID of the service this proxy fronts (env CONNECT_SIDECAR_FOR)')
    .option('--proxy-id <id>', 'ID of the connect-proxy registration on the local agent (env CONNECT_PROXY_ID)')
    .option('--log-level <level>', 'trace, debug, info, warn, error', 'info')
    .option('--metrics-addr <host:port>', 'serve Prometheus metrics on this address')
    .option('--access-log <path>', 'write JSON access logs here (- for stdout)')
    .option('--node-name <node>', 'read the -proxy-id registration from the catalog on this node, not from a local agent (Kubernetes pods: <node>-virtual)')
    .option('--no-register-checks', 'do not register the sidecar\'s default health checks')
    .option('--run-as-uid <uid>', 'started as root: open what transparent mode needs, then run as this user ID (the one redirect-traffic excludes)')
    .action(async (flags: Flags) => {
      const sidecarFor = flags.sidecarFor ?? io.env.CONNECT_SIDECAR_FOR;
      const proxyId = flags.proxyId ?? io.env.CONNECT_PROXY_ID;
      if (!sidecarFor && !proxyId) throw CliErrors.usage('Error! One of -sidecar-for or -proxy-id must be given');
      if (sidecarFor && proxyId) throw CliErrors.usage('Error! -sidecar-for and -proxy-id are mutually exclusive');
      const level = (flags.logLevel ?? 'info').toLowerCase();
      if (!LEVELS.includes(level)) throw CliErrors.usage(`Error! -log-level must be one of ${LEVELS.join(', ')}, got "${flags.logLevel}"`);
      if (flags.metricsAddr !== undefined && !/^[^\s]*:\d{1,5}$/.test(flags.metricsAddr)) {
        throw CliErrors.usage(`Error! -metrics-addr must be host:port, got "${flags.metricsAddr}"`);
      }
      // The token: -token, else -token-file, else the environment (clientFrom, shared with every client command).
      const client = clientFrom(flags, io);
      const logger = createLogger({ name: 'proxy', level });
      const { startProxy } = await import('../../proxy/proxy.ts');
      // Giving root up: the conntrack table (transparent mode) is readable by root only, so it is opened first and
      // kept. Without -run-as-uid, startProxy opens it itself when the registration asks for transparent mode.
      let conntrack;
      if (flags.runAsUid !== undefined) {
        const uid = Number(flags.runAsUid);
        if (!Number.isInteger(uid) || uid < 0) throw CliErrors.usage(`Error! -run-as-uid must be a numeric user ID, got "${flags.runAsUid}"`);
        const { ConntrackTable, dropPrivileges } = await import('../../proxy/transparent/original-dst.ts');
        conntrack = ConntrackTable.open();
        dropPrivileges(uid);
      }
      const running = await startProxy({
        client, logger, sidecarFor, proxyId, metricsAddr: flags.metricsAddr, accessLog: flags.accessLog, registerChecks: flags.registerChecks !== false, nodeName: flags.nodeName,
        ...(conntrack ? { conntrack } : {}),
      });
      const ups = [...running.upstreamAddresses].map(([name, a]) => `${name}=${a.address}:${a.port}`).join(', ');
      const transparent = running.transparentOutboundPort ? `; transparent outbound: 127.0.0.1:${running.transparentOutboundPort}` : '';
      info(io, `==> Meshgate proxy running! Public listener: ${running.publicAddress.address}:${running.publicAddress.port}${ups ? `; upstreams: ${ups}` : ''}${transparent}`);
      const signal = await untilSignal(['SIGINT', 'SIGTERM']);
      info(io, `==> Caught signal: ${signal}, shutting down`);
      await running.stop();
    });
}
