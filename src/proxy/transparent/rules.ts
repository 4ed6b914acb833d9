/**
 * The iptables rules that put a sidecar in the path of every TCP connection of its pod or VM — the rule set of
 * Consul's `consul connect redirect-traffic` (sdk/iptables/iptables.go `Setup`), with the same chain names so an
 * operator's tooling and habits carry over:
 *
 * - outbound: OUTPUT → CONSUL_PROXY_OUTPUT; the proxy's own UID, 127.0.0.1 and the exclusions RETURN; the rest
 *   jumps to CONSUL_PROXY_REDIRECT, which REDIRECTs to the proxy's outbound listener (default 15001);
 * - inbound: PREROUTING → CONSUL_PROXY_INBOUND; excluded ports RETURN; the rest jumps to CONSUL_PROXY_IN_REDIRECT,
 *   which REDIRECTs to the proxy's public (mTLS) listener;
 * - DNS (optional): UDP/TCP port 53 DNAT'ed to the mesh's DNS interface, before the TCP capture.
 *
 * Building the rules is pure (tested without privileges); `apply.ts` runs them.
 */
import { defineError } from '../../lib/errors.ts';
import { parseCidr, parseIp } from '../../lib/ip/address.ts';

export const ProxyInboundChain = 'CONSUL_PROXY_INBOUND';
export const ProxyInboundRedirectChain = 'CONSUL_PROXY_IN_REDIRECT';
export const ProxyOutputChain = 'CONSUL_PROXY_OUTPUT';
export const ProxyOutputRedirectChain = 'CONSUL_PROXY_REDIRECT';
export const DnsChain = 'CONSUL_DNS_REDIRECT';
export const ALL_CHAINS = [ProxyInboundChain, ProxyInboundRedirectChain, ProxyOutputChain, ProxyOutputRedirectChain, DnsChain] as const;

/** Consul's iptables.DefaultTProxyOutboundPort. */
export const DEFAULT_OUTBOUND_PORT = 15001;

export const ErrRedirectConfig = defineError('MG_REDIRECT_CONFIG', 400, (message: string) => message);

export interface RedirectConfig {
  /** UID the proxy runs as: its own connections are never captured (required, as in Consul). */
  proxyUid: string;
  /** The proxy's public (inbound, mTLS) listener port. */
  proxyInboundPort: number;
  /** The proxy's transparent outbound listener; default 15001. */
  proxyOutboundPort?: number;
  excludeInboundPorts?: readonly string[];
  excludeOutboundPorts?: readonly string[];
  excludeOutboundCidrs?: readonly string[];
  excludeUids?: readonly string[];
  /** Redirect DNS (port 53) to the mesh's DNS interface at this IP (and port, when not 53). */
  dnsIp?: string;
  dnsPort?: number;
}

/** One iptables invocation's arguments (without the `iptables` itself). */
export type IptablesArgs = readonly string[];

function checkPort(value: number | string, field: string): string {
  const text = String(value).trim();
  // iptables also takes ranges "1000:2000"; Consul passes the strings through, so accept them too.
  const parts = text.split(':');
  const ok = parts.length <= 2 && parts.every((p) => /^\d{1,5}$/.test(p) && Number(p) >= 1 && Number(p) <= 65535);
  if (!ok) throw ErrRedirectConfig(`${field}: expected a port (1-65535) or a range "low:high", got "${text}"`);
  return text;
}

function checkUid(value: string, field: string): string {
  // iptables' --uid-owner takes a user ID or a user name; Consul passes the value through.
  if (!/^(\d+|[a-z_][a-z0-9_-]*)$/.test(value.trim())) throw ErrRedirectConfig(`${field}: expected a user ID or name, got "${value}"`);
  return value.trim();
}

function checkCidr(value: string, field: string): string {
  const text = value.trim();
  if (!parseCidr(text) && !parseIp(text)) throw ErrRedirectConfig(`${field}: expected an IP address or CIDR, got "${value}"`);
  return text;
}

/** The rules `Setup` would apply, in order; throws MG_REDIRECT_CONFIG naming the first bad field. */
export function redirectRules(cfg: RedirectConfig): IptablesArgs[] {
  const proxyUid = checkUid(cfg.proxyUid ?? '', 'proxy-uid');
  if (!cfg.proxyInboundPort) throw ErrRedirectConfig('proxy-inbound-port: required (or a -proxy-id whose registration gives it)');
  const inbound = checkPort(cfg.proxyInboundPort, 'proxy-inbound-port');
  const outbound = checkPort(cfg.proxyOutboundPort || DEFAULT_OUTBOUND_PORT, 'proxy-outbound-port');
  const excludeInbound = (cfg.excludeInboundPorts ?? []).map((p) => checkPort(p, 'exclude-inbound-port'));
  const excludeOutbound = (cfg.excludeOutboundPorts ?? []).map((p) => checkPort(p, 'exclude-outbound-port'));
  const excludeCidrs = (cfg.excludeOutboundCidrs ?? []).map((c) => checkCidr(c, 'exclude-outbound-cidr'));
  const excludeUids = (cfg.excludeUids ?? []).map((u) => checkUid(u, 'exclude-uid'));
  if (cfg.dnsIp !== undefined && !parseIp(cfg.dnsIp)) throw ErrRedirectConfig(`consul-dns-ip: expected an IP address, got "${cfg.dnsIp}"`);
  if (cfg.dnsPort !== undefined) checkPort(cfg.dnsPort, 'consul-dns-port');

  const rules: IptablesArgs[] = [];
  const nat = (...args: string[]): void => {
    rules.push(['-t', 'nat', ...args]);
  };
  for (const chain of ALL_CHAINS) nat('-N', chain);

  // Outbound.
  nat('-A', ProxyOutputRedirectChain, '-p', 'tcp', '-j', 'REDIRECT', '--to-port', outbound);
  if (cfg.dnsIp !== undefined || cfg.dnsPort !== undefined) {
    // DNS first, so port-53 traffic is DNAT'ed before the catch-all TCP capture sees it.
    const ip = cfg.dnsIp ?? '127.0.0.1';
    const target = cfg.dnsPort !== undefined ? `${ip}:${cfg.dnsPort}` : ip;
    // Without a port Consul captures all DNS; with one, only DNS addressed to the mesh's DNS IP.
    const match = cfg.dnsPort !== undefined ? ['-d', ip] : [];
    for (const proto of ['udp', 'tcp']) nat('-A', DnsChain, '-p', proto, ...match, '--dport', '53', '-j', 'DNAT', '--to-destination', target);
    for (const proto of ['udp', 'tcp']) nat('-A', 'OUTPUT', '-p', proto, ...match, '--dport', '53', '-j', DnsChain);
  }
  nat('-A', 'OUTPUT', '-p', 'tcp', '-j', ProxyOutputChain);
  nat('-A', ProxyOutputChain, '-m', 'owner', '--uid-owner', proxyUid, '-j', 'RETURN');
  nat('-A', ProxyOutputChain, '-d', '127.0.0.1/32', '-j', 'RETURN');
  nat('-A', ProxyOutputChain, '-j', ProxyOutputRedirectChain);
  // Exclusions are inserted (-I) so they take precedence over the rules above.
  for (const port of excludeOutbound) nat('-I', ProxyOutputChain, '-p', 'tcp', '--dport', port, '-j', 'RETURN');
  for (const cidr of excludeCidrs) nat('-I', ProxyOutputChain, '-d', cidr, '-j', 'RETURN');
  for (const uid of excludeUids) nat('-I', ProxyOutputChain, '-m', 'owner', '--uid-owner', uid, '-j', 'RETURN');

  // Inbound.
  nat('-A', ProxyInboundRedirectChain, '-p', 'tcp', '-j', 'REDIRECT', '--to-port', inbound);
  nat('-A', 'PREROUTING', '-p', 'tcp', '-j', ProxyInboundChain);
  nat('-A', ProxyInboundChain, '-p', 'tcp', '-j', ProxyInboundRedirectChain);
  for (const port of excludeInbound) nat('-I', ProxyInboundChain, '-p', 'tcp', '--dport', port, '-j', 'RETURN');
  return rules;
}

/**
 * The rules that undo `redirectRules`: the jumps from the built-in chains, then each chain flushed and deleted.
 * Consul has no such command; Meshgate's `-remove` exists so a VM can leave transparent mode without a reboot.
 */
export function removalRules(): IptablesArgs[] {
  const rules: IptablesArgs[] = [];
  rules.push(['-t', 'nat', '-D', 'OUTPUT', '-p', 'tcp', '-j', ProxyOutputChain]);
  rules.push(['-t', 'nat', '-D', 'PREROUTING', '-p', 'tcp', '-j', ProxyInboundChain]);
  for (const proto of ['udp', 'tcp']) rules.push(['-t', 'nat', '-D', 'OUTPUT', '-p', proto, '--dport', '53', '-j', DnsChain]);
  for (const chain of ALL_CHAINS) rules.push(['-t', 'nat', '-F', chain]);
  for (const chain of ALL_CHAINS) rules.push(['-t', 'nat', '-X', chain]);
  return rules;
}
