/**
 * Traefik v3.7's certificate-resolvers/tailscale.md (reference/install-configuration/tls/…, commit 21a4ca1fad46 in
 * fixtures/traefik-docs/manifest.json) on running gateways. The page: "Enabling Tailscale certificate resolution" —
 * `certificatesResolvers.myresolver.tailscale: {}` (YAML and TOML tabs); "Domain from Router's Rule" — a router whose
 * `tls.certResolver` names it gets the certificate for its `Host`; "Domain from Router's tls.domain" — with a rule
 * that names no host, for `tls.domains[].main`.
 *
 * The static snippets are used unchanged but for the addresses (`:80`/`:443` become loopback port 0); tailscaled is
 * the stand-in of tailscale-localapi.ts (tailscaled is neither in Debian nor on npm), reached through
 * MESHGATE_TAILSCALED_SOCKET so the page's `tailscale: {}` stays as written. The page's dynamic fragments name no
 * service (the page is about the certificate): each gets `service: app` so the router can answer.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import type { GatewayHandle } from '../../src/gateway/main.ts';
import { formatOf } from '../../src/gateway/config/parse.ts';
import { TAILSCALED_SOCKET_ENV } from '../../src/gateway/tailscale/schema.ts';
import { waitFor } from '../../src/lib/testing/wait-for.ts';
import { startUpstream, tempDir, type Upstream } from './helpers.ts';
import { gateway } from './docs-replay-tls-install-support.ts';
import { makeTestCa, startLocalApi, type LocalApi, type TestCa } from './tailscale-localapi.ts';

const fixtures = new URL('./fixtures/traefik-docs/', import.meta.url).pathname;
const snippet = (file: string) => readFileSync(join(fixtures, file), 'utf8');
const DOMAIN = 'monitoring.yak-bebop.ts.net';

let ca: TestCa;
let api: LocalApi;
let upstream: Upstream;
let serial: string;
before(async () => {
  const dir = await tempDir('mg-ts-docs-');
  ca = makeTestCa(dir);
  upstream = await startUpstream('app');
  api = await startLocalApi(join(dir, 'tailscaled.sock'));
  const pair = ca.issue(DOMAIN, 90);
  serial = pair.serial;
  api.serve(DOMAIN, pair);
  process.env[TAILSCALED_SOCKET_ENV] = api.socket;
});
after(async () => {
  delete process.env[TAILSCALED_SOCKET_ENV];
  await api?.close();
  await upstream?.close();
});

/** GET https://<DOMAIN>/metrics on `websecure`, verified against the test CA; the status and the certificate's serial. */
async function getMetrics(handle: GatewayHandle): Promise<{ status: number; serial: string }> {
  const { port } = handle.addresses().websecure!;
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: DOMAIN, ca: ca.caPem, ALPNProtocols: ['http/1.1'] }, () => {
      const got = socket.getPeerCertificate().serialNumber.toLowerCase();
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (text += chunk));
      socket.on('end', () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), serial: got }));
      socket.write(`GET /metrics HTTP/1.1\r\nHost: ${DOMAIN}\r\nConnection: close\r\n\r\n`);
    });
    socket.on('error', reject);
  });
}

const SERVICE = `  services:
    app:
      loadBalancer:
        servers:
          - url: "URL"
`;

/** A page's dynamic YAML fragment with `service: app` on its router and the test's service. */
function withService(fragment: string): string {
  const text = fragment.replace('    blog:\n', '    blog:\n      service: app\n');
  assert.notEqual(text, fragment);
  return `${text}${SERVICE.replace('URL', upstream.url)}`;
}

for (const [staticFile, dynamicFile] of [['tailscale.01.yaml', 'tailscale.03.yaml'], ['tailscale.02.toml', 'tailscale.05.yaml']] as const) {
  describe(`tailscale.md: ${staticFile} (static) with ${dynamicFile} (the router)`, () => {
    let handle: GatewayHandle;
    before(async () => {
      const dir = await tempDir('mg-ts-docs-run-');
      const staticText = snippet(staticFile).replace('":80"', '"127.0.0.1:0"').replace('":443"', '"127.0.0.1:0"');
      handle = await gateway(dir, staticText, withService(snippet(dynamicFile)), formatOf(staticFile) as 'yaml' | 'toml');
    });
    after(async () => {
      await handle?.close();
    });

    test('the resolver loads as the page writes it and the router serves the certificate tailscaled gives for its domain', async () => {
      assert.ok(handle.tailscale!.resolvers.has('myresolver'));
      const reply = await waitFor(async () => {
        const r = await getMetrics(handle).catch(() => undefined);
        return r?.serial === serial ? r : undefined;
      }, `the tailscale certificate for ${DOMAIN}`);
      assert.equal(reply.status, 200);
      assert.ok(api.certRequests().includes(DOMAIN));
    });
  });
}

// The page's TOML dynamic tabs (04, 06) say what the YAML ones (03, 05) say; they load through the same parser and
// give the same routers.
test('tailscale.md: the TOML router tabs are the YAML ones', async () => {
  const { parseConfigText } = await import('../../src/gateway/config/parse.ts');
  for (const [yaml, toml] of [['tailscale.03.yaml', 'tailscale.04.toml'], ['tailscale.05.yaml', 'tailscale.06.toml']] as const) {
    assert.deepEqual(parseConfigText(snippet(toml), 'toml', toml), parseConfigText(snippet(yaml), 'yaml', yaml));
  }
});
