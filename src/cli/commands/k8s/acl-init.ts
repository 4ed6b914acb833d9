/**
 * `meshgate k8s acl-init` — the injected init container (consul-k8s's `connect-init`): log in with the pod's
 * service-account token and write the ACL token to `--token-sink-file` (0600), retrying until the server answers;
 * wait for the pod's proxy registration and write its ID to `--proxy-id-file`; then, when the injector set
 * MESHGATE_REDIRECT_TRAFFIC_CONFIG (transparent mode), install the iptables redirect it describes — the same rules
 * `meshgate connect redirect-traffic` installs.
 */
import { Command } from 'commander';
import { REDIRECT_TRAFFIC_ENV } from '../../../kubernetes/inject/containers.ts';
import { createLogger } from '../../../lib/logger.ts';
import type { RedirectConfig } from '../../../proxy/transparent/rules.ts';
import { addHttpFlags, clientFrom, type HttpFlags } from '../../http-flags.ts';
import { CliErrors, info, type CliIO } from '../../io.ts';
import { collect } from '../../repeatable.ts';

interface Flags extends HttpFlags {
  authMethod?: string;
  bearerTokenFile: string;
  tokenSinkFile?: string;
  meta: string[];
  podName?: string;
  podNamespace?: string;
  nodeName?: string;
  proxyIdFile?: string;
  logLevel?: string;
}

const TOKEN_ENV = ['MESHGATE_HTTP_TOKEN', 'CONSUL_HTTP_TOKEN', 'MESHGATE_HTTP_TOKEN_FILE', 'CONSUL_HTTP_TOKEN_FILE'];
/** The injector's JSON (consul-k8s's iptables.Config field names) as the redirect rules' configuration. */
export function redirectConfigFromJson(json: string): RedirectConfig {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(json) as Record<string, unknown>;
  } catch {
    throw CliErrors.usage(`${REDIRECT_TRAFFIC_ENV} is not JSON`);
  }
  const strings = (key: string): string[] => {
    const v = raw[key] ?? [];
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw CliErrors.usage(`${REDIRECT_TRAFFIC_ENV}: ${key} must be a list of strings`);
    return v as string[];
  };
  const port = (key: string): number | undefined => {
    const v = raw[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) throw CliErrors.usage(`${REDIRECT_TRAFFIC_ENV}: ${key} must be a port`);
    return v;
  };
  if (typeof raw['ProxyUserID'] !== 'string' || raw['ProxyUserID'] === '') throw CliErrors.usage(`${REDIRECT_TRAFFIC_ENV}: ProxyUserID is required`);
  const inbound = port('ProxyInboundPort');
  if (inbound === undefined) throw CliErrors.usage(`${REDIRECT_TRAFFIC_ENV}: ProxyInboundPort is required`);
  const outbound = port('ProxyOutboundPort');
  return {
    proxyUid: raw['ProxyUserID'], proxyInboundPort: inbound, ...(outbound ? { proxyOutboundPort: outbound } : {}),
    excludeInboundPorts: strings('ExcludeInboundPorts'), excludeOutboundPorts: strings('ExcludeOutboundPorts'),
    excludeOutboundCidrs: strings('ExcludeOutboundCIDRs'), excludeUids: strings('ExcludeUIDs'),
  };
}

export function k8sAclInitCommand(io: CliIO): Command {
  return addHttpFlags(new Command('acl-init'))
    .description('Init container step: log in with the pod\'s service-account token, wait for its proxy registration, redirect traffic')
    .option('--auth-method <name>', 'ACL auth method to log in with (none: no login)')
    .option('--bearer-token-file <path>', 'the pod\'s service-account token', '/var/run/secrets/kubernetes.io/serviceaccount/token')
    .option('--token-sink-file <path>', 'the ACL token\'s SecretID is written here (mode 0600)')
    .option('--meta <key=value>', 'metadata to set on the token (repeatable)', collect, [])
    .option('--pod-name <name>', 'this pod\'s name (env POD_NAME)')
    .option('--pod-namespace <ns>', 'this pod\'s namespace (env POD_NAMESPACE)')
    .option('--node-name <node>', 'the catalog node the pod is registered on (env NODE_NAME)')
    .option('--proxy-id-file <path>', 'wait for the pod\'s connect-proxy registration and write its ID here')
    .option('--log-level <level>', 'trace, debug, info, warn, error', 'info')
    .action(async (flags: Flags) => {
      if (flags.authMethod && !flags.tokenSinkFile) throw CliErrors.usage('-token-sink-file is required with -auth-method');
      const meta: Record<string, string> = {};
      for (const pair of flags.meta) {
        const eq = pair.indexOf('=');
        if (eq <= 0) throw CliErrors.usage(`Invalid -meta value ${JSON.stringify(pair)}: expected key=value`);
        meta[pair.slice(0, eq)] = pair.slice(eq + 1);
      }
      const redirectJson = io.env[REDIRECT_TRAFFIC_ENV];
      const redirect = redirectJson ? redirectConfigFromJson(redirectJson) : undefined;
      // The login must carry no token (the server refuses one), so none is taken from the environment.
      const env = Object.fromEntries(Object.entries(io.env).filter(([k]) => !TOKEN_ENV.includes(k)));
      const consul = clientFrom({ ...flags, token: undefined, tokenFile: undefined } as HttpFlags, { ...io, env } as CliIO);
      const logger = createLogger({ name: 'acl-init', level: flags.logLevel ?? 'info' });
      const { aclInit } = await import('../../../kubernetes/acl-init.ts');
      const podName = flags.podName ?? io.env['POD_NAME'];
      const podNamespace = flags.podNamespace ?? io.env['POD_NAMESPACE'];
      const nodeName = flags.nodeName ?? io.env['NODE_NAME'];
      const result = await aclInit({
        consul, logger, meta,
        ...(flags.authMethod ? { authMethod: flags.authMethod, bearerTokenFile: flags.bearerTokenFile } : {}),
        ...(flags.tokenSinkFile ? { tokenSinkFile: flags.tokenSinkFile } : {}),
        ...(flags.proxyIdFile ? { proxyIdFile: flags.proxyIdFile } : {}),
        ...(podName ? { podName } : {}), ...(podNamespace ? { podNamespace } : {}), ...(nodeName ? { nodeName } : {}),
      });
      if (result.accessorId) info(io, `Logged in: token ${result.accessorId} written to ${flags.tokenSinkFile}`);
      if (redirect) {
        const { redirectRules } = await import('../../../proxy/transparent/rules.ts');
        const { applyRules } = await import('../../../proxy/transparent/apply.ts');
        try {
          await applyRules(redirectRules(redirect));
        } catch (err) {
          throw CliErrors.failed(`Error setting up traffic redirection rules: ${(err as Error).message}`);
        }
        info(io, 'Successfully applied traffic redirection rules');
      }
    });
}
