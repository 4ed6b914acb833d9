/**
 * OCSP stapling on TLS that a TCP router terminates (`tcp.routers.<r>.tls` without passthrough), as on HTTPS routers.
 * Traefik terminates both with one tls.Config from its TLS manager (pkg/server/router/tcp/router.go: a TLS router's
 * connection goes through `tls.Server(conn, tlsConfig)` built by pkg/tls/tlsmanager.go Get, whose GetCertificate
 * serves the store's certificates — the stapled ones, pkg/tls/ocsp.go); so a terminated TCP connection carries the
 * staple too. Checked with `openssl s_client -status` against openssl's own OCSP responder (test/helpers/ocsp-pki.ts).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net, { type AddressInfo } from 'node:net';
import { waitFor } from '../../src/lib/testing/wait-for.ts';
import { tempDir } from './helpers.ts';
import { gateway } from './docs-replay-tls-install-support.ts';
import { startOcspPki, type OcspPki } from '../helpers/ocsp-pki.ts';

let pki: OcspPki;
let echo: net.Server;
before(async () => {
  pki = await startOcspPki();
  echo = net.createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
});
after(async () => {
  await pki?.close();
  await new Promise<void>((resolve) => (echo ? echo.close(() => resolve()) : resolve()));
});

/** What `openssl s_client -status` prints for a handshake with `servername` (none: no SNI) after sending `line` (stdout and stderr). */
function sClient(port: number, servername: string | undefined, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sni = servername === undefined ? ['-noservername'] : ['-servername', servername];
    const child = spawn('openssl', ['s_client', '-status', '-connect', `127.0.0.1:${port}`, ...sni], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    // Ended once the echo came back (s_client prints what it receives, not what it sends) (or after a generous wait): s_client closes on end of input.
    const timer = setTimeout(() => child.stdin.end(), 20_000);
    child.stdout.on('data', () => {
      if (out.includes(`${line}\n`)) child.stdin.end();
    });
    child.stdin.write(`${line}\n`);
    child.once('error', reject);
    child.once('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

function staticYaml(withOcsp: boolean): string {
  return `${withOcsp ? 'ocsp: {}\n' : ''}entryPoints:\n  websecure:\n    address: "127.0.0.1:0"\n`;
}

/** A TCP router for `host` terminating TLS to the echo server; by default the `good` certificate in the store. */
function dynamicYaml(host = 'good.example', tls = `  certificates:
    - certFile: "${pki.chain('good')}"
      keyFile: "${pki.key('good')}"
`): string {
  const port = (echo.address() as AddressInfo).port;
  return `tcp:
  routers:
    echo:
      entryPoints: [websecure]
      rule: "HostSNI(\`${host}\`)"
      service: echo
      tls: {}
  services:
    echo:
      loadBalancer:
        servers:
          - address: "127.0.0.1:${port}"
tls:
${tls}`;
}

test('a TCP router terminating TLS staples the certificate\'s good OCSP answer (openssl s_client -status)', async () => {
  const dir = await tempDir('mg-ocsp-tcp-');
  const gw = await gateway(dir, staticYaml(true), dynamicYaml());
  try {
    const port = gw.addresses().websecure!.port;
    const out = await waitFor(async () => {
      const text = await sClient(port, 'good.example', 'ping-through-tcp');
      return /Cert Status: good/.test(text) ? text : undefined;
    }, 'a stapled good OCSP answer on the TCP router\'s handshake', { deadlineMs: 60_000 });
    assert.match(out, /OCSP Response Status: successful/);
    assert.match(out, /subject=.*CN\s*=\s*good\.example/);
    // The TCP route, not an HTTP one, answered: the echo service sent the line back through the terminated TLS.
    assert.match(out, /^ping-through-tcp$/m);
  } finally {
    await gw.close();
  }
});

// Without SNI, Traefik's GetCertificate (pkg/tls/tlsmanager.go Get) hands the store's default certificate — the
// stapled one, as pkg/tls/ocsp.go staples every certificate of the store, the default included — and the HTTPS path
// here staples it too; a TCP router matching HostSNI(`*`) must do the same.
test('a TCP router terminating TLS for a client without SNI staples the default certificate\'s OCSP answer', async () => {
  const dir = await tempDir('mg-ocsp-tcp-');
  const gw = await gateway(dir, staticYaml(true), dynamicYaml('*', `  stores:
    default:
      defaultCertificate:
        certFile: "${pki.chain('fallback')}"
        keyFile: "${pki.key('fallback')}"
`));
  try {
    const gwPort = gw.addresses().websecure!.port;
    const out = await waitFor(async () => {
      const text = await sClient(gwPort, undefined, 'ping-without-sni');
      return /Cert Status: good/.test(text) ? text : undefined;
    }, 'a stapled good OCSP answer for the default certificate on a handshake without SNI', { deadlineMs: 60_000 });
    assert.match(out, /subject=.*CN\s*=\s*fallback\.example/);
    assert.match(out, /^ping-without-sni$/m);
  } finally {
    await gw.close();
  }
});

test('without the ocsp section the TCP router\'s handshake carries no staple (the control)', async () => {
  const dir = await tempDir('mg-ocsp-tcp-');
  const gw = await gateway(dir, staticYaml(false), dynamicYaml());
  try {
    const port = gw.addresses().websecure!.port;
    const out = await sClient(port, 'good.example', 'ping-through-tcp');
    assert.match(out, /OCSP response: no response sent/);
    assert.match(out, /subject=.*CN\s*=\s*good\.example/);
  } finally {
    await gw.close();
  }
});
