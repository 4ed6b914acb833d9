import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { waitFor } from '../testing/wait-for.ts';
import { recordingRunner } from './test-helpers.ts';

interface Target {
  server: Server;
  url: string;
  port: number;
  /** What the next responses should be. */
  status: number;
  body: string;
  requests: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: string }>;
  close(): Promise<void>;
}

async function httpTarget(handler?: (req: IncomingMessage, res: import('node:http').ServerResponse, t: Target) => boolean): Promise<Target> {
  const t = { status: 200, body: 'ok', requests: [] } as unknown as Target;
  t.server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      t.requests.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      if (handler?.(req, res, t)) return;
      res.writeHead(t.status, { 'content-type': 'text/plain' });
      res.end(t.body);
    });
  });
  await new Promise<void>((r) => t.server.listen(0, '127.0.0.1', r));
  t.port = (t.server.address() as AddressInfo).port;
  t.url = `http://127.0.0.1:${t.port}/health`;
  t.close = () =>
    new Promise<void>((r) => {
      t.server.close(() => r());
      t.server.closeAllConnections();
    });
  return t;
}

describe('HTTP checks', () => {
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('maps 200 to passing, 429 to warning, 500 to critical and a stopped target to critical', async () => {
    const t = await httpTarget();
    const rec = recordingRunner();
    cleanups.push(() => rec.runner.stop(), () => t.close());
    rec.runner.add({ CheckID: 'web', HTTP: t.url, Interval: 30 });

    const passing = await waitFor(() => rec.updates.find((u) => u.status === 'passing'), 'passing');
    assert.equal(passing.output, `HTTP GET ${t.url}: 200 OK Output: ok`);

    t.status = 429;
    t.body = 'slow down';
    const warning = await waitFor(() => rec.updates.find((u) => u.status === 'warning'), 'warning');
    assert.equal(warning.output, `HTTP GET ${t.url}: 429 Too Many Requests Output: slow down`);

    t.status = 500;
    t.body = 'boom';
    const critical = await waitFor(() => rec.updates.find((u) => u.status === 'critical'), 'critical');
    assert.equal(critical.output, `HTTP GET ${t.url}: 500 Internal Server Error Output: boom`);

    await t.close();
    const refused = await waitFor(() => rec.updates.find((u) => u.output.includes('connection refused')), 'connection refused');
    assert.equal(refused.status, 'critical');
    assert.equal(refused.output, `Get "${t.url}": dial tcp 127.0.0.1:${t.port}: connect: connection refused`);
    // Only changes were reported: no two neighbours are equal.
    for (let i = 1; i < rec.updates.length; i++) assert.notDeepEqual(rec.updates[i], rec.updates[i - 1]);
  });

  it('sends Method, Header, Body, Consul\'s User-Agent and Accept, and honours a Host header', async () => {
    const t = await httpTarget();
    const rec = recordingRunner();
    cleanups.push(() => rec.runner.stop(), () => t.close());
    rec.runner.add({
      CheckID: 'post',
      HTTP: t.url,
      Method: 'post',
      Header: { 'X-Probe': ['a', 'b'], Host: ['svc.example'] },
      Body: '{"ping":true}',
      Interval: 30,
    });
    const u = await waitFor(() => rec.last('post'), 'first result');
    assert.equal(u.status, 'passing');
    assert.equal(u.output, `HTTP POST ${t.url}: 200 OK Output: ok`);
    const req = t.requests[0]!;
    assert.equal(req.method, 'POST');
    assert.equal(req.body, '{"ping":true}');
    assert.equal(req.headers['x-probe'], 'a, b');
    assert.equal(req.headers.host, 'svc.example');
    assert.equal(req.headers['user-agent'], 'Consul Health Check');
    assert.equal(req.headers.accept, 'text/plain, text/*, */*');
    assert.equal(req.headers.connection, 'close');
  });

  it('keeps only the last 4 KiB of a large body', async () => {
    const t = await httpTarget();
    t.body = 'A'.repeat(1000) + 'B'.repeat(4096);
    const rec = recordingRunner();
    cleanups.push(() => rec.runner.stop(), () => t.close());
    rec.runner.add({ CheckID: 'big', HTTP: t.url, Interval: 50 });
    const u = await waitFor(() => rec.last('big'), 'result');
    assert.equal(u.output, `HTTP GET ${t.url}: 200 OK Output: ${'B'.repeat(4096)}`);
  });

  it('follows redirects, stops after 10 requests, and returns the 3xx with DisableRedirects', async () => {
    const t = await httpTarget((req, res) => {
      const m = /^\/hop\/(\d+)$/.exec(req.url!);
      if (m) {
        res.writeHead(302, { location: `/hop/${Number(m[1]) + 1}` });
        res.end();
        return true;
      }
      if (req.url === '/moved') {
        res.writeHead(301, { location: '/health' });
        res.end();
        return true;
      }
      return false;
    });
    const base = `http://127.0.0.1:${t.port}`;
    const rec = recordingRunner();
    cleanups.push(() => rec.runner.stop(), () => t.close());
    rec.runner.add({ CheckID: 'moved', HTTP: `${base}/moved`, Interval: 50 });
    rec.runner.add({ CheckID: 'loop', HTTP: `${base}/hop/1`, Interval: 50 });
    rec.runner.add({ CheckID: 'noredirect', HTTP: `${base}/moved`, Interval: 50, DisableRedirects: true });

    const moved = await waitFor(() => rec.last('moved'), 'moved');
    assert.equal(moved.status, 'passing');
    assert.equal(moved.output, `HTTP GET ${base}/moved: 200 OK Output: ok`);

    const loop = await waitFor(() => rec.last('loop'), 'loop');
    assert.equal(loop.status, 'critical');
    assert.equal(loop.output, `Get "${base}/hop/11": stopped after 10 redirects`);

    const noRedirect = await waitFor(() => rec.last('noredirect'), 'noredirect');
    assert.equal(noRedirect.status, 'critical');
    assert.match(noRedirect.output, /: 301 Moved Permanently Output: $/);
  });

  it('reports a timeout as critical with Go\'s client timeout text', async () => {
    const t = await httpTarget((_req, _res) => true); // never answers
    const rec = recordingRunner();
    cleanups.push(() => rec.runner.stop(), () => t.close());
    rec.runner.add({ CheckID: 'slow', HTTP: t.url, Interval: 50, Timeout: 100, Status: 'passing' });
    const u = await waitFor(() => rec.last('slow'), 'timeout');
    assert.equal(u.status, 'critical');
    assert.equal(u.output, `Get "${t.url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`);
  });

  it('reports an unparseable URL as critical at run time, as Consul does', async () => {
    const rec = recordingRunner();
    cleanups.push(() => rec.runner.stop());
    rec.runner.add({ CheckID: 'bad', HTTP: 'not a url', Interval: 50, Status: 'passing' });
    const u = await waitFor(() => rec.last('bad'), 'result');
    assert.equal(u.status, 'critical');
    assert.match(u.output, /^parse "not a url"/);
  });
});
