/**
 * Peer (a): node:http's server with our own upstream client (upstream-pool.ts) instead of undici: the request head is
 * written as one string built from `req.rawHeaders` (hop-by-hop fields left out), the response goes back through
 * `res.writeHead(status, reason, [name, value, …])` and `res.write`, so node:http frames the body again (a chunked
 * upstream body is decoded by the pool and chunked anew by node:http). `port upstream`.
 * What it omits: trailers (dropped), Upgrade and CONNECT (answered 400), 100-continue (Expect is passed on, the
 * upstream's 100 dropped), X-Forwarded-* fields, checks of upstream field values (node:http's writeHead checks them
 * and throws: answered 502), upstream timeouts, routing.
 */
import http from 'node:http';

// Exit, not die, on SIGTERM: --cpu-prof writes its profile on exit.
process.on('SIGTERM', () => process.exit(0));
import type { HeadFields } from './head-fields.ts';
import { UpstreamPool, type ResponseSink, type UpstreamConnection } from './upstream-pool.ts';

const [port, target] = [Number(process.argv[2]), process.argv[3]!];
const pool = new UpstreamPool(target, { raw: false, flat: true, strict: false, timeoutMs: 0, maxIdle: 256 });

/** Request fields a proxy does not pass on (RFC 9110 §7.6.1), plus Transfer-Encoding: node:http has decoded the body. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'upgrade', 'transfer-encoding']);

class Exchange implements ResponseSink {
  private req: http.IncomingMessage;
  private res: http.ServerResponse;
  private upstream: UpstreamConnection;
  private started = false;

  constructor(req: http.IncomingMessage, res: http.ServerResponse) {
    this.req = req;
    this.res = res;
    const raw = req.rawHeaders;
    let head = `${req.method} ${req.url} HTTP/1.1\r\n`;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      if (!HOP_BY_HOP.has(name.toLowerCase())) head += `${name}: ${raw[i + 1]}\r\n`;
    }
    const chunked = req.headers['content-length'] === undefined && req.headers['transfer-encoding'] !== undefined;
    if (chunked) head += 'transfer-encoding: chunked\r\n';
    head += '\r\n';
    const hasBody = chunked || Number(req.headers['content-length'] ?? 0) > 0;
    this.upstream = pool.acquire();
    this.upstream.send(head, this, req.method === 'HEAD', hasBody);
    if (hasBody) {
      req.on('data', (chunk: Buffer) => {
        if (chunked) this.upstream.write(`${chunk.length.toString(16)}\r\n`);
        this.upstream.write(chunk);
        if (chunked) this.upstream.write('\r\n');
      });
      req.on('end', () => {
        if (chunked) this.upstream.write('0\r\n\r\n');
        this.upstream.endRequest();
      });
    }
    res.on('drain', () => this.upstream.resume());
    res.on('close', () => {
      if (!res.writableFinished) this.upstream.abort();
    });
  }

  onResponseHead(status: number, statusLine: string, fields: HeadFields): void {
    this.started = true;
    try {
      this.res.writeHead(status, statusLine.slice(13, -2), fields.flat!);
    } catch {
      this.upstream.abort();
      this.res.writeHead(502).end('Bad Gateway\n');
    }
  }

  onBody(chunk: Buffer): void {
    if (!this.res.write(chunk)) this.upstream.pause();
  }

  onReadEnd(): void { /* node:http corks and uncorks by itself */ }

  onResponseEnd(): void {
    this.res.end();
  }

  onUpstreamError(_message: string, responseStarted: boolean): void {
    if (responseStarted || this.started) this.res.destroy();
    else this.res.writeHead(502, { 'content-type': 'text/plain' }).end('Bad Gateway\n');
  }
}

http.createServer((req, res) => {
  if (req.method === 'CONNECT' || req.headers.upgrade !== undefined) {
    res.writeHead(400).end();
    return;
  }
  new Exchange(req, res);
}).listen(port, '127.0.0.1', () => process.send?.('ready'));
