/**
 * `meshgate server`: opens the state store, builds the HTTP API from the endpoint modules, and listens.
 * Every subsystem registers its shutdown with `deps.onClose`, undone in reverse order by `close()`.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Errors } from '../lib/errors.ts';
import { ACLS_DISABLED } from './acl/authorizer.ts';
import { AclSystem } from './acl/system.ts';
import { createLogger, type Logger } from '../lib/logger.ts';
import type { ServerDeps, ServerIdentity } from './deps.ts';
import { registerAllEndpoints } from './endpoints/index.ts';
import { registerUiEndpoints } from './endpoints/ui.ts';
import { StaticSite } from '../lib/http/static-files.ts';
import { startDns, type RunningDns } from './dns/server.ts';
import { ApiRouter } from './http/router.ts';
import { limitConnectionsPerClient } from './http/conn-limit.ts';
import { httpsServerOptions } from './http/https.ts';
import { createHttpApi } from './http/server.ts';
import { ServerMetrics } from './metrics.ts';
import type { RunningServer, ServerOptions } from './options.ts';
import { openStore } from './store/index.ts';
import { CONSUL_API_VERSION, MESHGATE_VERSION } from './version.ts';
import { Tables } from './catalog/tables.ts';
import { KV_TABLE } from './kv/entries.ts';

export const VERSION = MESHGATE_VERSION;

/** Hooks for callers that look inside (tests). */
export interface ServerParts {
  /** Shown the HTTP API's router once every endpoint is registered (tests walk its route table). */
  readonly inspectRouter?: (router: ApiRouter) => void;
}

export async function startServer(options: ServerOptions, logger?: Logger, parts: ServerParts = {}): Promise<RunningServer> {
  const log = logger ?? createLogger({ name: 'server', ...(options.logLevel ? { level: options.logLevel } : {}) });
  const { host, port } = parseHostPort(options.httpAddr);
  const httpEnabled = options.httpEnabled !== false;
  if (!httpEnabled && !options.https) throw Errors.invalidConfig('ports: http is disabled (-1) and https is not set: the server would have no API listener');
  // Listeners are checked and certificates read before anything is created, so a bad path fails the start with nothing to undo.
  const httpsTls = options.https ? httpsServerOptions(options.https) : undefined;
  const httpsAt = options.https ? parseHostPort(options.https.addr) : undefined;
  const dataDir = options.dataDir ?? (options.dev ? mkdtempSync(join(tmpdir(), 'meshgate-dev-')) : undefined);
  if (!dataDir) throw Errors.invalidConfig('--data-dir is required unless --dev is given');
  mkdirSync(dataDir, { recursive: true });

  const choice = options.store ?? { backend: 'sqlite' };
  const storeLog = log.child({ part: 'store' });
  const store = await openStore(
    choice.backend === 'etcd'
      ? { backend: 'etcd', endpoints: choice.endpoints, ...(choice.prefix ? { prefix: choice.prefix } : {}), logger: storeLog }
      : { backend: 'sqlite', dataDir, logger: storeLog },
  );
  const closers: Array<() => Promise<void> | void> = [];
  const metrics = new ServerMetrics({
    index: () => store.index,
    openBlockingQueries: () => store.openWatches,
    storeCommits: () => store.stats.commits,
    state: {
      nodes: () => store.count(Tables.nodes),
      serviceInstances: () => store.count(Tables.services),
      kvEntries: () => store.count(KV_TABLE),
      isLeader: () => store.isLeader,
      transactions: () => store.stats.transactions,
    },
  });
  const identity: ServerIdentity = {
    nodeName: options.nodeName,
    nodeId: nodeIdFor(dataDir),
    datacenter: options.datacenter,
    address: advertisedAddress(options.bindAddr, httpsAt && !httpEnabled ? httpsAt.host : host),
    version: CONSUL_API_VERSION,
    meshgateVersion: VERSION,
  };
  const ports = { http: -1, dns: -1, https: -1 };
  let url = '';
  // Consul's acl block: with `enabled`, tokens, policies and roles in the store and every request resolved.
  const aclSystem = options.acl?.enabled
    ? await AclSystem.start({
      store, acl: options.acl, datacenter: identity.datacenter, dataDir, logger: log.child({ part: 'acl' }),
      ...(options.acl.tokenMinExpirationTtlMs !== undefined ? { tokenLimits: { minExpirationTtlMs: options.acl.tokenMinExpirationTtlMs } } : {}),
    })
    : undefined;
  if (aclSystem) closers.push(() => aclSystem.close());
  const deps: ServerDeps = {
    store,
    identity,
    logger: log,
    metrics,
    acl: aclSystem?.resolver ?? ACLS_DISABLED,
    ...(aclSystem ? { aclSystem } : {}),
    onClose: (fn) => closers.push(fn),
    url: () => url,
    ports: () => ports,
    ...(options.connectCa ? { connectCa: options.connectCa } : {}),
    ...(options.sidecarPorts ? { sidecarPorts: options.sidecarPorts } : {}),
  };
  // Leader-only duties (session TTL expiry) run on one replica; a lone sqlite server always leads.
  store.campaign(`${identity.nodeName} ${identity.nodeId}`);
  const router = new ApiRouter({ datacenter: identity.datacenter });
  await registerAllEndpoints(router, deps);
  if (options.ui?.enabled !== false) {
    registerUiEndpoints(router, new StaticSite({ mount: options.ui?.contentPath ?? '/ui/', ...(options.ui?.dir ? { dir: options.ui.dir } : {}) }));
  }
  parts.inspectRouter?.(router);

  const apiOptions = {
    router,
    logger: log,
    metrics,
    acl: deps.acl,
    // Consul (1.9+) puts acl.default_policy on every response, ACLs on or off ("allow" when off); sidecars read it
    // as the intention default when no intention matches, so a default-deny server must say so.
    commonHeaders: { 'X-Consul-Default-ACL-Policy': options.acl?.enabled ? options.acl.defaultPolicy : 'allow' },
    ...(options.httpRequestTimeout !== undefined ? { requestTimeout: options.httpRequestTimeout } : {}),
  };
  const listeners: Server[] = [];
  const listen = async (server: Server, at: { host: string; port: number }, tls: boolean): Promise<number> => {
    if (options.httpMaxConnsPerClient) limitConnectionsPerClient(server, options.httpMaxConnsPerClient, tls);
    listeners.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(at.port, at.host, () => resolve());
    });
    return (server.address() as AddressInfo).port;
  };
  const shutdown = async (): Promise<void> => {
    for (const server of listeners) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    for (const fn of closers.reverse()) await fn();
    await store.close();
    if (options.dev && !options.dataDir) rmSync(dataDir, { recursive: true, force: true });
  };
  let bound = -1;
  let httpsBound = -1;
  try {
    if (httpEnabled) bound = await listen(createHttpApi(apiOptions), { host, port }, false);
    if (httpsTls && httpsAt) httpsBound = await listen(createHttpApi({ ...apiOptions, tls: httpsTls }), httpsAt, true);
  } catch (err) {
    await shutdown();
    throw err;
  }
  // The DNS interface (Consul's ports.dns) listens on the HTTP API's host, as Consul binds both to client_addr.
  const dnsPort = options.ports?.dns ?? -1;
  let dns: RunningDns | undefined;
  if (dnsPort >= 0) {
    try {
      // Consul's DNS token: acl.tokens.dns, else (resolver) the default token, else the anonymous token.
      const dnsToken = options.acl?.tokens?.dns || undefined;
      dns = await startDns({
        store, host: options.dnsHost ?? host, port: dnsPort, domain: options.domain ?? 'consul.', datacenter: identity.datacenter,
        logger: log.child({ part: 'dns' }),
        ...(deps.acl.enabled ? { authorizer: () => deps.acl.resolve(dnsToken) } : {}),
      });
    } catch (err) {
      if (!options.dnsBestEffort) {
        await shutdown();
        throw err;
      }
      log.warn({ err, port: dnsPort }, 'dns: default port unavailable, running without the DNS interface');
    }
    if (dns) closers.push(() => dns?.close());
  }
  const httpsUrl = httpsAt ? `https://${urlHost(httpsAt.host)}:${httpsBound}` : undefined;
  url = httpEnabled ? `http://${urlHost(host)}:${bound}` : httpsUrl!;
  ports.http = bound;
  ports.https = httpsBound;
  ports.dns = dns?.port ?? -1;
  log.info({ url, ...(httpsUrl ? { https: httpsUrl } : {}), ...(dns ? { dns: dns.port } : {}), dataDir, store: store.backendName, node: identity.nodeName, datacenter: identity.datacenter, index: store.index }, 'meshgate server listening');

  let closing: Promise<void> | undefined;
  return {
    url,
    port: httpEnabled ? bound : httpsBound,
    ...(dns ? { dnsPort: dns.port } : {}),
    ...(httpsUrl ? { httpsUrl, httpsPort: httpsBound } : {}),
    close: () =>
      (closing ??= (async () => {
        await shutdown();
        log.info('meshgate server stopped');
      })()),
  };
}

export function parseHostPort(addr: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(addr.trim());
  if (!m) throw Errors.invalidConfig(`http-addr: expected HOST:PORT, got "${addr}"`);
  const port = Number(m[3]);
  if (port > 65535) throw Errors.invalidConfig(`http-addr: port ${port} is out of range`);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** Consul registers the node with its bind address; a wildcard (or none) falls back to the API's host, then loopback. */
function advertisedAddress(bindAddr: string | undefined, apiHost: string): string {
  for (const candidate of [bindAddr, apiHost]) {
    if (candidate && candidate !== '0.0.0.0' && candidate !== '::') return candidate;
  }
  return '127.0.0.1';
}

/** A node ID that survives restarts, like Consul's node-id file in its data dir. */
function nodeIdFor(dataDir: string): string {
  const file = join(dataDir, 'node-id');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const id = randomUUID();
  writeFileSync(file, id);
  return id;
}
