/**
 * The shared setup of the agent's end-to-end files: a `meshgate server` child, a plain HTTP app, a config dir with
 * a JSON service (HTTP check, sidecar with an upstream, own token), an HCL service (TTL check) and a template block,
 * and a `meshgate agent` child reading it with a 1 s anti-entropy interval and a stand-in proxy command.
 */
import { after, before } from 'node:test';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../src/cli/main.ts';
import { freePort, spawnServer, tempDir, type ServerProcess } from '../helpers/server.ts';
import { getJson, spawnAgent, type AgentProcess } from './helpers.ts';

export const FIXTURES = join(import.meta.dirname, 'fixtures');
// Generous: the suite shares two cores with other work (load averages above 20 were seen); no timing is asserted.
export const WAIT = { deadlineMs: 90_000, intervalMs: 100 };

export interface CatalogService { ID: string; Service: string; Tags: string[]; Port: number; Kind?: string; Proxy?: Record<string, unknown> }
export interface CatalogNodeServices { Node: { Node: string; Meta: Record<string, string> } | null; Services: CatalogService[] | null }
export interface Check { CheckID: string; Status: string; Output: string; ServiceID: string; Name: string }

export interface AgentE2E {
  server: ServerProcess;
  agent: AgentProcess;
  appPort: number;
  appHealthy: boolean;
  dir: string;
  confDir: string;
  proxyLog: string;
  countFile: string;
  rendered: string;
  nodeServices(): Promise<CatalogNodeServices>;
  nodeChecks(): Promise<Check[]>;
  serviceIds(): Promise<string[]>;
  /** kill -9 of the server and a new one on the same address with a fresh data dir (an empty catalog). */
  replaceServer(): Promise<void>;
  cli(args: string[]): Promise<{ code: number; out: string }>;
}

/** Registers before/after hooks on the calling test file and returns the context they fill. */
export function agentE2E(prefix: string): AgentE2E {
  let app: Server;
  let serverPort = 0;
  let dataDirs = 0;
  const ctx = {
    appHealthy: true,
    async nodeServices() {
      return getJson<CatalogNodeServices>(`${ctx.server.url}/v1/catalog/node-services/vm-1`);
    },
    async nodeChecks() {
      return getJson<Check[]>(`${ctx.server.url}/v1/health/node/vm-1`);
    },
    async serviceIds() {
      return ((await ctx.nodeServices().catch(() => ({ Services: null }))).Services ?? []).map((s) => s.ID).sort();
    },
    async replaceServer() {
      await ctx.server.kill9();
      ctx.server = await spawnServer(join(ctx.dir, `server-${++dataDirs}`), serverPort, ['--dns-port', '-1']);
    },
    async cli(args: string[]) {
      let out = '';
      const code = await main(args, { out: (s) => (out += s), err: (s) => (out += s), env: {}, readStdin: async () => Buffer.alloc(0) });
      return { code, out };
    },
  } as AgentE2E;
  let tmp: ReturnType<typeof tempDir>;

  before(async () => {
    tmp = tempDir(prefix);
    Object.assign(ctx, {
      dir: tmp.path, confDir: join(tmp.path, 'conf'), proxyLog: join(tmp.path, 'proxy.log'),
      countFile: join(tmp.path, 'count.txt'), rendered: join(tmp.path, 'out', 'app.conf'),
    });
    app = createServer((req, res) => {
      if (req.url === '/health' && !ctx.appHealthy) res.statusCode = 500;
      res.end(req.url === '/health' ? 'health' : 'app');
    });
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    ctx.appPort = (app.address() as { port: number }).port;
    mkdirSync(ctx.confDir);
    writeFileSync(join(ctx.confDir, 'web.json'), JSON.stringify({
      service: {
        name: 'web', port: ctx.appPort, tags: ['v1'], token: 'web-token',
        check: { id: 'web-http', http: `http://127.0.0.1:${ctx.appPort}/health`, interval: '1s' },
        connect: { sidecar_service: { proxy: { upstreams: [{ destination_name: 'db', local_bind_port: 9191 }] } } },
      },
    }));
    writeFileSync(join(ctx.confDir, 'api.hcl'), `
service {
  name = "api"
  port = 9000
  meta {
    version = "1"
  }
  check {
    id   = "api-ttl"
    name = "api heartbeat"
    ttl  = "30s"
  }
}
`);
    writeFileSync(join(ctx.confDir, 'template.json'), JSON.stringify({
      template: [{
        contents: 'port={{ key "app/port" }}\nmode={{ keyOrDefault "app/mode" "normal" }}\n',
        destination: ctx.rendered,
        command: [process.execPath, join(FIXTURES, 'count.mjs'), ctx.countFile],
        wait: { min: '200ms', max: '1s' },
      }],
    }));
    serverPort = await freePort();
    ctx.server = await spawnServer(join(ctx.dir, 'server-0'), serverPort, ['--dns-port', '-1']);
    ctx.agent = await spawnAgent([
      '-retry-join', ctx.server.url, '-config-dir', ctx.confDir, '-data-dir', join(ctx.dir, 'agent'), '-node-name', 'vm-1',
      '-anti-entropy-interval', '1s', '-proxy-command', join(FIXTURES, 'fake-proxy.sh'),
    ], { FAKE_PROXY_LOG: ctx.proxyLog });
  });

  after(async () => {
    await ctx.agent?.stop();
    await ctx.server?.stop();
    app?.closeAllConnections();
    app?.close();
    // A sleeping stand-in proxy must not outlive the test, even if the agent failed to stop it.
    if (ctx.proxyLog && existsSync(ctx.proxyLog)) {
      for (const m of readFileSync(ctx.proxyLog, 'utf8').matchAll(/pid=(\d+)/g)) {
        try {
          process.kill(Number(m[1]), 'SIGKILL');
        } catch {
          // already gone: what we want
        }
      }
    }
    tmp?.remove();
  });
  return ctx;
}
