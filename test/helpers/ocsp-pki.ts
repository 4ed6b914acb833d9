/**
 * An OCSP PKI on loopback for the stapling tests (docs-replay-tls-install, ocsp-tcp): a CA, openssl's own responder
 * behind a node HTTP server, certificates naming it, and readers of what a handshake stapled.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { tempDir } from '../gateway/helpers.ts';

/**
 * A CA, an OCSP responder for it on loopback — openssl's own responder (`openssl ocsp -index … -reqin -respout`)
 * answering each POSTed request, behind a node HTTP server so that nothing listens beyond 127.0.0.1 — and
 * certificates naming it: `good` and `fallback` are valid, `revoked` is revoked, `overridden` names a responder
 * that does not exist (for responderOverrides). Each file holds the chain (leaf, CA) as Traefik's issuer lookup
 * expects it.
 */
export interface OcspPki {
  readonly dir: string;
  readonly responderUrl: string;
  readonly unreachableUrl: string;
  requests: number;
  readonly chain: (name: string) => string;
  readonly key: (name: string) => string;
  close(): Promise<void>;
}

export async function startOcspPki(): Promise<OcspPki> {
  const dir = await tempDir('mg-ocsp-');
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  let requests = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests++;
      pki.requests = requests;
      writeFileSync(join(dir, 'request.der'), Buffer.concat(chunks));
      try {
        openssl('ocsp', '-index', 'index.txt', '-CA', 'ca.crt', '-rsigner', 'ca.crt', '-rkey', 'ca.key', '-reqin', 'request.der', '-respout', 'response.der', '-ndays', '1');
        res.writeHead(200, { 'content-type': 'application/ocsp-response' });
        res.end(readFileSync(join(dir, 'response.der')));
      } catch {
        res.writeHead(500);
        res.end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const responderUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  // .invalid never resolves (RFC 6761): only a responderOverrides entry makes this certificate's status reachable.
  const unreachableUrl = 'http://ocsp.invalid/';
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=docs-ocsp-ca');
  const index: string[] = [];
  const expiry = `${new Date(Date.now() + 2 * 86_400_000).toISOString().replace(/[-:T]/g, '').slice(2, 14)}Z`;
  const revokedAt = `${new Date().toISOString().replace(/[-:T]/g, '').slice(2, 14)}Z`;
  for (const [name, url] of [['good', responderUrl], ['revoked', responderUrl], ['fallback', responderUrl], ['overridden', unreachableUrl]] as const) {
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}.example`,
      '-addext', `subjectAltName=DNS:${name}.example`, '-addext', `authorityInfoAccess=OCSP;URI:${url}`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-copy_extensions', 'copy');
    writeFileSync(join(dir, `${name}.chain.pem`), readFileSync(join(dir, `${name}.crt`), 'utf8') + readFileSync(join(dir, 'ca.crt'), 'utf8'));
    const serial = openssl('x509', '-in', `${name}.crt`, '-noout', '-serial').trim().split('=')[1];
    index.push(name === 'revoked' ? `R\t${expiry}\t${revokedAt}\t${serial}\tunknown\t/CN=${name}.example` : `V\t${expiry}\t\t${serial}\tunknown\t/CN=${name}.example`);
  }
  writeFileSync(join(dir, 'index.txt'), `${index.join('\n')}\n`);
  const pki: OcspPki = {
    dir, responderUrl, unreachableUrl, requests: 0,
    chain: (name) => join(dir, `${name}.chain.pem`),
    key: (name) => join(dir, `${name}.key`),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return pki;
}

/** The OCSP response stapled to a handshake for `servername` (a client sending status_request), or undefined. */
export function stapled(port: number, servername: string | undefined): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    let response: Buffer | undefined;
    const socket = tls.connect({ host: '127.0.0.1', port, ...(servername ? { servername } : {}), requestOCSP: true, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => socket.end());
    socket.on('OCSPResponse', (r: Buffer | null) => {
      if (r && r.length > 0) response = r;
    });
    socket.once('close', () => resolve(response));
    socket.once('error', reject);
  });
}

/** What openssl reads in a stapled response: the certificate status and serial (the response is checked against the CA). */
export function readStaple(pki: OcspPki, response: Buffer, name: string): { status: string; serial: string } {
  const file = join(pki.dir, `stapled-${name}.der`);
  writeFileSync(file, response);
  const text = execFileSync('openssl', ['ocsp', '-respin', file, '-resp_text', '-CAfile', join(pki.dir, 'ca.crt'), '-issuer', join(pki.dir, 'ca.crt'), '-cert', join(pki.dir, `${name}.crt`)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  }).toString();
  return { status: /: (good|revoked|unknown)\s*$/m.exec(text)?.[1] ?? text, serial: /Serial Number: ([0-9A-F]+)/.exec(text)?.[1] ?? '' };
}

export const serialOf = (pki: OcspPki, name: string) => execFileSync('openssl', ['x509', '-in', join(pki.dir, `${name}.crt`), '-noout', '-serial']).toString().trim().split('=')[1]!;
