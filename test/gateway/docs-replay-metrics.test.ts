/**
 * Traefik's push metrics backends, behind a running gateway, received by real listeners on 127.0.0.1: a UDP socket
 * for StatsD and DogStatsD, an HTTP server answering InfluxDB 2's /api/v2/write, an OTLP/HTTP (JSON) receiver and a
 * gRPC server on OTLP's metrics Export method. The metrics page's snippets (test/gateway/fixtures/traefik-docs/
 * metrics.*) load unchanged; one per backend is served with its address pointed at the listener.
 *
 * What is checked was read in traefik/traefik: pkg/metrics/statsd.go and datadog.go (names `entrypoint.request.total`,
 * `service.request.duration`, `open.connections`…, `<prefix>.` in front, default prefix "traefik"; go-kit's statsd
 * drops labels, dogstatsd sends them as tags; timings in milliseconds for StatsD, histograms in seconds for Datadog),
 * pkg/metrics/influxdb2.go (names `traefik.entrypoint.requests.total`…, go-kit's influx store: counters as field
 * `count`, histograms as `p50/p90/p95/p99`, additionalLabels as tags; no client without token, org and bucket),
 * pkg/metrics/otel.go (the Prometheus names, meter "github.com/traefik/traefik", explicitBoundaries on the duration
 * histograms, service.name resource; the HTTP exporter's path defaults to /v1/metrics) and
 * docs/content/reference/install-configuration/observability/metrics.md (defaults: localhost:8125, pushInterval 10s,
 * https://localhost:4318).
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createNetServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { gatewayToUpstream, get, startUpstream, tempDir, type Upstream } from './helpers.ts';
import { attrs, influxServer, named, otlpJsonReceiver, parseLine, total, udpListener, type OtlpMetric } from './metrics-receivers.ts';
import { formatOf, parseConfigText } from '../../src/gateway/config/parse.ts';
import { validateStaticConfig } from '../../src/gateway/config/static.ts';
import { otlpHttpMetricsUrl } from '../../src/gateway/metrics/otlp.ts';
import { loadPushMetrics } from '../../src/gateway/metrics/load.ts';
import { silentLogger } from '../../src/lib/logger.ts';
import { hostname } from 'node:os';
import { waitFor } from '../../src/lib/testing/wait-for.ts';

const docs = new URL('./fixtures/traefik-docs/', import.meta.url).pathname;
const snippet = (file: string) => readFileSync(join(docs, file), 'utf8');

let upstream: Upstream;
before(async () => {
  upstream = await startUpstream('A');
});
after(() => upstream.close());

/** A gateway routing everything to `app` (upstream A), with `metrics` (static YAML, top level) appended. */
const gatewayWith = (metrics: string) => gatewayToUpstream(upstream.url, metrics, 'mg-push-');

async function requests(web: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) assert.equal((await get(`${web}/x`)).status, 200);
}

/** A gateway with `metrics` serves `n` requests, then stops gracefully (which pushes what is pending). */
async function servedThenStopped(metrics: string, n: number): Promise<void> {
  const gw = await gatewayWith(metrics);
  try {
    await requests(gw.web, n);
  } finally {
    await gw.close();
  }
}

test('docs replay: the metrics page snippets for OTLP, Datadog, InfluxDB 2 and StatsD load (no longer "not supported")', () => {
  for (const file of ['metrics.01.yaml', 'metrics.02.toml', 'metrics.03.yaml', 'metrics.04.toml', 'metrics.05.yaml', 'metrics.06.toml', 'metrics.07.yaml', 'metrics.12.yaml']) {
    const config = validateStaticConfig(parseConfigText(snippet(file), formatOf(file)!, file), file);
    assert.ok(config.metrics, file);
  }
  // "The OpenTelemetry exporter will export metrics to the collector using HTTP by default to https://localhost:4318."
  const otlp = validateStaticConfig(parseConfigText(snippet('metrics.01.yaml'), 'yaml', 'metrics.01.yaml')).metrics!.otlp!;
  assert.equal(otlp.http, undefined);
  assert.equal(otlpHttpMetricsUrl('https://localhost:4318'), 'https://localhost:4318/v1/metrics');
  assert.equal(otlpHttpMetricsUrl('http://collector:4318/custom/path'), 'http://collector:4318/custom/path');
  assert.equal(otlp.pushInterval, 10_000);
  assert.equal(otlp.serviceName, 'traefik');
  assert.deepEqual(otlp.explicitBoundaries, [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]);
  const dd = validateStaticConfig(parseConfigText(snippet('metrics.03.yaml'), 'yaml', 'metrics.03.yaml')).metrics!.datadog!;
  assert.deepEqual(dd, { address: 'localhost:8125', prefix: 'traefik', addEntryPointsLabels: true, addRoutersLabels: false, addServicesLabels: true, pushInterval: 10_000 });
});

test('a bad push metrics option is refused naming its key', () => {
  assert.throws(() => validateStaticConfig({ metrics: { statsD: { pushInterval: 'soon' } } }), /metrics\.statsD\.pushInterval/);
  assert.throws(() => validateStaticConfig({ metrics: { otlp: { http: { endpoint: 'not a url' } } } }), /metrics\.otlp\.http\.endpoint/);
  assert.throws(() => validateStaticConfig({ metrics: { otlp: { http: { endpoint: 'http://c:4318', compression: 'gzip' } } } }), /compression/);
  assert.throws(() => validateStaticConfig({ metrics: { influxDB2: { adress: 'x' } } }), /adress/);
});

test('docs replay behaviour: metrics.12.yaml — StatsD lines with Traefik\'s names and prefix, no tags, durations as timings in ms', async () => {
  const udp = await udpListener();
  try {
    // The page's address pointed at the listener; the rest of the snippet unchanged (default 10s push: the
    // graceful stop pushes what is pending).
    await servedThenStopped(snippet('metrics.12.yaml').replace('localhost:8125', `127.0.0.1:${udp.port}`), 3);
    await waitFor(() => named(udp.lines, 'traefik.service.request.total').length > 0, 'the pushed metrics');
    assert.equal(total(named(udp.lines, 'traefik.entrypoint.request.total')), 3, udp.lines.join('\n'));
    assert.equal(total(named(udp.lines, 'traefik.service.request.total')), 3);
    const timings = named(udp.lines, 'traefik.entrypoint.request.duration');
    assert.equal(timings.length, 3);
    for (const t of timings) assert.equal(t.type, 'ms');
    assert.ok(total(named(udp.lines, 'traefik.entrypoint.responses.bytes.total')) > 0);
    // addRoutersLabels defaults to false: no router metrics.
    assert.equal(named(udp.lines, 'traefik.router.request.total').length, 0);
    for (const line of udp.lines) assert.ok(!line.includes('|#'), `StatsD lines carry no tags: ${line}`);
  } finally {
    udp.close();
  }
});

test('StatsD: prefix and addServicesLabels: false as configured; pushes every pushInterval without waiting for a stop', async () => {
  const udp = await udpListener();
  const gw = await gatewayWith(`metrics:
  statsD:
    address: "127.0.0.1:${udp.port}"
    prefix: edge
    addServicesLabels: false
    pushInterval: 50ms`);
  try {
    await requests(gw.web, 2);
    await waitFor(() => total(named(udp.lines, 'edge.entrypoint.request.total')) === 2, 'the pushed metrics');
    assert.equal(named(udp.lines, 'edge.service.request.total').length, 0);
    assert.equal(udp.lines.filter((l) => l.startsWith('traefik.')).length, 0);
  } finally {
    await gw.close();
    udp.close();
  }
});

test('docs replay behaviour: metrics.05.yaml — DogStatsD lines with Traefik\'s names and the labels as tags, durations as histograms in seconds', async () => {
  const udp = await udpListener();
  try {
    await servedThenStopped(`${snippet('metrics.05.yaml').replace('127.0.0.1:8125', `127.0.0.1:${udp.port}`)}    addRoutersLabels: true\n`, 3);
    await waitFor(() => named(udp.lines, 'traefik.service.request.total').length > 0, 'the pushed metrics');
    const ep = named(udp.lines, 'traefik.entrypoint.request.total');
    assert.equal(total(ep), 3, udp.lines.join('\n'));
    assert.deepEqual(ep[0]!.tags, { entrypoint: 'web', code: '200', method: 'GET', protocol: 'http' });
    assert.equal(ep[0]!.type, 'c');
    const router = named(udp.lines, 'traefik.router.request.total');
    assert.equal(total(router), 3);
    assert.deepEqual(router[0]!.tags, { router: 'app@file', service: 'app@file', code: '200', method: 'GET', protocol: 'http' });
    const svc = named(udp.lines, 'traefik.service.request.duration');
    assert.equal(svc.length, 3);
    for (const h of svc) {
      assert.equal(h.type, 'h');
      assert.deepEqual(h.tags, { service: 'app@file', code: '200', method: 'GET', protocol: 'http' });
      // Seconds: a loopback request is well under a minute (not a timing assertion: the unit is what is checked).
      assert.ok(h.value >= 0 && h.value < 60, String(h.value));
    }
    const open = named(udp.lines, 'traefik.open.connections');
    assert.ok(open.length > 0 && open.every((g) => g.type === 'g' && g.tags?.entrypoint !== undefined && g.tags.protocol === 'TCP'), udp.lines.join('\n'));
    assert.ok(named(udp.lines, 'traefik.config.reload.total').length > 0);
  } finally {
    udp.close();
  }
});

test('Datadog: a unixstream:// address sends the lines over a Unix stream socket', async () => {
  const dir = await tempDir('mg-dd-');
  const path = join(dir, 'dsd.socket');
  const received: string[] = [];
  const server = createNetServer((socket) => socket.on('data', (d: Buffer) => received.push(...d.toString('utf8').split('\n').filter((l) => l !== ''))));
  await new Promise<void>((resolve) => server.listen(path, resolve));
  try {
    await servedThenStopped(`metrics:\n  datadog:\n    address: "unixstream://${path}"\n`, 1);
    await waitFor(() => named(received, 'traefik.entrypoint.request.total').length > 0, 'the pushed metrics');
    assert.deepEqual(named(received, 'traefik.entrypoint.request.total')[0]!.tags, { entrypoint: 'web', code: '200', method: 'GET', protocol: 'http' });
  } finally {
    server.close();
  }
});

test('InfluxDB 2: line protocol to /api/v2/write?org=&bucket= with "Authorization: Token …", Traefik\'s names, count and p50–p99 fields, additionalLabels as tags', async () => {
  const influx = await influxServer();
  try {
    await servedThenStopped(`metrics:
  influxDB2:
    address: "${influx.address}"
    token: secret-token
    org: my-org
    bucket: my-bucket
    additionalLabels:
      host: edge-1
    pushInterval: 1h`, 3);
    await waitFor(() => influx.writes.length > 0, 'the pushed metrics');
    const w = influx.writes[0]!;
    assert.equal(w.url.pathname, '/api/v2/write');
    assert.equal(w.url.searchParams.get('org'), 'my-org');
    assert.equal(w.url.searchParams.get('bucket'), 'my-bucket');
    assert.equal(w.headers.authorization, 'Token secret-token');
    const points = influx.writes.flatMap((x) => x.lines).map(parseLine);
    const ep = points.find((p) => p.measurement === 'traefik.entrypoint.requests.total');
    assert.ok(ep, points.map((p) => p.measurement).join(','));
    assert.deepEqual(ep.tags, { code: '200', entrypoint: 'web', host: 'edge-1', method: 'GET', protocol: 'http' });
    assert.equal(ep.fields.count, 3);
    const duration = points.find((p) => p.measurement === 'traefik.service.request.duration');
    assert.ok(duration);
    assert.deepEqual(Object.keys(duration.fields).sort(), ['p50', 'p90', 'p95', 'p99']);
    assert.equal(duration.tags.service, 'app@file');
    assert.ok(points.some((p) => p.measurement === 'traefik.open.connections' && 'value' in p.fields));
  } finally {
    influx.close();
  }
});

test('docs replay behaviour: metrics.07.yaml — an address without token, org and bucket loads and serves, and (as Traefik) writes nothing', async () => {
  const influx = await influxServer();
  try {
    await servedThenStopped(snippet('metrics.07.yaml').replace('http://localhost:8086', influx.address), 1);
    assert.equal(influx.writes.length, 0);
  } finally {
    influx.close();
  }
});

test('OTLP over HTTP: Traefik\'s metric names, labels, explicitBoundaries, serviceName, resourceAttributes and headers reach the collector at <endpoint>/v1/metrics', async () => {
  const receiver = await otlpJsonReceiver();
  const bodies = receiver.bodies;
  try {
    await servedThenStopped(`metrics:
  otlp:
    serviceName: edge-gateway
    resourceAttributes:
      deployment.environment: test
    addRoutersLabels: true
    explicitBoundaries: [0.5, 5]
    pushInterval: 1h
    http:
      endpoint: "${receiver.endpoint}"
      headers:
        x-tenant: blue`, 3);
    await waitFor(() => bodies.length > 0, 'the pushed metrics');
    assert.equal(bodies[0]!.url, '/v1/metrics');
    assert.equal(bodies[0]!.headers['x-tenant'], 'blue');
    const rm = bodies[0]!.body.resourceMetrics[0];
    const resource = Object.fromEntries(rm.resource.attributes.map((a: { key: string; value: { stringValue?: string } }) => [a.key, a.value.stringValue]));
    assert.equal(resource['service.name'], 'edge-gateway');
    assert.equal(resource['deployment.environment'], 'test');
    assert.equal(rm.scopeMetrics[0].scope.name, 'github.com/traefik/traefik');
    const metrics = new Map<string, OtlpMetric>(rm.scopeMetrics.flatMap((s: { metrics: OtlpMetric[] }) => s.metrics).map((m: OtlpMetric) => [m.name, m]));
    const ep = metrics.get('traefik_entrypoint_requests_total');
    assert.ok(ep?.sum, [...metrics.keys()].join(','));
    assert.deepEqual(attrs(ep.sum.dataPoints[0]!), { entrypoint: 'web', code: '200', method: 'GET', protocol: 'http' });
    assert.equal(Number(ep.sum.dataPoints[0]!.asDouble ?? ep.sum.dataPoints[0]!.asInt), 3);
    const router = metrics.get('traefik_router_requests_total');
    assert.deepEqual(attrs(router!.sum!.dataPoints[0]!), { router: 'app@file', service: 'app@file', code: '200', method: 'GET', protocol: 'http' });
    const duration = metrics.get('traefik_service_request_duration_seconds');
    assert.equal(duration?.unit, 's');
    assert.deepEqual(duration!.histogram!.dataPoints[0]!.explicitBounds, [0.5, 5]);
    assert.equal(Number(duration!.histogram!.dataPoints[0]!.count), 3);
    assert.ok(metrics.has('traefik_open_connections'));
    assert.ok(metrics.has('traefik_config_reloads_total'));
  } finally {
    receiver.close();
  }
});

test('OTLP over gRPC: the exporter calls MetricsService/Export on an insecure endpoint with the metadata, carrying Traefik\'s names', async () => {
  const calls: Array<{ metadata: Record<string, unknown>; body: Buffer }> = [];
  const server = new grpc.Server();
  // The request is decoded only as far as needed: protobuf strings (metric names) are raw UTF-8 in the message.
  server.addService({
    Export: {
      path: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
      requestStream: false, responseStream: false,
      requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b,
      responseSerialize: () => Buffer.alloc(0), responseDeserialize: () => ({}),
    },
  }, {
    Export: (call: grpc.ServerUnaryCall<Buffer, object>, callback: grpc.sendUnaryData<object>) => {
      calls.push({ metadata: call.metadata.getMap(), body: call.request });
      callback(null, {});
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  try {
    await servedThenStopped(`metrics:
  otlp:
    grpc:
      endpoint: "127.0.0.1:${port}"
      insecure: true
      headers:
        x-tenant: green`, 1);
    await waitFor(() => calls.length > 0, 'the pushed metrics');
    assert.equal(calls[0]!.metadata['x-tenant'], 'green');
    const text = calls[0]!.body.toString('latin1');
    for (const name of ['traefik_entrypoint_requests_total', 'traefik_service_request_duration_seconds', 'github.com/traefik/traefik']) assert.ok(text.includes(name), name);
  } finally {
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  }
});

test('docs replay behaviour: metrics.01.yaml — `otlp: {}` serves requests and stops cleanly with no collector listening', async () => {
  await servedThenStopped(snippet('metrics.01.yaml'), 1);
});

test('without metrics.prometheus, push backends alone do not serve /metrics', async () => {
  const udp = await udpListener();
  const gw = await gatewayWith(`api:\n  insecure: true\nmetrics:\n  statsD:\n    address: "127.0.0.1:${udp.port}"`);
  try {
    await requests(gw.web, 1);
    assert.equal((await get(`${gw.admin}/metrics`)).status, 404);
  } finally {
    await gw.close();
    udp.close();
  }
});

test('an unreadable metrics.otlp TLS file stops the gateway from starting with MG_GATEWAY_METRICS_SETUP naming the key', async () => {
  await assert.rejects(gatewayWith(`metrics:
  otlp:
    http:
      endpoint: "https://127.0.0.1:9"
      tls:
        ca: /nonexistent/ca.pem`), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'MG_GATEWAY_METRICS_SETUP');
    assert.match(err.message, /http\.tls\.ca: cannot read \/nonexistent\/ca\.pem/);
    return true;
  });
});

test('OTLP resource: OTEL_RESOURCE_ATTRIBUTES is read (the page: "Traefik also supports the OTEL_RESOURCE_ATTRIBUTES env variable"), resourceAttributes win over it', async () => {
  const receiver = await otlpJsonReceiver();
  const saved = process.env.OTEL_RESOURCE_ATTRIBUTES;
  process.env.OTEL_RESOURCE_ATTRIBUTES = 'k8s.pod.name=edge-0,deployment.environment=from-env';
  try {
    await servedThenStopped(`metrics:\n  otlp:\n    resourceAttributes:\n      deployment.environment: from-config\n    http:\n      endpoint: "${receiver.endpoint}"`, 1);
    await waitFor(() => receiver.resources.length > 0, 'an OTLP export');
    const resource = receiver.resources[0]!;
    assert.equal(resource['k8s.pod.name'], 'edge-0');
    assert.equal(resource['deployment.environment'], 'from-config');
    assert.equal(resource['service.name'], 'traefik');
    assert.equal(resource['telemetry.sdk.language'], 'nodejs');
  } finally {
    if (saved === undefined) delete process.env.OTEL_RESOURCE_ATTRIBUTES;
    else process.env.OTEL_RESOURCE_ATTRIBUTES = saved;
    receiver.close();
  }
});

test('OTLP in a cluster worker: its resource names the process (service.instance.id), so two workers\' cumulative series stay apart', async () => {
  const receiver = await otlpJsonReceiver();
  try {
    const config = validateStaticConfig({ metrics: { otlp: { http: { endpoint: receiver.endpoint } } } });
    const sink = await loadPushMetrics(config.metrics, silentLogger(), { worker: true });
    sink!.request('web', undefined, 'app@file', 'GET', 'http', 200, 0.001, 0, 10);
    await sink!.close();
    await waitFor(() => receiver.resources.length > 0, 'an OTLP export');
    assert.equal(receiver.resources[0]!['service.instance.id'], `${hostname()}:${process.pid}`);
  } finally {
    receiver.close();
  }
});
