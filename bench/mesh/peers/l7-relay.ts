/**
 * Peer for the mesh benchmark's L7 row: the smallest Node HTTP relay pair — `node:http` in, a keep-alive agent out,
 * bodies piped, headers passed as parsed, nothing else (no routing, intentions, metrics or logs). `client` serves
 * plain HTTP and forwards over HTTPS (TLS 1.3, our leaf as client certificate) to the `server` relay, which requires
 * a client certificate chaining to the CA roots and forwards in plain HTTP to the app. Listens on an ephemeral port
 * and sends it to the parent.
 *
 *   node l7-relay.ts client|server <target port> <tls.json: {key, cert, ca[]}>
 */
import { readFileSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

const [role, targetPort, tlsFile] = [process.argv[2], Number(process.argv[3]), process.argv[4]!];
const tls = JSON.parse(readFileSync(tlsFile, 'utf8')) as { key: string; cert: string; ca: string[] };

const agent = role === 'client'
  ? new https.Agent({ keepAlive: true, maxFreeSockets: 256, ...tls, minVersion: 'TLSv1.3', checkServerIdentity: () => undefined })
  : new http.Agent({ keepAlive: true, maxFreeSockets: 256 });
const request = role === 'client' ? https.request : http.request;

function relay(req: IncomingMessage, res: ServerResponse): void {
  const up = request({ host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers, agent }, (upRes) => {
    res.writeHead(upRes.statusCode ?? 502, upRes.headers);
    upRes.pipe(res);
  });
  up.on('error', () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  req.pipe(up);
}

const server = role === 'client'
  ? http.createServer({ keepAliveTimeout: 60_000, noDelay: true }, relay)
  : https.createServer({ ...tls, minVersion: 'TLSv1.3', requestCert: true, rejectUnauthorized: true, keepAliveTimeout: 60_000, noDelay: true }, relay);
server.listen(0, '127.0.0.1', () => process.send?.((server.address() as AddressInfo).port));
// A normal exit on the bench's SIGTERM, so `--cpu-prof` writes its profile.
process.on('SIGTERM', () => process.exit(0));
