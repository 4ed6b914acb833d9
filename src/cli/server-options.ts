/**
 * `meshgate server`'s options from its flags and the agent configuration files, with Consul's precedence: a flag
 * given on the command line wins, then the files (merged in order), then the flag's default
 * (agent/config/builder.go: flags are the last source merged). What the server does with the file's keys:
 * `services`/`checks` are registered with the server's own agent once it listens (as a Consul server agent does, see
 * server-definitions.ts); `retry_join` and `bootstrap_expect` have nothing to act on — replicas find each other
 * through the shared etcd store — and are accepted so a Consul server file loads; `server = false` describes a client
 * agent and is refused.
 */
import { hostname } from 'node:os';
import { DEFAULT_SIDECAR_MAX_PORT, DEFAULT_SIDECAR_MIN_PORT } from '../api/sidecar-service.ts';
import { resolveHttpsTls, type AgentConfig } from '../lib/agent-config/index.ts';
import { parseDuration } from '../lib/duration.ts';
import { hasDefinitions } from './server-definitions.ts';
import { Errors } from '../lib/errors.ts';
import type { AclOptions, HttpsOptions, ServerOptions, StoreChoice } from '../server/options.ts';

export interface ServerFlags {
  dev?: boolean;
  dataDir?: string;
  httpAddr: string;
  httpsPort?: string;
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

export const SERVER_FLAG_DEFAULTS = {
  httpAddr: '127.0.0.1:8500',
  nodeName: hostname(),
  datacenter: 'dc1',
  dnsPort: '8600',
  domain: 'consul.',
  httpRequestTimeout: '60s',
} as const;

/** `given(flag)`: the flag was on the command line (commander's option value source is not 'default'). */
export function serverOptionsFrom(flags: ServerFlags, given: (flag: keyof ServerFlags) => boolean, file: AgentConfig): ServerOptions {
  if (file.server === false) throw Errors.invalidConfig('server = false describes a client agent: run it with `meshgate agent`; `meshgate server` is always a server');
  const pick = <T>(flag: keyof ServerFlags, fromFlag: T, fromFile: T | undefined): T => (given(flag) || fromFile === undefined ? fromFlag : fromFile);
  const dnsFromFile = file.ports?.dns;
  const logLevel = pick('logLevel', flags.logLevel, file.log_level);
  const dataDir = pick('dataDir', flags.dataDir, file.data_dir);
  const http = httpListener(flags, given('httpAddr'), file);
  const https = httpsListener(flags, given('httpsPort'), file, http.host);
  const acl = aclOptions(file);
  const sidecarPorts = sidecarPortRange(file);
  if (http.port < 0 && hasDefinitions(file)) throw Errors.invalidConfig('services and checks in the configuration are registered through the HTTP API, which ports.http = -1 turns off');
  return {
    store: storeChoice(flags),
    dev: flags.dev === true,
    httpAddr: `${http.host.includes(':') ? `[${http.host}]` : http.host}:${http.port < 0 ? 0 : http.port}`,
    ...(http.port < 0 ? { httpEnabled: false } : {}),
    ...(https ? { https } : {}),
    nodeName: pick('nodeName', flags.nodeName, file.node_name),
    datacenter: pick('datacenter', flags.datacenter, file.datacenter),
    ports: {
      dns: given('dnsPort') || dnsFromFile === undefined ? dnsPort(flags.dnsPort) : dnsFromFile,
      ...(file.ports?.grpc !== undefined ? { grpc: file.ports.grpc } : {}),
    },
    ...(sidecarPorts ? { sidecarPorts } : {}),
    dnsBestEffort: !given('dnsPort') && dnsFromFile === undefined,
    ...(file.addresses?.dns ?? file.client_addr ? { dnsHost: (file.addresses?.dns ?? file.client_addr)! } : {}),
    domain: pick('domain', flags.domain, file.domain),
    httpRequestTimeout: requestTimeout(flags.httpRequestTimeout),
    ...(dataDir ? { dataDir } : {}),
    ...(logLevel ? { logLevel: logLevel.toLowerCase() === 'err' ? 'error' : logLevel.toLowerCase() } : {}),
    ...(acl ? { acl } : {}),
    ...(file.bind_addr ? { bindAddr: file.bind_addr } : {}),
    ...(file.limits?.http_max_conns_per_client ? { httpMaxConnsPerClient: file.limits.http_max_conns_per_client } : {}),
    ...(file.connect ? { connect: { enabled: file.connect.enabled ?? true, ...(file.connect.ca_config ? { caConfig: file.connect.ca_config } : {}) } } : {}),
    ...(file.ui_config ? { ui: { enabled: file.ui_config.enabled ?? false, ...(file.ui_config.content_path ? { contentPath: file.ui_config.content_path } : {}) } } : {}),
  };
}

/** The plain-HTTP listener: -http-addr when given, else addresses.http / client_addr and ports.http (-1 = off). */
function httpListener(flags: ServerFlags, flagGiven: boolean, file: AgentConfig): { host: string; port: number } {
  const fromFlag = splitHostPort(flags.httpAddr);
  if (flagGiven) return fromFlag;
  return { host: file.addresses?.http ?? file.client_addr ?? fromFlag.host, port: file.ports?.http ?? fromFlag.port };
}

function httpsListener(flags: ServerFlags, flagGiven: boolean, file: AgentConfig, httpHost: string): HttpsOptions | undefined {
  const port = flagGiven ? Number(flags.httpsPort) : (file.ports?.https ?? -1);
  if (!Number.isInteger(port) || port < -1 || port > 65535) throw Errors.invalidConfig(`--https-port: expected a port or -1, got "${flags.httpsPort}"`);
  if (port < 0) return undefined;
  const tls = resolveHttpsTls(file);
  if (!tls.certFile || !tls.keyFile) throw Errors.invalidConfig('ports.https is set but tls.defaults (or tls.https) has no cert_file and key_file');
  if (tls.verifyIncoming && !tls.caFile) throw Errors.invalidConfig('tls: verify_incoming is set for HTTPS but no ca_file is given to verify client certificates with');
  const host = file.addresses?.https ?? file.client_addr ?? httpHost;
  const handshake = file.limits?.https_handshake_timeout;
  return {
    addr: `${host.includes(':') ? `[${host}]` : host}:${port}`,
    certFile: tls.certFile,
    keyFile: tls.keyFile,
    ...(tls.caFile ? { caFile: tls.caFile } : {}),
    verifyIncoming: tls.verifyIncoming,
    minVersion: tls.minVersion,
    ...(handshake !== undefined ? { handshakeTimeoutMs: parseDuration(handshake, 'limits.https_handshake_timeout') } : {}),
  };
}

function aclOptions(file: AgentConfig): AclOptions | undefined {
  const acl = file.acl;
  if (!acl) return undefined;
  const tokens = acl.tokens;
  return {
    enabled: acl.enabled ?? false,
    defaultPolicy: acl.default_policy ?? 'allow',
    ...(acl.down_policy ? { downPolicy: acl.down_policy } : {}),
    ...(acl.enable_token_persistence !== undefined ? { enableTokenPersistence: acl.enable_token_persistence } : {}),
    ...(acl.token_ttl !== undefined ? { tokenTtlMs: parseDuration(acl.token_ttl, 'acl.token_ttl') } : {}),
    ...(tokens
      ? {
          tokens: {
            ...(tokens.initial_management ? { initialManagement: tokens.initial_management } : {}),
            ...(tokens.agent ? { agent: tokens.agent } : {}),
            ...(tokens.default ? { default: tokens.default } : {}),
            ...(tokens.dns ? { dns: tokens.dns } : {}),
          },
        }
      : {}),
  };
}

function splitHostPort(addr: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(addr.trim());
  if (!m) throw Errors.invalidConfig(`--http-addr: expected HOST:PORT, got "${addr}"`);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port: Number(m[3]) };
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

function storeChoice(flags: ServerFlags): StoreChoice {
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

/** ports.sidecar_min_port / sidecar_max_port: the local agent's sidecar range, Consul's defaults for a bound not given. */
function sidecarPortRange(file: AgentConfig): { min: number; max: number } | undefined {
  const min = file.ports?.sidecar_min_port;
  const max = file.ports?.sidecar_max_port;
  if (min === undefined && max === undefined) return undefined;
  const range = { min: min ?? DEFAULT_SIDECAR_MIN_PORT, max: max ?? DEFAULT_SIDECAR_MAX_PORT };
  // Consul's config builder refuses a range whose top is below its bottom; both 0 turn assignment off.
  if (range.max < range.min) {
    throw Errors.invalidConfig(`ports.sidecar_min_port (${range.min}) must be less than ports.sidecar_max_port (${range.max}). To disable, set both to zero.`);
  }
  return range;
}
