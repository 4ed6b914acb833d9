/** A real `meshgate server` on an ephemeral loopback port and a small HTTP helper for the catalog suites. */
import { startServer } from '../../../src/server/main.ts';
import type { RunningServer } from '../../../src/server/options.ts';

export interface Reply {
  status: number;
  text: string;
  index: number;
  headers: Headers;
  /** The body parsed as JSON (undefined when empty or not JSON). */
  json: any;
}

export interface TestServer extends RunningServer {
  req(method: string, path: string, body?: unknown): Promise<Reply>;
  get(path: string): Promise<Reply>;
  put(path: string, body?: unknown): Promise<Reply>;
}

export async function testServer(options: { dataDir?: string; nodeName?: string } = {}): Promise<TestServer> {
  const server = await startServer({
    dev: true,
    httpAddr: '127.0.0.1:0',
    nodeName: options.nodeName ?? 'server-1',
    datacenter: 'dc1',
    logLevel: 'silent',
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
  });
  const req = async (method: string, path: string, body?: unknown): Promise<Reply> => {
    const init: RequestInit = { method };
    if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
    const res = await fetch(server.url + path, init);
    const text = await res.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined; // a text/plain answer (errors, ?format=text)
    }
    return { status: res.status, text, index: Number(res.headers.get('x-consul-index') ?? 0), headers: res.headers, json };
  };
  return Object.assign(server, {
    req,
    get: (path: string) => req('GET', path),
    put: (path: string, body?: unknown) => req('PUT', path, body),
  });
}

/** How many blocking queries the server holds parked right now (its meshgate_blocking_queries_open gauge). */
export async function openBlockingQueries(s: TestServer): Promise<number> {
  const text = (await s.get('/v1/agent/metrics?format=prometheus')).text;
  const m = /^meshgate_blocking_queries_open (\d+)$/m.exec(text);
  if (!m) throw new Error('meshgate_blocking_queries_open missing from the metrics');
  return Number(m[1]);
}

/**
 * Starts a blocking GET and resolves once the server holds it parked, so a write that follows is a change the
 * query must wake on, not one it raced past: a server that ignored ?index would answer at once and fail `settled`.
 */
export async function parkedGet(s: TestServer, path: string): Promise<{ reply: Promise<Reply>; settled(): boolean }> {
  const before = await openBlockingQueries(s);
  let done = false;
  const reply = s.get(path).finally(() => (done = true));
  for (const end = Date.now() + 15_000; ;) {
    if (done) throw new Error(`${path} answered at once instead of blocking`);
    if ((await openBlockingQueries(s)) > before) break;
    if (Date.now() > end) throw new Error(`${path} never parked`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return { reply, settled: () => done };
}
