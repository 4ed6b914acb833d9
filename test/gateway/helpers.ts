/** Shared pieces of the gateway control-plane tests: upstream servers on port 0, config folders, waiting. */
import http, { createServer, type Server } from 'node:http';
import { after, before } from 'node:test';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, writeFile, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { silentLogger } from '../../src/lib/logger.ts';
import { runGateway, type GatewayHandle, type RunGatewayOptions } from '../../src/gateway/main.ts';

export interface Upstream {
  readonly name: string;
  readonly url: string;
  readonly server: Server;
  hits: number;
  close(): Promise<void>;
}

/** An upstream that answers `{ upstream, method, url, headers }` as JSON; `/health` answers `health()` when given. */
export async function startUpstream(name: string, options: { delayMs?: number; health?: () => number } = {}): Promise<Upstream> {
  const up: Partial<Upstream> & { hits: number } = { hits: 0 };
  const server = createServer((req, res) => {
    if (req.url === '/health' && options.health) {
      res.writeHead(options.health());
      res.end();
      return;
    }
    up.hits++;
    const reply = () => {
      const body = JSON.stringify({ upstream: name, method: req.method, url: req.url, headers: req.headers });
      res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': name });
      res.end(body);
    };
    req.resume();
    if (options.delayMs) setTimeout(reply, options.delayMs);
    else reply();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(up, {
    name,
    url: `http://127.0.0.1:${port}`,
    server,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  }) as Upstream;
}

/**
 * Upstreams answering with the given names, started before the file's tests and closed after them (even when a test
 * failed); `use` receives them in order, so a file keeps its own variables for them.
 */
export function withUpstreams(names: readonly string[], use: (started: Upstream[]) => void): void {
  let started: Upstream[] = [];
  before(async () => {
    started = await Promise.all(names.map((name) => startUpstream(name)));
    use(started);
  });
  after(async () => {
    for (const upstream of started) await upstream.close();
  });
}

export async function tempDir(prefix = 'mg-gw-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Writes atomically (temp + rename), as editors and config management do, so a watcher never reads half a file. */
export async function writeAtomic(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, file);
}

/** Entry points `web` and `traefik` on loopback, port 0, and a watched file provider on `dynamicFile`, fast throttle. */
export function fileProviderStaticYaml(dynamicFile: string): string {
  return `entryPoints:
  web:
    address: "127.0.0.1:0"
  traefik:
    address: "127.0.0.1:0"
providers:
  providersThrottleDuration: 20ms
  file:
    filename: "${dynamicFile}"
    watch: true
`;
}

/** A gateway (1 worker) whose router `app` sends every path to `upstreamUrl`, with `staticExtra` (top-level static YAML) after fileProviderStaticYaml's lines. */
export async function gatewayToUpstream(upstreamUrl: string, staticExtra: string, prefix = 'mg-gw-'): Promise<GatewayHandle & { web: string; admin: string }> {
  const dir = await tempDir(prefix);
  await writeFile(join(dir, 'dynamic.yml'), [
    'http:', '  routers:', '    app:', '      rule: PathPrefix(`/`)', '      service: app',
    '  services:', '    app:', '      loadBalancer:', '        servers:', `          - url: "${upstreamUrl}"`, '',
  ].join('\n'));
  await writeFile(join(dir, 'static.yml'), `${fileProviderStaticYaml(join(dir, 'dynamic.yml'))}${staticExtra}\n`);
  return startGateway(join(dir, 'static.yml'));
}

/** fileProviderStaticYaml with the API, ping and Prometheus metrics (router labels) on, then `extra`. */
export function staticYaml(dynamicFile: string, extra = ''): string {
  return `${fileProviderStaticYaml(dynamicFile)}api:
  insecure: true
ping: {}
metrics:
  prometheus:
    addRoutersLabels: true
${extra}`;
}

/**
 * Static configuration on loopback, port 0, with the consulCatalog provider on the server at `serverUrl` (its
 * `http://` dropped). By default only services tagged `traefik.enable=true` are exposed and the blocking wait is
 * 30 s; `entryPoints` adds entry points (YAML lines under `entryPoints:`), `catalog` replaces the provider's own lines.
 */
export function catalogStaticYaml(serverUrl: string, options: { entryPoints?: string; throttle?: string; waitTime?: string | null; catalog?: string } = {}): string {
  const waitTime = options.waitTime === undefined ? '30s' : options.waitTime;
  return `entryPoints:
  web:
    address: "127.0.0.1:0"
  traefik:
    address: "127.0.0.1:0"
${options.entryPoints ?? ''}providers:
  providersThrottleDuration: ${options.throttle ?? '10ms'}
  consulCatalog:
    endpoint:
      address: "${serverUrl.replace(/^http:\/\//, '')}"
${waitTime === null ? '' : `      endpointWaitTime: ${waitTime}\n`}${options.catalog ?? '    exposedByDefault: false\n'}api:
  insecure: true
`;
}

/** The static file's providers and api blocks for a test with its own entry points: file provider on `file`. */
export function fileProviderYaml(file = 'dynamic.yml'): string {
  return `providers:
  providersThrottleDuration: 20ms
  file:
    filename: ${file}
api:
  insecure: true
`;
}

export async function startGateway(configFile: string, options: Partial<RunGatewayOptions> = {}): Promise<GatewayHandle & { web: string; admin: string }> {
  const handle = await runGateway({ configFile, workers: 1, handleSignals: false, logger: silentLogger(), ...options });
  const a = handle.addresses();
  const missing = ['web', 'traefik'].filter((name) => a[name] === undefined);
  if (missing.length > 0) {
    // Started but not what the caller needs: a gateway left running would hold its ports and keep the test process alive.
    await handle.close();
    throw new Error(`startGateway: ${configFile} has no ${missing.join(' and no ')} entry point (it needs both, on loopback)`);
  }
  return Object.assign(handle, { web: `http://127.0.0.1:${a.web!.port}`, admin: `http://127.0.0.1:${a.traefik!.port}` });
}

/**
 * A gateway (1 worker) whose only entry point, `websecure` on loopback port 0, speaks TLS only, with a file provider
 * on the directory `dynamicDir`; `check` gets the bound port, and the gateway is closed after it, even on failure.
 */
export async function withTlsGateway(work: string, dynamicDir: string, check: (port: number) => Promise<void>): Promise<void> {
  await writeFile(join(work, 'gateway.yml'), `entryPoints:
  websecure:
    address: "127.0.0.1:0"
    http:
      tls: {}
providers:
  file:
    directory: "${dynamicDir}"
`);
  const gw = await runGateway({ configFile: join(work, 'gateway.yml'), workers: 1, handleSignals: false, logger: silentLogger() });
  try {
    await check(gw.addresses().websecure!.port);
  } finally {
    await gw.close();
  }
}

/** Retries `check` until it stops throwing; generous deadline, no timing assertions. */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      return await check();
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  throw last;
}

export interface Reply {
  status: number;
  text: string;
  headers: Record<string, string | string[] | undefined>;
  json(): any;
}

/** One request through undici (fetch would not let a test set Host). */
export async function get(url: string, init: { method?: string; headers?: Record<string, string>; host?: string; body?: string } = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.host) headers.host = init.host;
  const res = await request(url, { method: (init.method ?? 'GET') as 'GET', headers, ...(init.body !== undefined ? { body: init.body } : {}) });
  const text = await res.body.text();
  return { status: res.statusCode, text, headers: res.headers, json: () => JSON.parse(text) };
}

type StartedGateway = Awaited<ReturnType<typeof startGateway>>;

/**
 * A gateway on loopback whose file provider directory holds `files` (name → text), with the API on `traefik`, for
 * `check`; `entryPoints` maps names to address suffixes ('' for TCP, '/udp'). `beforeClose` runs first when it ends.
 */
export async function withDirectoryGateway(files: Record<string, string>, entryPoints: Record<string, string>,
  check: (gw: StartedGateway) => Promise<void>, beforeClose?: () => void): Promise<void> {
  const work = await tempDir('mg-gw-dir-');
  const dir = join(work, 'dynamic');
  await mkdir(dir);
  for (const [name, body] of Object.entries(files)) await writeFile(join(dir, name), body);
  const listed = Object.entries({ traefik: '', ...entryPoints }).map(([name, suffix]) => `  ${name}:\n    address: "127.0.0.1:0${suffix}"\n`).join('');
  await writeFile(join(work, 'gateway.yml'), `entryPoints:\n${listed}providers:\n  providersThrottleDuration: 20ms\n  file:\n    directory: "${dir}"\napi:\n  insecure: true\n`);
  const gw = await startGateway(join(work, 'gateway.yml'));
  try {
    await check(gw);
  } finally {
    beforeClose?.();
    await gw.close();
  }
}

export interface DrivenAnswer { status: number; tag: string | undefined }

/**
 * `GET /` on `port` one after another on `loops` connections until stopped (`keepAlive` or a new connection per
 * request); every answer (status, `X-Config` header) and every failure is kept in order. A request with no answer in
 * 30 s is a failure (it must not hold a test's cleanup).
 */
export function driveRequests(port: number, loops: number, keepAlive: boolean) {
  const agent = new http.Agent({ keepAlive, maxSockets: loops });
  const failures: string[] = [];
  const answers: DrivenAnswer[] = [];
  let stop = false;
  const one = () => new Promise<void>((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
      res.resume();
      res.on('end', () => {
        const tag = res.headers['x-config'];
        answers.push({ status: res.statusCode ?? 0, tag: typeof tag === 'string' ? tag : undefined });
        if (res.statusCode !== 200) failures.push(`status ${res.statusCode}`);
        resolve();
      });
      res.on('error', (err) => {
        failures.push(`response: ${err.message}`);
        resolve();
      });
    });
    req.setTimeout(30_000, () => req.destroy(new Error('no answer within 30 s')));
    req.on('error', (err) => {
      failures.push(`request: ${err.message}`);
      resolve();
    });
  });
  const running = Array.from({ length: loops }, async () => {
    while (!stop) await one();
  });
  return {
    failures,
    answers,
    async stop() {
      stop = true;
      await Promise.all(running);
      agent.destroy();
    },
  };
}
