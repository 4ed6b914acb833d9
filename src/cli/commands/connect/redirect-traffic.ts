/**
 * `meshgate connect redirect-traffic` — installs the transparent-proxy iptables rules, flag for flag as
 * `consul connect redirect-traffic` (command/connect/redirecttraffic): `-proxy-uid` is required; with `-proxy-id`
 * the inbound port (the proxy's registered port, or `Proxy.Config.bind_port`) and the outbound port
 * (`Proxy.TransparentProxy.OutboundListenerPort`, default 15001) come from the proxy's registration and may not
 * also be given. `-remove` (Meshgate's own) deletes the rules again.
 */
import { Command } from 'commander';
import type { AgentService } from '../../../api/types/agent.ts';
import { applyRules } from '../../../proxy/transparent/apply.ts';
import { DEFAULT_OUTBOUND_PORT, redirectRules, removalRules, type RedirectConfig } from '../../../proxy/transparent/rules.ts';
import { addHttpFlags, clientFrom, type HttpFlags } from '../../http-flags.ts';
import { CliErrors, info, type CliIO } from '../../io.ts';
import { collect } from '../../repeatable.ts';

interface Flags extends HttpFlags {
  proxyUid?: string;
  proxyId?: string;
  nodeName?: string;
  proxyInboundPort?: string;
  proxyOutboundPort?: string;
  excludeInboundPort: string[];
  excludeOutboundPort: string[];
  excludeOutboundCidr: string[];
  excludeUid: string[];
  netns?: string;
  consulDnsIp?: string;
  consulDnsPort?: string;
  remove?: boolean;
  print?: boolean;
}

function portFlag(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw CliErrors.usage(`-${flag}: expected a port, got "${value}"`);
  return port;
}

/** The ports Consul reads from a proxy registration (generateConfigFromFlags). */
export function portsFromRegistration(svc: AgentService): { inbound: number; outbound: number } {
  if (!svc.Proxy || svc.Kind !== 'connect-proxy') throw CliErrors.failed(`service ${svc.ID} is not a proxy service`);
  const bindPort = Number((svc.Proxy.Config ?? {})['bind_port'] ?? 0);
  const outbound = Number((svc.Proxy.TransparentProxy ?? {})['OutboundListenerPort'] ?? 0);
  return { inbound: bindPort || svc.Port, outbound: outbound || DEFAULT_OUTBOUND_PORT };
}

export function connectRedirectTrafficCommand(io: CliIO): Command {
  return addHttpFlags(new Command('redirect-traffic'))
    .description('Applies iptables rules for inbound and outbound traffic redirection')
    .option('--proxy-uid <uid>', 'the user ID of the proxy to exclude from traffic redirection')
    .option('--proxy-id <id>', 'the service ID of the proxy service registered with the agent')
    .option('--node-name <node>', 'the node where the proxy is registered (with -proxy-id, when there is no local agent)')
    .option('--proxy-inbound-port <port>', 'the inbound port that the proxy is listening on')
    .option('--proxy-outbound-port <port>', `the outbound port that the proxy is listening on (default ${DEFAULT_OUTBOUND_PORT})`)
    .option('--exclude-inbound-port <port>', 'inbound port to exclude from traffic redirection; repeatable', collect, [])
    .option('--exclude-outbound-port <port>', 'outbound port to exclude from traffic redirection; repeatable', collect, [])
    .option('--exclude-outbound-cidr <cidr>', 'outbound CIDR to exclude from traffic redirection; repeatable', collect, [])
    .option('--exclude-uid <uid>', 'additional user ID to exclude from traffic redirection; repeatable', collect, [])
    .option('--netns <path>', 'network namespace where the rules apply, e.g. /var/run/netns/foo')
    .option('--consul-dns-ip <ip>', 'IP of the mesh DNS; DNS queries are redirected to it')
    .option('--consul-dns-port <port>', 'port of the mesh DNS')
    .option('--remove', 'remove the rules this command installs')
    .option('--print', 'print the iptables commands instead of running them')
    .action(async (flags: Flags) => {
      const netns = flags.netns ? { netns: flags.netns } : {};
      if (flags.remove) {
        if (flags.print) for (const rule of removalRules()) info(io, `iptables ${rule.join(' ')}`);
        else await applyRules(removalRules(), { ...netns, ignoreErrors: true });
        if (!flags.print) info(io, 'Successfully removed traffic redirection rules');
        return;
      }
      if (!flags.proxyUid) throw CliErrors.usage('-proxy-uid is required');
      let inbound = portFlag(flags.proxyInboundPort, 'proxy-inbound-port');
      let outbound = portFlag(flags.proxyOutboundPort, 'proxy-outbound-port');
      if (!flags.proxyId && !inbound) throw CliErrors.usage('either -proxy-id or -proxy-inbound-port are required');
      if (flags.proxyId) {
        if (inbound !== undefined || outbound !== undefined) {
          throw CliErrors.usage('-proxy-inbound-port or -proxy-outbound-port cannot be provided together with -proxy-id. ' +
            'Proxy\'s inbound and outbound ports are retrieved from the proxy\'s configuration instead.');
        }
        const svc = await fetchProxy(flags, io);
        ({ inbound, outbound } = portsFromRegistration(svc));
      }
      const cfg: RedirectConfig = {
        proxyUid: flags.proxyUid,
        proxyInboundPort: inbound!,
        ...(outbound ? { proxyOutboundPort: outbound } : {}),
        excludeInboundPorts: flags.excludeInboundPort,
        excludeOutboundPorts: flags.excludeOutboundPort,
        excludeOutboundCidrs: flags.excludeOutboundCidr,
        excludeUids: flags.excludeUid,
        ...(flags.consulDnsIp ? { dnsIp: flags.consulDnsIp } : {}),
        ...(flags.consulDnsPort ? { dnsPort: portFlag(flags.consulDnsPort, 'consul-dns-port')! } : {}),
      };
      let rules;
      try {
        rules = redirectRules(cfg);
      } catch (err) {
        throw CliErrors.failed(`Failed to create configuration to apply traffic redirection rules: ${(err as Error).message}`);
      }
      if (flags.print) {
        for (const rule of rules) info(io, `iptables ${rule.join(' ')}`);
        return;
      }
      try {
        await applyRules(rules, netns);
      } catch (err) {
        throw CliErrors.failed(`Error setting up traffic redirection rules: ${(err as Error).message}`);
      }
      info(io, 'Successfully applied traffic redirection rules');
    });
}

async function fetchProxy(flags: Flags, io: CliIO): Promise<AgentService> {
  const client = clientFrom(flags, io);
  if (!flags.nodeName) {
    const svc = await client.agent.service(flags.proxyId!);
    if (!svc) throw CliErrors.failed(`failed to fetch proxy service from the agent: service "${flags.proxyId}" not found`);
    return svc;
  }
  const list = (await client.catalog.nodeServices(flags.nodeName, { filter: `ID == ${JSON.stringify(flags.proxyId)}` })).value;
  const services = list?.Services ?? [];
  if (services.length < 1) throw CliErrors.failed(`proxy service with ID "${flags.proxyId}" not found`);
  if (services.length > 1) throw CliErrors.failed(`expected to find only one proxy service with ID "${flags.proxyId}", but more were found`);
  return services[0]!;
}
