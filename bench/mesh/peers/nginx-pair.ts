/**
 * Peer for the mesh benchmark: a sidecar pair in C — two nginx processes (Debian's nginx; `stream` for L4, `http` for
 * L7) standing where our two sidecars stand and doing their transport job:
 *   - outbound (web's side): accepts plain TCP / HTTP from the client and originates TLS 1.3 to the inbound one,
 *     presenting web's leaf as client certificate (ngx_stream_proxy_module / ngx_http_proxy_module
 *     `proxy_ssl_certificate`) and verifying the inbound one's certificate against the Connect CA's roots
 *     (`proxy_ssl_verify`, `proxy_ssl_trusted_certificate`; the name checked, `proxy_ssl_name`, is the leaf's DNS SAN
 *     `<service>.svc.<ns>.<trust domain's first 8>.consul` as Consul and our CA put it there — verifyName());
 *   - inbound (the app's side): terminates TLS with the app's leaf, requires and verifies the client certificate
 *     against the same roots (ngx_stream_ssl_module / ngx_http_ssl_module `ssl_verify_client on`,
 *     `ssl_client_certificate`), then forwards in plain text to the app.
 * The L7 servers keep keep-alive upstream pools on both sides (`upstream { keepalive }`, HTTP/1.1, `Connection: ""`),
 * as our sidecars keep pooled connections.
 *
 * What nginx does not do that our sidecars do: it checks no SPIFFE ID (any leaf of the CA is accepted, whatever its
 * URI SAN says — only the chain and validity dates are verified), asks no intention, keeps no per-service metrics,
 * follows no discovery chain and no catalog (the addresses are fixed in its configuration), and its leaves do not
 * rotate. So it is a floor for the transport, not an equivalent sidecar.
 *
 * Each side runs as nginx does in production — a master and one worker (`worker_processes 1`, one core each, like a
 * Node sidecar) — and `pids` lists both, so CPU per request counts the pair whole.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Leaf { certPem: string; keyPem: string }

export interface NginxPairOptions {
  /** A directory of its own for the configuration, keys and logs. */
  dir: string;
  /** The app both rows forward to, plain TCP / HTTP/1.1 on 127.0.0.1. */
  appPort: number;
  /** Ports on 127.0.0.1, each free: the client-facing ones and the two mTLS ones between the pair. */
  ports: { l4: number; l7: number; l4Mesh: number; l7Mesh: number };
  /** The Connect CA's roots (PEM), trusted on both sides. */
  caPem: string;
  /** The outbound side's client certificate (web's leaf). */
  client: Leaf;
  /** The inbound side's server certificate and the name the outbound side checks (verifyName of it). */
  server: Leaf & { name: string };
}

export interface NginxPair {
  /** Where the client connects: plain TCP (L4 row) and plain HTTP (L7 row). */
  l4Port: number;
  l7Port: number;
  /** Master and worker of both sides. */
  pids: number[];
  children: ChildProcess[];
  stop(): void;
}

/** Debian builds the stream module as a dynamic one; a build with it compiled in has no such file. */
const STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';

function common(dir: string, side: string): string {
  return `${existsSync(STREAM_MODULE) ? `load_module ${STREAM_MODULE};\n` : ''}worker_processes 1;
pid ${dir}/${side}.pid;
error_log ${dir}/${side}-error.log warn;
events { worker_connections 4096; }
`;
}

function httpCommon(dir: string, side: string): string {
  return `access_log off; keepalive_requests 1000000; keepalive_timeout 300s;
  client_body_temp_path ${dir}/${side}-b; proxy_temp_path ${dir}/${side}-p; fastcgi_temp_path ${dir}/${side}-f;
  uwsgi_temp_path ${dir}/${side}-u; scgi_temp_path ${dir}/${side}-s;`;
}

/** The two configurations, returned for the test to read and written by startNginxPair. */
export function nginxPairConfigs(o: NginxPairOptions): { outbound: string; inbound: string } {
  const f = (name: string): string => join(o.dir, name);
  // Origination: the client certificate presented, the peer's chain and name verified against the roots.
  const originate = `proxy_ssl_protocols TLSv1.3;
    proxy_ssl_certificate ${f('client.crt')}; proxy_ssl_certificate_key ${f('client.key')};
    proxy_ssl_trusted_certificate ${f('ca.pem')}; proxy_ssl_verify on; proxy_ssl_verify_depth 1; proxy_ssl_name ${o.server.name};
    proxy_ssl_session_reuse on;`;
  // Termination: the client certificate required and verified against the roots.
  const terminate = `ssl_protocols TLSv1.3;
    ssl_certificate ${f('server.crt')}; ssl_certificate_key ${f('server.key')};
    ssl_client_certificate ${f('ca.pem')}; ssl_verify_client on; ssl_verify_depth 1;`;
  const outbound = `${common(o.dir, 'outbound')}
stream {
  server {
    listen 127.0.0.1:${o.ports.l4};
    proxy_pass 127.0.0.1:${o.ports.l4Mesh};
    proxy_ssl on;
    ${originate}
  }
}
http {
  ${httpCommon(o.dir, 'outbound')}
  upstream mesh { server 127.0.0.1:${o.ports.l7Mesh}; keepalive 64; keepalive_requests 1000000; keepalive_timeout 300s; }
  server {
    listen 127.0.0.1:${o.ports.l7};
    location / {
      proxy_pass https://mesh;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      ${originate}
    }
  }
}
`;
  const inbound = `${common(o.dir, 'inbound')}
stream {
  server {
    listen 127.0.0.1:${o.ports.l4Mesh} ssl;
    ${terminate}
    proxy_pass 127.0.0.1:${o.appPort};
  }
}
http {
  ${httpCommon(o.dir, 'inbound')}
  upstream app { server 127.0.0.1:${o.appPort}; keepalive 64; keepalive_requests 1000000; keepalive_timeout 300s; }
  server {
    listen 127.0.0.1:${o.ports.l7Mesh} ssl;
    ${terminate}
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
  return { outbound, inbound };
}

/**
 * The name nginx's `proxy_ssl_verify` is to check in the inbound side's leaf: its first DNS SAN, else its CN — what
 * OpenSSL's X509_check_host matches (it reads the CN only when the certificate has no DNS SAN).
 */
export function verifyName(certPem: string): string {
  const cert = new X509Certificate(certPem);
  const dns = /(?:^|, )DNS:([^,]+)/.exec(cert.subjectAltName ?? '');
  if (dns) return dns[1]!;
  const cn = /^CN=(.+)$/m.exec(cert.subject);
  if (!cn) throw new Error('the inbound leaf has neither a DNS SAN nor a CN for proxy_ssl_name to check');
  return cn[1]!;
}

/** Resolves once something accepts on the port, or rejects when `child` exits first (with its error log). */
async function listening(port: number, child: ChildProcess, errorLog: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const up = await new Promise<boolean>((done) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        done(true);
      }).once('error', () => done(false));
    });
    if (up) return;
    if (child.exitCode !== null || Date.now() > deadline) {
      const log = existsSync(errorLog) ? readFileSync(errorLog, 'utf8') : '(no error log)';
      throw new Error(`nginx (${errorLog}) ${child.exitCode !== null ? `exited with ${child.exitCode}` : 'did not listen'} on ${port}: ${log}`);
    }
    await sleep(50);
  }
}

/** The worker's pid: the master's only child (`worker_processes 1`). */
function workerOf(master: number): number[] {
  try {
    return readFileSync(`/proc/${master}/task/${master}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    // the master is gone (it failed after listening): no worker to count, and the run's check will say why
    return [];
  }
}

export async function startNginxPair(o: NginxPairOptions): Promise<NginxPair> {
  mkdirSync(o.dir, { recursive: true });
  writeFileSync(join(o.dir, 'ca.pem'), o.caPem);
  writeFileSync(join(o.dir, 'client.crt'), o.client.certPem);
  writeFileSync(join(o.dir, 'client.key'), o.client.keyPem, { mode: 0o600 });
  writeFileSync(join(o.dir, 'server.crt'), o.server.certPem);
  writeFileSync(join(o.dir, 'server.key'), o.server.keyPem, { mode: 0o600 });
  const configs = nginxPairConfigs(o);
  const children: ChildProcess[] = [];
  const stop = (): void => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  };
  try {
    for (const side of ['inbound', 'outbound'] as const) {
      const conf = join(o.dir, `${side}.conf`);
      writeFileSync(conf, configs[side]);
      const child = spawn('nginx', ['-p', o.dir, '-c', conf, '-g', 'daemon off;'], { stdio: 'ignore' });
      children.push(child);
      const errorLog = join(o.dir, `${side}-error.log`);
      if (side === 'inbound') {
        await listening(o.ports.l4Mesh, child, errorLog);
        await listening(o.ports.l7Mesh, child, errorLog);
      } else {
        await listening(o.ports.l4, child, errorLog);
        await listening(o.ports.l7, child, errorLog);
      }
    }
  } catch (err) {
    stop();
    throw err;
  }
  const pids = children.flatMap((c) => [c.pid!, ...workerOf(c.pid!)]);
  return { l4Port: o.ports.l4, l7Port: o.ports.l7, pids, children, stop };
}
