/**
 * The demo of the whole architecture, as a function (`startDemo`) so `npm run demo` and the tests start the same
 * thing. On the embedded store with ACLs on (default deny) it starts, each as its own process:
 *
 *   server ── agent ── services A → B → C, each with its sidecar (mTLS) and HTTP check
 *     │          └── renders config/b/settings from KV into the file B reads
 *     ├── a "legacy app" and a Redis database on external nodes, checked by the server
 *     ├── Kubernetes (examples/demo/kubernetes.ts): service D in an injected pod, registered by the endpoints
 *     │   controller, its NodePort Service synced to the catalog; D → B through D's sidecar
 *     └── gateway (catalog tags: A's route, a rate-limited route, a JWT route, the legacy app, D's NodePort)
 *
 * Intentions: A→B and B→C allow, A→C deny. Tokens: a management token to log in to the UI, an agent token (node,
 * services, sessions, config keys), a gateway token (read the catalog) and a DNS token, each with the least policy
 * it needs. `stop()` ends every process (process groups, so the agent's sidecars go too) and removes the workdir.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { startKubernetesHalf, type KubernetesHalf } from './kubernetes.ts';

const REPO = new URL('../..', import.meta.url).pathname;
const CLI = join(REPO, 'src/cli/main.ts');
const HOP = join(REPO, 'examples/services/hop.ts');

export interface DemoPorts {
  server: number;
  dns: number;
  agent: number;
  web: number;
  dashboard: number;
  a: number;
  b: number;
  c: number;
  legacy: number;
  redis: number;
  jwks: number;
  /** Local bind ports of the sidecars' upstreams: A→B, A→C, B→C, and D→B (D lives in Kubernetes). */
  aToB: number;
  aToC: number;
  bToC: number;
  dToB: number;
  /** The Kubernetes half: the connect injector's webhook and D's NodePort. */
  webhook: number;
  nodePort: number;
}

export const DEFAULT_PORTS: DemoPorts = {
  server: 8500, dns: 8600, agent: 8501, web: 8080, dashboard: 8081, a: 9001, b: 9002, c: 9003, legacy: 9010,
  redis: 6390, jwks: 9099, aToB: 10001, aToC: 10003, bToC: 10002, dToB: 10004, webhook: 9443, nodePort: 30080,
};

export interface DemoOptions {
  ports?: Partial<DemoPorts>;
  /** One line per step ("[3/9] …"); default: nothing. */
  progress?: (line: string) => void;
  /** Where the processes' output goes (default: a log file per process in the workdir). */
  inheritOutput?: boolean;
  /** Aborting it during start-up (Ctrl-C) stops what was started and rejects. */
  signal?: AbortSignal;
}

export interface RunningDemo {
  readonly workdir: string;
  readonly ports: DemoPorts;
  readonly managementToken: string;
  readonly jwt: string;
  readonly uiUrl: string;
  readonly dashboardUrl: string;
  readonly gatewayUrl: string;
  /** `curl` lines to try, each answering 2xx. */
  readonly curls: ReadonlyArray<{ what: string; args: string[] }>;
  readonly redis: boolean;
  /** The in-process Kubernetes API server of the demo's Kubernetes half, and a kubeconfig for it. */
  readonly kubernetes: KubernetesHalf;
  /** Every process started, for tests (pid → name). */
  readonly processes: ReadonlyMap<number, string>;
  stop(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => Promise<T | undefined>, deadlineMs = 60_000, signal?: AbortSignal): Promise<T> {
  const end = Date.now() + deadlineMs;
  let last: unknown;
  while (Date.now() < end) {
    if (signal?.aborted) throw new Error(`demo: interrupted while waiting for ${what}`);
    try {
      const value = await fn();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await sleep(200);
  }
  throw new Error(`demo: timed out waiting for ${what}${last ? ` (${(last as Error).message})` : ''}`);
}

export async function startDemo(options: DemoOptions = {}): Promise<RunningDemo> {
  const ports: DemoPorts = { ...DEFAULT_PORTS, ...options.ports };
  const progress = options.progress ?? (() => {});
  const workdir = await mkdtemp(join(tmpdir(), 'meshgate-demo-'));
  const children: ChildProcess[] = [];
  const processes = new Map<number, string>();
  const servers: Server[] = [];
  const closers: Array<() => Promise<void> | void> = [];
  const steps = 10;
  let step = 0;
  const say = (text: string): void => {
    if (options.signal?.aborted) throw new Error('demo: interrupted during start-up');
    progress(`[${++step}/${steps}] ${text}`);
  };

  const stop = async (keepWorkdir = false): Promise<void> => {
    for (const child of children.reverse()) {
      if (child.exitCode === null && child.signalCode === null && child.pid) {
        try {
          process.kill(-child.pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
    }
    const deadline = Date.now() + 8_000;
    for (const child of children) {
      while (child.exitCode === null && child.signalCode === null && Date.now() < deadline) await sleep(50);
      if (child.exitCode === null && child.signalCode === null && child.pid) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    for (const s of servers) s.close();
    for (const close of closers.reverse()) await close();
    if (!keepWorkdir) await rm(workdir, { recursive: true, force: true });
  };

  const start = (name: string, command: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess => {
    // Own process group: stop() signals the whole group, so whatever a process started (the agent's sidecars) ends too.
    const logFile = join(workdir, `${name}.log`);
    const child = spawn(command, args, {
      detached: true,
      env: { ...process.env, MESHGATE_LOG_FORMAT: 'json', ...env },
      stdio: options.inheritOutput ? 'inherit' : ['ignore', 'pipe', 'pipe'],
    });
    if (!options.inheritOutput) {
      const out = createWriteStream(logFile);
      child.stdout?.pipe(out);
      child.stderr?.pipe(out);
    }
    children.push(child);
    if (child.pid) processes.set(child.pid, name);
    return child;
  };
  const meshgate = (name: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess => start(name, process.execPath, [CLI, ...args], env);

  const serverUrl = `http://127.0.0.1:${ports.server}`;
  const managementToken = randomUUID();
  const dnsToken = randomUUID();
  const api = async (method: string, path: string, body?: unknown, token = managementToken): Promise<unknown> => {
    const res = await fetch(`${serverUrl}${path}`, {
      method,
      headers: { 'x-consul-token': token },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text ? (JSON.parse(text) as unknown) : undefined;
  };

  try {
    // 1. The server, from a Consul-style configuration file.
    say(`server on ${serverUrl} (embedded store, ACLs on, default deny)`);
    const serverConfig = {
      datacenter: 'dc1',
      node_name: 'demo-server',
      data_dir: join(workdir, 'server'),
      server: true,
      bootstrap_expect: 1,
      client_addr: '127.0.0.1',
      ports: { http: ports.server, dns: ports.dns },
      acl: { enabled: true, default_policy: 'deny', enable_token_persistence: true, tokens: { initial_management: managementToken, dns: dnsToken } },
      ui_config: { enabled: true },
      log_level: 'warn',
    };
    await writeFile(join(workdir, 'server.json'), JSON.stringify(serverConfig, null, 2));
    meshgate('server', ['server', '-config-file', join(workdir, 'server.json')]);
    await until('the server', async () => ((await fetch(`${serverUrl}/v1/status/leader`)).ok ? true : undefined), 60_000, options.signal);

    // 2. Least-privilege tokens, configuration in KV, intentions.
    say('ACL policies and tokens, configuration in KV, intentions A→B, B→C allow and A→C deny');
    const policy = async (name: string, rules: string): Promise<string> =>
      ((await api('PUT', '/v1/acl/policy', { Name: name, Rules: rules })) as { ID: string }).ID;
    const token = async (description: string, policyId: string, secret?: string): Promise<string> =>
      ((await api('PUT', '/v1/acl/token', { Description: description, Policies: [{ ID: policyId }], ...(secret ? { SecretID: secret } : {}) })) as { SecretID: string }).SecretID;
    const agentPolicy = await policy('demo-agent', [
      'node_prefix "" { policy = "write" }', 'service_prefix "" { policy = "write" }', 'agent_prefix "" { policy = "write" }',
      'session_prefix "" { policy = "write" }', 'key_prefix "config/" { policy = "read" }',
    ].join('\n'));
    const readCatalog = await policy('demo-catalog-read', ['service_prefix "" { policy = "read" }', 'node_prefix "" { policy = "read" }'].join('\n'));
    const agentToken = await token('demo agent and sidecars', agentPolicy);
    const gatewayToken = await token('demo gateway (reads the catalog)', readCatalog);
    await token('DNS interface', readCatalog, dnsToken);
    await api('PUT', '/v1/kv/config/b/settings', JSON.stringify({ greeting: 'hello from KV', color: 'blue' }, null, 2));
    for (const [source, destination, action] of [['a', 'b', 'allow'], ['b', 'c', 'allow'], ['a', 'c', 'deny']] as const) {
      await api('PUT', `/v1/connect/intentions/exact?source=${source}&destination=${destination}`, { Action: action, Description: `demo: ${source} → ${destination}` });
    }

    // 3. The agent with A, B and C, their sidecars and checks, and B's configuration template.
    say(`agent on 127.0.0.1:${ports.agent} with services A, B, C and their sidecars`);
    const b = `${workdir}/b-config.json`;
    const service = (name: string, port: number, upstreams: Array<[string, number]>, tags: string[] = []): unknown => ({
      name, id: name, port, tags,
      meta: { tier: name === 'a' ? 'frontend' : 'backend', version: '1.0.0' },
      check: { name: `${name} HTTP health`, http: `http://127.0.0.1:${port}/health`, interval: '2s', timeout: '1s' },
      connect: {
        sidecar_service: {
          // A sidecar inherits its parent's tags unless it has its own: the gateway's router tags belong to the app.
          tags: ['sidecar'],
          proxy: { upstreams: upstreams.map(([destination_name, local_bind_port]) => ({ destination_name, local_bind_port })) },
        },
      },
    });
    const gatewayTags = [
      'traefik.enable=true',
      'traefik.http.routers.demo-a.rule=PathPrefix(`/a`)',
      'traefik.http.routers.demo-a.middlewares=demo-strip@file',
      'traefik.http.routers.demo-limited.rule=PathPrefix(`/limited`)',
      'traefik.http.routers.demo-limited.middlewares=demo-ratelimit@file,demo-strip@file',
      'traefik.http.routers.demo-secure.rule=PathPrefix(`/secure`)',
      'traefik.http.routers.demo-secure.middlewares=demo-jwt@file,demo-strip@file',
    ];
    const agentConfig = {
      node_name: 'demo-node',
      datacenter: 'dc1',
      data_dir: join(workdir, 'agent'),
      acl: { tokens: { agent: agentToken } },
      services: [
        service('a', ports.a, [['b', ports.aToB], ['c', ports.aToC]], gatewayTags),
        service('b', ports.b, [['c', ports.bToC]]),
        service('c', ports.c, []),
      ],
      template: [{ contents: '{{ key "config/b/settings" }}\n', destination: b }],
    };
    await writeFile(join(workdir, 'agent.json'), JSON.stringify(agentConfig, null, 2));
    meshgate('agent', ['agent', '-retry-join', `127.0.0.1:${ports.server}`, '-config-file', join(workdir, 'agent.json'),
      '-http-addr', `127.0.0.1:${ports.agent}`, '-data-dir', join(workdir, 'agent'), '-anti-entropy-interval', '30s']);

    // 4. The services themselves: each reports its hop and the next one's answer.
    say('services A → B → C (examples/services/hop.ts)');
    start('service-c', process.execPath, [HOP, '--name', 'c', '--port', String(ports.c)]);
    start('service-b', process.execPath, [HOP, '--name', 'b', '--port', String(ports.b), '--next', `http://127.0.0.1:${ports.bToC}/`, '--config-file', b]);
    start('service-a', process.execPath, [HOP, '--name', 'a', '--port', String(ports.a), '--next', `http://127.0.0.1:${ports.aToB}/`,
      '--call', `c=http://127.0.0.1:${ports.aToC}/`]);

    // 5. A legacy app and a real database on external nodes, checked by the server (no agent there).
    const redis = existsSync('/usr/bin/redis-server');
    say(`a legacy app${redis ? ' and Redis' : ''} registered as external services`);
    start('legacy', process.execPath, [HOP, '--name', 'inventory', '--id', 'inventory-legacy', '--port', String(ports.legacy)]);
    await api('PUT', '/v1/catalog/register', {
      Node: 'legacy-vm', Address: '127.0.0.1', NodeMeta: { 'external-node': 'true', 'external-probe': 'true' },
      Service: {
        ID: 'inventory-legacy', Service: 'inventory', Port: ports.legacy, Tags: ['legacy', 'vm', 'traefik.enable=true', 'traefik.http.routers.legacy.rule=PathPrefix(`/legacy`)', 'traefik.http.routers.legacy.middlewares=demo-strip@file'],
        Meta: { 'external-source': 'vm', runtime: 'java8' },
      },
      Checks: [{ CheckID: 'inventory-http', Name: 'inventory HTTP', ServiceID: 'inventory-legacy', Definition: { HTTP: `http://127.0.0.1:${ports.legacy}/health`, Interval: '5s', Timeout: '2s' } }],
    });
    if (redis) {
      start('redis', '/usr/bin/redis-server', ['--port', String(ports.redis), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
      await api('PUT', '/v1/catalog/register', {
        Node: 'db-host', Address: '127.0.0.1', NodeMeta: { 'external-node': 'true', 'external-probe': 'true' },
        Service: { ID: 'redis', Service: 'redis', Port: ports.redis, Tags: ['database'], Meta: { 'external-source': 'vm' } },
        Checks: [{ CheckID: 'redis-tcp', Name: 'redis TCP', ServiceID: 'redis', Definition: { TCP: `127.0.0.1:${ports.redis}`, Interval: '5s', Timeout: '2s' } }],
      });
    } else {
      progress('      Redis not installed (Debian package redis-server): the database part is skipped');
    }

    // 6. The Kubernetes half: D in an injected pod, its NodePort Service synced to the catalog.
    say(`Kubernetes: the connect injector, the endpoints controller and catalog sync; service D in an injected pod`);
    const kubernetes = await startKubernetesHalf({
      workdir, ports, managementToken, agentToken, hop: HOP, meshgate, start,
      api: (method, path, body) => api(method, path, body),
      until: (what, fn, deadlineMs) => until(what, fn, deadlineMs ?? 60_000, options.signal),
      onStop: (close) => closers.push(close),
    });

    // 7. A JWKS for the JWT route, and a token signed with it.
    say('a JWKS for the JWT-authenticated route');
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'demo', alg: 'ES256', use: 'sig' };
    const jwks = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
    await new Promise<void>((resolve) => jwks.listen(ports.jwks, '127.0.0.1', resolve));
    servers.push(jwks);
    const jwt = await new SignJWT({ sub: 'demo-user', scope: 'read' }).setProtectedHeader({ alg: 'ES256', kid: 'demo' })
      .setIssuer('meshgate-demo').setAudience('demo').setIssuedAt().setExpirationTime('24h').sign(privateKey);

    // 8. The gateway, outside the mesh, routing from catalog tags.
    say(`gateway on http://127.0.0.1:${ports.web} (dashboard on :${ports.dashboard})`);
    const dynamicFile = join(workdir, 'gateway-dynamic.yml');
    await writeFile(dynamicFile, `http:
  middlewares:
    demo-strip:
      stripPrefixRegex:
        regex: ["^/(a|limited|secure|legacy|k8s)"]
    demo-ratelimit:
      rateLimit:
        average: 5
        burst: 10
    demo-jwt:
      jwt:
        jwksUrl: "http://127.0.0.1:${ports.jwks}/jwks.json"
        issuer: meshgate-demo
        audience: demo
        forwardClaims:
          sub: X-User
`);
    await writeFile(join(workdir, 'gateway.yml'), `entryPoints:
  web:
    address: "127.0.0.1:${ports.web}"
  traefik:
    address: "127.0.0.1:${ports.dashboard}"
api:
  dashboard: true
  insecure: true
providers:
  file:
    filename: "${dynamicFile}"
  consulCatalog:
    endpoint:
      address: "127.0.0.1:${ports.server}"
      token: "${gatewayToken}"
    exposedByDefault: false
metrics:
  prometheus: {}
accessLog: {}
`);
    meshgate('gateway', ['gateway', '--config', join(workdir, 'gateway.yml'), '--workers', '1']);

    // 9. Wait until the mesh answers end to end through the gateway.
    say('waiting for health checks, sidecars and routes');
    const gatewayUrl = `http://127.0.0.1:${ports.web}`;
    await until('A → B → C through the gateway and both sidecar hops', async () => {
      const res = await fetch(`${gatewayUrl}/a/`);
      if (!res.ok) return undefined;
      const body = (await res.json()) as { next?: { service?: string; config?: { greeting?: string }; next?: { service?: string } } };
      return body.next?.service === 'b' && body.next.next?.service === 'c' && body.next.config?.greeting ? true : undefined;
    }, 90_000, options.signal);
    await until('the legacy route', async () => ((await fetch(`${gatewayUrl}/legacy/`)).ok ? true : undefined), 60_000, options.signal);
    await until('D (Kubernetes) → B → C through the gateway and the node port', async () => {
      const res = await fetch(`${gatewayUrl}/k8s/`);
      if (!res.ok) return undefined;
      const body = (await res.json()) as { service?: string; next?: { service?: string; next?: { service?: string } } };
      return body.service === 'd' && body.next?.service === 'b' && body.next.next?.service === 'c' ? true : undefined;
    }, 90_000, options.signal);

    say('ready');
    const curls = [
      { what: 'A → B → C through the gateway and two sidecar hops (B shows its config from KV)', args: [`${gatewayUrl}/a/`] },
      { what: 'A → C is denied by an intention: A reports the refused connection', args: [`${gatewayUrl}/a/call/c`] },
      { what: 'a rate-limited route (5 req/s, burst 10; more answers 429)', args: [`${gatewayUrl}/limited/`] },
      { what: 'a JWT-authenticated route (without the header: 401)', args: ['-H', `Authorization: Bearer ${jwt}`, `${gatewayUrl}/secure/`] },
      { what: 'the legacy app on an external node', args: [`${gatewayUrl}/legacy/`] },
      { what: 'D runs in Kubernetes (injected pod, NodePort synced to the catalog) and calls B through its sidecar', args: [`${gatewayUrl}/k8s/`] },
      { what: 'the pods of the demo\'s Kubernetes API (the injected sidecar is in the spec)', args: [`${kubernetes.apiUrl}/api/v1/namespaces/shop/pods`] },
      { what: 'healthy instances of B (the token is required: default deny)', args: ['-H', `X-Consul-Token: ${managementToken}`, `${serverUrl}/v1/health/service/b?passing`] },
      { what: 'B\'s configuration in KV', args: ['-H', `X-Consul-Token: ${managementToken}`, `${serverUrl}/v1/kv/config/b/settings?raw`] },
      { what: 'the gateway\'s routers', args: [`http://127.0.0.1:${ports.dashboard}/api/http/routers`] },
    ];
    return {
      workdir, ports, managementToken, jwt, redis, processes, curls, gatewayUrl, kubernetes,
      uiUrl: `${serverUrl}/ui/`,
      dashboardUrl: `http://127.0.0.1:${ports.dashboard}/dashboard/`,
      stop: () => stop(),
    };
  } catch (err) {
    // Keep the logs of a failed start: they are the only way to see why.
    await stop(true);
    throw new Error(`${(err as Error).message}; the processes' logs are in ${workdir}`, { cause: err });
  }
}

/** `curl` as a copy-pasteable line. */
export function curlLine(args: readonly string[]): string {
  return `curl -s ${args.map((a) => (/^[\w:/.?=&-]+$/.test(a) ? a : `'${a}'`)).join(' ')}`;
}

