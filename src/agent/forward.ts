/**
 * Every `/v1/*` request the agent does not answer itself goes to a server, as a Consul client agent forwards RPCs:
 * method, path, query, headers and body are passed on as they are (so tokens, `?index=&wait=` blocking queries,
 * `?dc=` and consistency modes behave as on the server) and the answer is streamed back with its `X-Consul-*`
 * headers. No timeout is added: a blocking query may legitimately hold for its whole wait. When no token is given,
 * `acl.tokens.default` is sent, as Consul's agent does. A server that cannot be reached answers 500 with Consul's
 * "No known Consul servers" text, and the next request tries the next server.
 */
import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Logger } from '../lib/logger.ts';
import type { ServerPool } from './server-pool.ts';

/** Hop-by-hop headers (RFC 9110 §7.6.1) stay on their own connection. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host']);

export function forwardToServer(req: IncomingMessage, res: ServerResponse, servers: ServerPool, defaultToken: string, log: Logger): void {
  const base = new URL(servers.address());
  const headers: OutgoingHttpHeaders = Object.create(null) as OutgoingHttpHeaders;
  for (const [name, value] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(name) && value !== undefined) headers[name] = value;
  const hasToken = req.headers['x-consul-token'] !== undefined || req.headers.authorization !== undefined || /[?&]token=/.test(req.url ?? '');
  if (!hasToken && defaultToken) headers['x-consul-token'] = defaultToken;
  headers.host = base.host;
  const send = base.protocol === 'https:' ? httpsRequest : httpRequest;
  const upstream = send({
    protocol: base.protocol, hostname: base.hostname, port: base.port, method: req.method, path: req.url, headers,
  }, (answer) => {
    const out: OutgoingHttpHeaders = Object.create(null) as OutgoingHttpHeaders;
    for (const [name, value] of Object.entries(answer.headers)) if (!HOP_BY_HOP.has(name) && value !== undefined) out[name] = value;
    res.writeHead(answer.statusCode ?? 502, out);
    answer.pipe(res);
    answer.once('error', () => res.destroy());
  });
  upstream.once('error', (err) => {
    log.warn({ server: base.host, err: err.message }, 'forwarding to server failed');
    servers.rotate();
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const body = 'No known Consul servers';
    res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  });
  // The client gave up (a blocking query's caller went away): stop waiting on the server too.
  res.once('close', () => {
    if (!res.writableFinished) upstream.destroy();
  });
  req.pipe(upstream);
}
