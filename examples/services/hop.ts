/**
 * One small HTTP service of the demo's A → B → C chain. Each answers with its own hop and, when it has a next hop
 * (an upstream's local bind address on its sidecar), the next hop's whole answer nested inside — so one `curl`
 * through the gateway shows the path a request took through the mesh:
 *
 *   {"service":"a","instance":"a-1","next":{"service":"b","config":{…},"next":{"service":"c"}}}
 *
 * Flags: --name, --id, --port (0 = any), --host (default 127.0.0.1), --next <url>, --call <name>=<url> (served at
 * `/call/<name>`, repeatable), --config-file <path> (read on
 * every request: the agent renders it from KV), --ready-file <path> (the port is written there once listening).
 * `/health` answers 200, or 503 after `PUT /admin/health?status=critical` (the demo's way to fail an instance).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    name: { type: 'string' },
    id: { type: 'string' },
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    next: { type: 'string' },
    'config-file': { type: 'string' },
    'ready-file': { type: 'string' },
    call: { type: 'string', multiple: true },
  },
});
/** `--call c=http://127.0.0.1:10003/`: `/call/c` calls that URL (another upstream) and reports what happened. */
const calls = new Map((values.call ?? []).map((spec) => [spec.slice(0, spec.indexOf('=')), spec.slice(spec.indexOf('=') + 1)]));
const name = values.name ?? 'service';
const id = values.id ?? `${name}-1`;
let healthy = true;

async function config(): Promise<unknown> {
  const file = values['config-file'];
  if (!file) return undefined;
  try {
    const text = await readFile(file, 'utf8');
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text.trim();
    }
  } catch (err) {
    return { error: `config file not rendered yet: ${(err as NodeJS.ErrnoException).code ?? String(err)}` };
  }
}

/**
 * One GET to the next hop on a fresh connection (no keep-alive): intentions are checked when a sidecar accepts a
 * connection, as Consul's are, so a pooled connection would carry on past a new deny. A fresh one per call lets the demo
 * show an intention change on the very next request.
 */
function nextHop(url: string | undefined): Promise<unknown> {
  if (!url) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const req = get(url, { agent: false, timeout: 5_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        if ((res.statusCode ?? 0) >= 400) return resolve({ error: `${url} answered ${res.statusCode}`, body: text.slice(0, 200) });
        try {
          resolve(JSON.parse(text) as unknown);
        } catch {
          resolve({ error: `${url} answered something that is not JSON`, body: text.slice(0, 200) });
        }
      });
      res.on('error', (err) => resolve({ error: `${url} refused or unreachable: ${err.message}` }));
    });
    // A sidecar refusing the connection (a deny intention) shows up here: the hop reports it rather than failing.
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: `${url} refused or unreachable: ${err.code ?? err.message}` }));
  });
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname === '/health') {
    res.writeHead(healthy ? 200 : 503, { 'content-type': 'text/plain' }).end(healthy ? 'ok' : 'critical (set by /admin/health)');
    return;
  }
  if (url.pathname === '/admin/health' && req.method === 'PUT') {
    healthy = url.searchParams.get('status') !== 'critical';
    res.writeHead(200, { 'content-type': 'text/plain' }).end(healthy ? 'passing' : 'critical');
    return;
  }
  void (async () => {
    const called = url.pathname.startsWith('/call/') ? url.pathname.slice('/call/'.length) : undefined;
    if (called !== undefined && !calls.has(called)) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(`${JSON.stringify({ service: name, error: `no upstream named ${called}` })}\n`);
      return;
    }
    const [cfg, next] = await Promise.all([config(), nextHop(called !== undefined ? calls.get(called) : values.next)]);
    const body = { service: name, instance: id, path: url.pathname, ...(cfg !== undefined ? { config: cfg } : {}), ...(next !== undefined ? { next } : {}) };
    res.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
  })();
});

server.listen(Number(values.port), values.host, () => {
  const { port } = server.address() as AddressInfo;
  console.log(`${id} listening on ${values.host}:${port}`);
  if (values['ready-file']) void writeFile(values['ready-file'], String(port));
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => server.close(() => process.exit(0)));
