/**
 * Traefik's TLS metrics in every backend: the per-scope counters of requests over TLS and the served certificates'
 * expiry gauge, in Prometheus, StatsD, DogStatsD, InfluxDB 2 and OTLP, received by real listeners on 127.0.0.1.
 *
 * Read in traefik/traefik: pkg/middlewares/metrics/metrics.go ServeHTTP (a request with req.TLS counts in the
 * scope's reqsTLSCounter with the scope's labels, then "tls_version" = pkg/tls GetVersion — "1.2" — and "tls_cipher"
 * = GetCipherName, Go's suite name), cmd/traefik/traefik.go appendCertMetric (gauge labels cn, serial as a decimal
 * big.Int, sans = sorted DNS names joined with ","; value NotAfter in Unix seconds, set for every certificate at each
 * reload), and the names: pkg/metrics/prometheus.go and otel.go (traefik_entrypoint_requests_tls_total,
 * traefik_tls_certs_not_after), statsd.go and datadog.go (entrypoint.request.tls.total, tls.certs.notAfterTimestamp),
 * influxdb2.go (traefik.entrypoint.requests.tls.total, traefik.tls.certs.notAfterTimestamp).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import https from 'node:https';
import { join } from 'node:path';
import { waitFor } from '../../src/lib/testing/wait-for.ts';
import { makeCertificate, notAfterSeconds } from '../helpers/tls-fixture.ts';
import { get, startGateway, startUpstream, tempDir, type Upstream } from './helpers.ts';
import { attrs, influxServer, named, otlpJsonReceiver, parseLine, total, udpListener, type OtlpMetric } from './metrics-receivers.ts';

let upstream: Upstream;
before(async () => {
  upstream = await startUpstream('A');
});
after(() => upstream?.close());

const SERIAL_HEX = '1234ABCD';
const SERIAL = BigInt(`0x${SERIAL_HEX}`).toString();
const CIPHER = 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256';

/** A self-signed certificate for tls.example and a.example with a known serial; its notAfter in Unix seconds. */
function certificate(dir: string): { cert: string; key: string; notAfter: number } {
  const made = makeCertificate(dir, 'tls', { cn: 'tls.example', sans: ['DNS:tls.example', 'DNS:a.example'], days: 2, serialHex: SERIAL_HEX });
  return { cert: made.certFile, key: made.keyFile, notAfter: notAfterSeconds(made.certFile) };
}

/** One HTTPS request over TLS 1.2 with a chosen suite (OpenSSL's name for CIPHER). */
function httpsGet(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1', port, path: '/x', servername: 'tls.example', rejectUnauthorized: false, agent: false,
      maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256',
    }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

test('TLS request counters and the certificate expiry gauge: Prometheus, StatsD, DogStatsD, InfluxDB 2 and OTLP with Traefik\'s names and labels', async () => {
  const dir = await tempDir('mg-metrics-tls-');
  const pki = certificate(dir);
  const statsd = await udpListener();
  const dog = await udpListener();
  const influx = await influxServer();
  const otlp = await otlpJsonReceiver();
  const dynamic = join(dir, 'dynamic.yml');
  await writeFile(dynamic, `http:
  routers:
    app:
      rule: PathPrefix(\`/\`)
      service: app
    app-tls:
      rule: PathPrefix(\`/\`)
      service: app
      tls: {}
  services:
    app:
      loadBalancer:
        servers:
          - url: "${upstream.url}"
tls:
  certificates:
    - certFile: "${pki.cert}"
      keyFile: "${pki.key}"
`);
  await writeFile(join(dir, 'static.yml'), `entryPoints:
  web:
    address: "127.0.0.1:0"
  websecure:
    address: "127.0.0.1:0"
  traefik:
    address: "127.0.0.1:0"
providers:
  file:
    filename: "${dynamic}"
api:
  insecure: true
metrics:
  prometheus:
    addRoutersLabels: true
  statsD:
    address: "127.0.0.1:${statsd.port}"
    pushInterval: 1h
  datadog:
    address: "127.0.0.1:${dog.port}"
    addRoutersLabels: true
    pushInterval: 1h
  influxDB2:
    address: "${influx.address}"
    token: t
    org: o
    bucket: b
    pushInterval: 1h
  otlp:
    pushInterval: 1h
    http:
      endpoint: "${otlp.endpoint}"
`);
  const gw = await startGateway(join(dir, 'static.yml'));
  try {
    const port = gw.addresses().websecure!.port;
    assert.equal(await httpsGet(port), 200);
    assert.equal(await httpsGet(port), 200);
    // A plain request is not counted as TLS.
    assert.equal((await get(`http://127.0.0.1:${gw.addresses().web!.port}/x`)).status, 200);
    const text = (await get(`http://127.0.0.1:${gw.addresses().traefik!.port}/metrics`)).text;
    assert.match(text, new RegExp(`^traefik_entrypoint_requests_tls_total\\{entrypoint="websecure",tls_cipher="${CIPHER}",tls_version="1\\.2"\\} 2$`, 'm'), text);
    assert.match(text, new RegExp(`^traefik_router_requests_tls_total\\{router="app-tls@file",service="app@file",tls_cipher="${CIPHER}",tls_version="1\\.2"\\} 2$`, 'm'));
    assert.match(text, new RegExp(`^traefik_service_requests_tls_total\\{service="app@file",tls_cipher="${CIPHER}",tls_version="1\\.2"\\} 2$`, 'm'));
    assert.doesNotMatch(text, /requests_tls_total\{entrypoint="web"/);
    assert.match(text, new RegExp(`^traefik_tls_certs_not_after\\{cn="tls\\.example",sans="a\\.example,tls\\.example",serial="${SERIAL}"\\} ${pki.notAfter}$`, 'm'));
  } finally {
    // The graceful stop pushes what is pending (pushInterval 1h).
    await gw.close();
  }
  try {
    await waitFor(() => named(statsd.lines, 'traefik.entrypoint.request.tls.total').length > 0 && named(dog.lines, 'traefik.entrypoint.request.tls.total').length > 0,
      'the StatsD and DogStatsD lines');
    assert.equal(total(named(statsd.lines, 'traefik.entrypoint.request.tls.total')), 2, statsd.lines.join('\n'));
    assert.equal(total(named(statsd.lines, 'traefik.service.request.tls.total')), 2);
    assert.deepEqual(named(statsd.lines, 'traefik.tls.certs.notAfterTimestamp').map((l) => [l.type, l.value]), [['g', pki.notAfter]]);

    const ep = named(dog.lines, 'traefik.entrypoint.request.tls.total');
    assert.equal(total(ep), 2, dog.lines.join('\n'));
    assert.deepEqual(ep[0]!.tags, { entrypoint: 'websecure', tls_version: '1.2', tls_cipher: CIPHER });
    assert.deepEqual(named(dog.lines, 'traefik.router.request.tls.total')[0]!.tags, { router: 'app-tls@file', service: 'app@file', tls_version: '1.2', tls_cipher: CIPHER });
    // go-kit's dogstatsd (metrics/dogstatsd/dogstatsd.go tagValues) joins `label:value` pairs with "," and escapes
    // nothing, so Traefik's sans value "a.example,tls.example" reaches the agent as is — which reads the part after
    // the comma as a second, bare tag. Meshgate writes the same bytes, so dashboards built on Traefik's series match.
    const cert = dog.lines.filter((l) => l.startsWith('traefik.tls.certs.notAfterTimestamp:'));
    assert.deepEqual(cert, [`traefik.tls.certs.notAfterTimestamp:${pki.notAfter}|g|#cn:tls.example,serial:${SERIAL},sans:a.example,tls.example`]);

    await waitFor(() => influx.writes.length > 0, 'the InfluxDB write');
    const points = influx.writes.flatMap((w) => w.lines).map(parseLine);
    const tlsPoint = points.find((p) => p.measurement === 'traefik.entrypoint.requests.tls.total');
    assert.ok(tlsPoint, points.map((p) => p.measurement).join(','));
    assert.deepEqual(tlsPoint.tags, { entrypoint: 'websecure', tls_cipher: CIPHER, tls_version: '1.2' });
    assert.equal(tlsPoint.fields.count, 2);
    const certPoint = points.find((p) => p.measurement === 'traefik.tls.certs.notAfterTimestamp');
    assert.deepEqual(certPoint?.fields, { value: pki.notAfter });

    await waitFor(() => otlp.bodies.length > 0, 'the OTLP export');
    const metrics = new Map<string, OtlpMetric>(otlp.bodies.flatMap((b) => b.body.resourceMetrics)
      .flatMap((rm: { scopeMetrics: Array<{ metrics: OtlpMetric[] }> }) => rm.scopeMetrics.flatMap((s) => s.metrics)).map((m: OtlpMetric) => [m.name, m]));
    const otlpTls = metrics.get('traefik_entrypoint_requests_tls_total');
    assert.ok(otlpTls?.sum, [...metrics.keys()].join(','));
    assert.deepEqual(attrs(otlpTls.sum.dataPoints[0]!), { entrypoint: 'websecure', tls_version: '1.2', tls_cipher: CIPHER });
    assert.equal(Number(otlpTls.sum.dataPoints[0]!.asDouble ?? otlpTls.sum.dataPoints[0]!.asInt), 2);
    const otlpCert = metrics.get('traefik_tls_certs_not_after');
    assert.ok(otlpCert?.gauge);
    assert.deepEqual(attrs(otlpCert.gauge.dataPoints[0]!), { cn: 'tls.example', serial: SERIAL, sans: 'a.example,tls.example' });
    assert.equal(Number(otlpCert.gauge.dataPoints[0]!.asDouble ?? otlpCert.gauge.dataPoints[0]!.asInt), pki.notAfter);
  } finally {
    statsd.close();
    dog.close();
    influx.close();
    otlp.close();
  }
});
