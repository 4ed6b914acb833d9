/**
 * A real HTTP server on 127.0.0.1:0 whose answers a test scripts, recording every request it receives. Used to
 * prove the client's wire behaviour (headers, query strings, index following, retries) without a full server.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

export interface StubAnswer {
  status?: number;
  headers?: Record<string, string>;
  /** Objects are sent as JSON; strings and Buffers verbatim. */
  body?: unknown;
  /** Never answer (until the client gives up or the server closes). */
  hang?: boolean;
}

export type StubHandler = (req: RecordedRequest, raw: { req: IncomingMessage; res: ServerResponse }) => StubAnswer | Promise<StubAnswer>;

export interface StubServer {
  url: string;
  requests: RecordedRequest[];
  /** Resolves when a request matching `pred` has arrived (already-seen ones count). */
  waitFor(pred: (r: RecordedRequest) => boolean, timeoutMs?: number): Promise<RecordedRequest>;
  close(): Promise<void>;
}

export async function startStub(handler: StubHandler): Promise<StubServer> {
  const requests: RecordedRequest[] = [];
  const waiters: Array<{ pred: (r: RecordedRequest) => boolean; resolve: (r: RecordedRequest) => void }> = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://stub');
    const rec: RecordedRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers, body: Buffer.concat(chunks) };
    requests.push(rec);
    for (const w of [...waiters]) {
      if (w.pred(rec)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(rec);
      }
    }
    let answer: StubAnswer;
    try {
      answer = await handler(rec, { req, res });
    } catch (err) {
      answer = { status: 500, body: `stub handler failed: ${(err as Error).message}` };
    }
    if (answer.hang) return;
    if (res.writableEnded) return;
    const body = answer.body;
    const payload = body === undefined ? '' : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    const headers: Record<string, string> = { ...(typeof body === 'object' && !Buffer.isBuffer(body) ? { 'Content-Type': 'application/json' } : {}), ...answer.headers };
    res.writeHead(answer.status ?? 200, headers);
    res.end(payload);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    waitFor(pred, timeoutMs = 10_000) {
      const seen = requests.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`stub: no matching request within ${timeoutMs}ms`)), timeoutMs);
        waiters.push({ pred, resolve: (r) => { clearTimeout(timer); resolve(r); } });
      });
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
