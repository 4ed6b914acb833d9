/**
 * A stand-in for tailscaled's LocalAPI, for test/gateway/tailscale*.test.ts. tailscaled is neither in Debian nor on
 * npm, so — the same exception the Kubernetes API server gets — the tests speak to this small server instead. It
 * answers what github.com/tailscale/tscert's CertPair asks (tscert.go: `send` → `GET
 * http://local-tailscaled.sock/localapi/v0/cert/<domain>?type=pair` through its unix-socket dialer; CertPair splits
 * the body at "--\n--", key first) and refuses what tailscaled's LocalAPI handler refuses (a Host other than
 * `local-tailscaled.sock`, an Origin or Referer header: 403). Certificates are signed by a test CA made with openssl,
 * with the validity a test asks for.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { join } from 'node:path';

export interface LocalApiRequest {
  readonly method: string;
  readonly path: string;
  readonly host: string | undefined;
}

export interface TestCa {
  readonly dir: string;
  readonly caPem: string;
  /** A key and a certificate for `domain` signed by the CA, valid `days` from now; returns the pair and the serial. */
  issue(domain: string, days: number): { keyPem: string; certPem: string; serial: string };
}

/** A test CA in `dir` (EC P-256, for speed). */
export function makeTestCa(dir: string): TestCa {
  const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '30', '-subj', '/CN=Meshgate test tailnet CA',
    '-keyout', 'ca.key', '-out', 'ca.pem']);
  let n = 0;
  return {
    dir,
    caPem: readFileSync(join(dir, 'ca.pem'), 'utf8'),
    issue(domain, days) {
      const base = `leaf-${++n}`;
      openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${domain}`, '-keyout', `${base}.key`, '-out', `${base}.csr`]);
      writeFileSync(join(dir, `${base}.ext`), `subjectAltName=DNS:${domain}\nextendedKeyUsage=serverAuth\n`);
      openssl(['x509', '-req', '-in', `${base}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', String(days), '-extfile', `${base}.ext`, '-out', `${base}.pem`]);
      const serial = openssl(['x509', '-noout', '-serial', '-in', `${base}.pem`]).trim().replace(/^serial=/, '').toLowerCase();
      return { keyPem: readFileSync(join(dir, `${base}.key`), 'utf8'), certPem: readFileSync(join(dir, `${base}.pem`), 'utf8'), serial };
    },
  };
}

export interface LocalApi {
  readonly socket: string;
  /** Every request, in order. */
  readonly requests: LocalApiRequest[];
  /** The domains asked for with `type=pair`, in order. */
  certRequests(): string[];
  /** What every later request for `domain` gets: a key and certificate, or an error status and body. */
  serve(domain: string, answer: { keyPem: string; certPem: string } | { status: number; body: string }): void;
  close(): Promise<void>;
}

function refuse(req: IncomingMessage): string | undefined {
  if (req.headers.host !== 'local-tailscaled.sock') return 'invalid localapi request (Host)';
  if (req.headers.origin !== undefined || req.headers.referer !== undefined) return 'invalid localapi request (Origin/Referer)';
  return undefined;
}

/** Listens on `socket` (a path in a temporary directory). */
export async function startLocalApi(socket: string): Promise<LocalApi> {
  const requests: LocalApiRequest[] = [];
  const answers = new Map<string, { keyPem: string; certPem: string } | { status: number; body: string }>();
  const server: Server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', path: req.url ?? '', host: req.headers.host });
    const refused = refuse(req);
    if (refused) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end(refused);
      return;
    }
    const url = new URL(req.url ?? '/', 'http://local-tailscaled.sock');
    const match = /^\/localapi\/v0\/cert\/([^/]+)$/.exec(url.pathname);
    if (req.method !== 'GET' || !match || url.searchParams.get('type') !== 'pair') {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not found' }));
      return;
    }
    const answer = answers.get(decodeURIComponent(match[1]!));
    if (answer === undefined) {
      // tailscaled's answer for a name outside the tailnet's cert domains.
      res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: `invalid domain "${match[1]}"; must be one of []` }));
    } else if ('status' in answer) {
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
    } else {
      res.writeHead(200, { 'content-type': 'text/plain' }).end(answer.keyPem + answer.certPem);
    }
  });
  rmSync(socket, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socket, () => resolve());
  });
  return {
    socket,
    requests,
    certRequests: () => requests.map((r) => /^\/localapi\/v0\/cert\/([^/?]+)\?type=pair$/.exec(r.path)?.[1]).filter((d): d is string => d !== undefined),
    serve: (domain, answer) => answers.set(domain, answer),
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
