/**
 * Which certificates the expiry gauge (`traefik_tls_certs_not_after`) lists. Read in traefik/traefik:
 * cmd/traefik/traefik.go (the TLS listener: after tlsManager.UpdateConfigs, appendCertMetric for every certificate of
 * tlsManager.GetServerCertificates) and pkg/tls/tlsmanager.go GetServerCertificates: every certificate of the default
 * store — the store's certificate map is keyed by each certificate's own sorted domain list, so a certificate whose
 * names another one also covers is still there — plus the store's configured default certificate; never the generated
 * TRAEFIK DEFAULT CERT (it is the store's generatedCert, not its defaultCertificate). Routers play no part.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { waitFor } from '../../src/lib/testing/wait-for.ts';
import { makeCertificate, notAfterSeconds } from '../helpers/tls-fixture.ts';
import { get, startGateway, tempDir, writeAtomic } from './helpers.ts';

/** A TLS handshake without SNI: the gateway answers with its default certificate (making the generated one). */
function handshakeWithoutSni(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      socket.end();
      resolve();
    });
    socket.on('error', reject);
  });
}

const series = (text: string) => text.split('\n').filter((l) => l.startsWith('traefik_tls_certs_not_after{'));

test('the expiry gauge lists every certificate of the default store, shadowed ones too, and never the generated default certificate', async () => {
  const dir = await tempDir('mg-metrics-certs-');
  // `wide` covers a.example and b.example; `narrow` only a.example, which `wide` already serves for every SNI.
  const wide = makeCertificate(dir, 'wide', { cn: 'wide.example', sans: ['DNS:a.example', 'DNS:b.example'], serialHex: 'A1' });
  const narrow = makeCertificate(dir, 'narrow', { cn: 'narrow.example', sans: ['DNS:a.example'], serialHex: 'B2' });
  const dynamic = join(dir, 'dynamic.yml');
  const config = (extra: string) => `tls:
  certificates:
    - certFile: "${wide.certFile}"
      keyFile: "${wide.keyFile}"
    - certFile: "${narrow.certFile}"
      keyFile: "${narrow.keyFile}"
${extra}`;
  await writeFile(dynamic, config(''));
  await writeFile(join(dir, 'static.yml'), `entryPoints:
  web:
    address: "127.0.0.1:0"
  websecure:
    address: "127.0.0.1:0"
    http:
      tls: {}
  traefik:
    address: "127.0.0.1:0"
providers:
  providersThrottleDuration: 20ms
  file:
    filename: "${dynamic}"
    watch: true
api:
  insecure: true
metrics:
  prometheus: {}
`);
  const gw = await startGateway(join(dir, 'static.yml'));
  try {
    const metrics = async () => (await get(`http://127.0.0.1:${gw.addresses().traefik!.port}/metrics`)).text;
    const expected = [
      `traefik_tls_certs_not_after{cn="narrow.example",sans="a.example",serial="178"} ${notAfterSeconds(narrow.certFile)}`,
      `traefik_tls_certs_not_after{cn="wide.example",sans="a.example,b.example",serial="161"} ${notAfterSeconds(wide.certFile)}`,
    ];
    assert.deepEqual(series(await metrics()).sort(), expected);

    // The generated default certificate now exists; a reload (a new router) sets the gauge again without it.
    await handshakeWithoutSni(gw.addresses().websecure!.port);
    await writeAtomic(dynamic, config(`http:
  routers:
    r:
      rule: Host(\`x.example\`)
      service: noop@internal
`));
    await waitFor(async () => /^traefik_config_reloads_total 2$/m.test(await metrics()), 'the second configuration');
    assert.deepEqual(series(await metrics()).sort(), expected);
  } finally {
    await gw.close();
  }
});
