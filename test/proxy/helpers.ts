/**
 * Building a small mesh on loopback for the proxy's tests: a real `meshgate server` (in process, on a temporary data
 * dir), apps (HTTP and TCP echo) on port 0, service and connect-proxy registrations through the HTTP API, and sidecars
 * either in process (`startProxy`) or as real `meshgate proxy` child processes.
 */
import { spawn } from 'node:child_process';
import { createServer as createHttpServer, request as httpRequest, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, connect as netConnect, type AddressInfo, type Server as NetServer } from 'node:net';
import { join } from 'node:path';
import { ConsulClient } from '../../src/api/client.ts';
import type { AgentServiceRegistration } from '../../src/api/types.ts';
import { silentLogger } from '../../src/lib/logger.ts';
import { startProxy, type RunningProxy } from '../../src/proxy/proxy.ts';
import { waitFor } from '../../src/lib/testing/wait-for.ts';
import type { RunningServer } from '../../src/server/options.ts';
import { REPO_ROOT, freePort, startTestServer, tempDir } from '../helpers/server.ts';

export interface Mesh {
  readonly server: RunningServer;
  readonly client: ConsulClient;
  readonly dataDir: string;
  readonly cleanups: Array<() => Promise<void> | void>;
  close(): Promise<void>;
}

export async function startMesh(): Promise<Mesh> {
  const dir = tempDir('meshgate-proxy-');
  const server = await startTestServer({ dataDir: dir.path });
  const client = new ConsulClient({ address: server.url, env: {} });
  const cleanups: Array<() => Promise<void> | void> = [];
  try {
    await waitFor(async () => (await client.connect.caRoots()).value.ActiveRootID !== '', 'the Connect CA to have a root');
  } catch (err) {
    // The caller never gets the mesh to close: a server left running would keep the test process alive.
    await server.close();
    dir.remove();
    throw err;
  }
  return {
    server, client, dataDir: dir.path, cleanups,
    async close() {
      for (const c of cleanups.reverse()) {
        try {
          await c();
        } catch {
          // keep closing the rest
        }
      }
      await server.close();
      dir.remove();
    },
  };
}

export interface SidecarSpec {
  readonly service: string;
  /** Service instance ID (default: the name). */
  readonly id?: string;
  readonly appPort: number;
  readonly meta?: Record<string, string>;
  readonly upstreams?: ReadonlyArray<{ name: string; port: number; protocol?: string }>;
  readonly proxyConfig?: Record<string, unknown>;
}

/** Registers a service instance and its sidecar (`<id>-sidecar-proxy`) with the server's agent; returns the proxy ID. */
export async function registerSidecar(mesh: Mesh, spec: SidecarSpec): Promise<{ proxyId: string; proxyPort: number }> {
  const id = spec.id ?? spec.service;
  const proxyPort = await freePort();
  await mesh.client.agent.serviceRegister({ ID: id, Name: spec.service, Address: '127.0.0.1', Port: spec.appPort, ...(spec.meta ? { Meta: spec.meta } : {}) });
  const proxy: AgentServiceRegistration = {
    Kind: 'connect-proxy',
    ID: `${id}-sidecar-proxy`,
    Name: `${spec.service}-sidecar-proxy`,
    Address: '127.0.0.1',
    Port: proxyPort,
    ...(spec.meta ? { Meta: spec.meta } : {}),
    Proxy: {
      DestinationServiceName: spec.service,
      DestinationServiceID: id,
      LocalServiceAddress: '127.0.0.1',
      LocalServicePort: spec.appPort,
      ...(spec.proxyConfig ? { Config: spec.proxyConfig } : {}),
      Upstreams: (spec.upstreams ?? []).map((u) => ({
        DestinationName: u.name, LocalBindAddress: '127.0.0.1', LocalBindPort: u.port, ...(u.protocol ? { Config: { protocol: u.protocol } } : {}),
      })),
    },
  };
  await mesh.client.agent.serviceRegister(proxy);
  return { proxyId: `${id}-sidecar-proxy`, proxyPort };
}

/** An in-process sidecar. Its default checks are not registered: the agent's first TCP check run is staggered over 10 s. */
export async function runProxy(mesh: Mesh, proxyId: string, registerChecks = false): Promise<RunningProxy> {
  const running = await startProxy({ client: mesh.client, logger: silentLogger(), proxyId, metricsAddr: '127.0.0.1:0', registerChecks });
  mesh.cleanups.push(() => running.stop());
  return running;
}

/** `node src/cli/main.ts proxy -proxy-id …` as a child process; resolves when it says it runs. */
export async function spawnProxy(mesh: Mesh, proxyId: string, extra: readonly string[] = []): Promise<{ pid: number; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'src/cli/main.ts'), 'proxy', '-proxy-id', proxyId, '-http-addr', mesh.server.url, '-log-level', 'warn', ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MESHGATE_LOG_FORMAT: 'json', CONSUL_HTTP_TOKEN: '', MESHGATE_HTTP_TOKEN: '' },
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  mesh.cleanups.push(stop);
  try {
    await waitFor(() => {
      if (child.exitCode !== null) throw new Error(`meshgate proxy exited (${child.exitCode}): ${out}`);
      return out.includes('Meshgate proxy running');
    }, `meshgate proxy ${proxyId} to start`, { deadlineMs: 60_000, intervalMs: 50 });
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return { pid: child.pid!, stop };
}

/** An HTTP app answering `<name> <method> <path>` (and echoing the XFCC header it got). */
export async function startHttpApp(mesh: Mesh, name: string, handler?: (path: string) => number): Promise<number> {
  const server: HttpServer = createHttpServer((req, res) => {
    const status = handler?.(req.url ?? '/') ?? 200;
    res.writeHead(status, { 'content-type': 'text/plain', 'x-app': name, 'x-got-xfcc': String(req.headers['x-forwarded-client-cert'] ?? '') });
    res.end(`${name} ${req.method} ${req.url}`);
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  mesh.cleanups.push(() => new Promise<void>((r) => {
    server.closeAllConnections();
    server.close(() => r());
  }));
  return (server.address() as AddressInfo).port;
}

/** A TCP app that answers every chunk with `<name>:<chunk>`. */
export async function startTcpApp(mesh: Mesh, name: string): Promise<number> {
  const sockets = new Set<import('node:net').Socket>();
  const server: NetServer = createNetServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
    s.on('data', (d) => s.write(`${name}:${d.toString()}`));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  mesh.cleanups.push(() => new Promise<void>((r) => {
    for (const s of sockets) s.destroy();
    server.close(() => r());
  }));
  return (server.address() as AddressInfo).port;
}

/** Sends `text` on a new TCP connection and resolves with what came back before the peer closed or `ms` passed. */
export function tcpExchange(port: number, text: string, ms = 3000): Promise<{ data: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s = netConnect({ host: '127.0.0.1', port });
    let data = '';
    let closed = false;
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ data, closed });
    }, ms);
    s.on('data', (d) => {
      data += d.toString();
      if (data.length >= text.length) {
        clearTimeout(timer);
        s.destroy();
        resolve({ data, closed });
      }
    });
    s.on('error', () => undefined);
    s.on('close', () => {
      closed = true;
      clearTimeout(timer);
      resolve({ data, closed });
    });
    s.on('connect', () => s.write(text));
  });
}

export interface HttpResult { status: number; body: string; headers: Record<string, string | string[] | undefined> }

const keepAlive = new (await import('node:http')).Agent({ keepAlive: true, maxSockets: 32 });

/** GET through a local port (an upstream listener), over a keep-alive pool. */
export function httpGet(port: number, path: string, headers: Record<string, string> = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers, agent: keepAlive }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

export function closeKeepAlive(): void {
  keepAlive.destroy();
}

/** PUT a config entry or intention through the client. */
export async function allow(mesh: Mesh, source: string, destination: string, action: 'allow' | 'deny' = 'allow'): Promise<void> {
  await mesh.client.connect.intentionUpsert({ SourceName: source, DestinationName: destination, Action: action });
}

/** Waits until the target's sidecar instances are passing (their TCP check ran) — /v1/health/connect?passing. */
export async function waitHealthy(mesh: Mesh, service: string, count = 1): Promise<void> {
  await waitFor(async () => (await mesh.client.health.connect(service, { passing: true })).value.length >= count, `${count} healthy sidecar(s) of ${service}`, { deadlineMs: 30_000, intervalMs: 100 });
}

/**
 * The smallest L7 mesh: `web` calls `api` (protocol http) over an allow intention, both sidecars running in-process.
 * `apiApp` starts the api app (after the mesh, so it can use `mesh.cleanups`); returns web's upstream port for api.
 */
export async function webToHttpApi(mesh: Mesh, apiApp: () => Promise<number>): Promise<number> {
  await mesh.client.configEntries.set({ Kind: 'service-defaults', Name: 'api', Protocol: 'http' } as { Kind: string; Name: string });
  const apiPort = await freePort();
  const web = await registerSidecar(mesh, { service: 'web', appPort: await freePort(), upstreams: [{ name: 'api', port: apiPort }] });
  const api = await registerSidecar(mesh, { service: 'api', appPort: await apiApp() });
  await allow(mesh, 'web', 'api');
  await runProxy(mesh, web.proxyId);
  await runProxy(mesh, api.proxyId);
  return apiPort;
}
