/**
 * Push metrics of a 2-worker gateway (node:cluster). Each worker pushes its own request counters (deltas add up at the
 * backend); the gateway-wide series — Traefik's "Global Metrics" (docs/content/observability/metrics/overview.md:
 * config reload total and last success, open connections by entrypoint and protocol, TLS certs not after; one
 * registry per process in pkg/metrics/datadog.go and influxdb2.go) — describe the whole gateway, which in Traefik is
 * one process. Pushed by every worker under the same series, the backend showed whichever worker came last (half the
 * open connections here) and counted each reload once per worker. Real receivers: a UDP socket for the DogStatsD
 * lines, an HTTP server for InfluxDB 2's writes and an OTLP/HTTP (JSON) receiver.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { eventually, fileProviderStaticYaml, get, startGateway, startUpstream, tempDir, writeAtomic } from './helpers.ts';
import { attrs, influxServer, named, otlpJsonReceiver, parseLine, total, udpListener, type OtlpMetric } from './metrics-receivers.ts';

const routeTo = (url: string, name: string) => `
http:
  routers:
    ${name}:
      rule: PathPrefix(\`/\`)
      service: app
  services:
    app:
      loadBalancer:
        servers:
          - url: "${url}"
`;

test('2 workers: open connections are the gateway\'s sum and a reload counts once, in DogStatsD, InfluxDB 2 and OTLP', async () => {
  const upstream = await startUpstream('A');
  const udp = await udpListener();
  const influx = await influxServer();
  const otlp = await otlpJsonReceiver();
  const dir = await tempDir('mg-gw-metrics-cluster-');
  await writeFile(join(dir, 'dynamic.yml'), routeTo(upstream.url, 'first'));
  await writeFile(join(dir, 'gateway.yml'), `${fileProviderStaticYaml(join(dir, 'dynamic.yml'))}api:
  insecure: true
metrics:
  datadog:
    address: "127.0.0.1:${udp.port}"
    pushInterval: 100ms
  influxDB2:
    address: "${influx.address}"
    token: secret
    org: org
    bucket: bucket
    pushInterval: 100ms
  otlp:
    http:
      endpoint: "${otlp.endpoint}"
    pushInterval: 100ms
`);
  const gw = await startGateway(join(dir, 'gateway.yml'), { workers: 2 });
  const sockets: Socket[] = [];
  let closed = false;
  // The last value each backend received for open connections on `web` (every worker and the primary push to the same series).
  const lastDogOpen = () => named(udp.lines, 'traefik.open.connections').filter((l) => l.tags?.entrypoint === 'web').at(-1)?.value;
  const lastInfluxOpen = () => influx.writes.flatMap((w) => w.lines.map(parseLine))
    .filter((p) => p.measurement === 'traefik.open.connections' && p.tags.entrypoint === 'web').at(-1)?.fields.value;
  const reloads = () => total(named(udp.lines, 'traefik.config.reload.total'));
  // OTLP: the gauge is cumulative per exporting process (resource); the gateway's value is the sum of each one's latest.
  const otlpOpen = () => {
    const latest = new Map<string, number>();
    for (const { body } of otlp.bodies) {
      for (const rm of body.resourceMetrics as Array<{ resource: unknown; scopeMetrics: Array<{ metrics: OtlpMetric[] }> }>) {
        for (const m of rm.scopeMetrics.flatMap((sm) => sm.metrics)) {
          if (m.name !== 'traefik_open_connections') continue;
          for (const p of m.gauge?.dataPoints ?? []) if (attrs(p).entrypoint === 'web') latest.set(JSON.stringify(rm.resource), Number(p.asDouble ?? p.asInt));
        }
      }
    }
    return [...latest.values()].reduce((a, b) => a + b, 0);
  };
  try {
    // Four keep-alive connections, each with one answered request (the entry point counts a connection once it has
    // seen its first bytes); node:cluster hands connections to the workers in turn, so each worker holds some.
    for (let i = 0; i < 4; i++) {
      const socket = connect(Number(new URL(gw.web).port), '127.0.0.1');
      sockets.push(socket);
      await once(socket, 'connect');
      socket.write('GET / HTTP/1.1\r\nHost: app\r\n\r\n');
      const [answer] = (await once(socket, 'data')) as [Buffer];
      assert.match(answer.toString('latin1'), /^HTTP\/1\.1 200 /);
    }
    await eventually(async () => assert.equal(lastDogOpen(), 4, `DogStatsD: the gateway's open connections on web ${udp.lines.filter((l) => l.includes('open.conn')).join(' ')}`), 20_000);
    await eventually(async () => assert.equal(lastInfluxOpen(), 4, 'InfluxDB 2: the gateway\'s open connections on web'), 20_000);
    await eventually(async () => assert.equal(otlpOpen(), 4, 'OTLP: the gateway\'s open connections on web'), 20_000);
    for (const socket of sockets) socket.destroy();
    closed = true;
    await eventually(async () => assert.equal(lastDogOpen(), 0, 'DogStatsD: all closed'), 20_000);
    await eventually(async () => assert.equal(lastInfluxOpen(), 0, 'InfluxDB 2: all closed'), 20_000);
    await eventually(async () => assert.equal(otlpOpen(), 0, 'OTLP: all closed'), 20_000);

    // The first configuration is one reload; a new file is one more, however many workers apply it.
    await eventually(async () => assert.ok(reloads() >= 1, 'the first configuration counted'), 20_000);
    await writeAtomic(join(dir, 'dynamic.yml'), routeTo(upstream.url, 'second'));
    await eventually(async () => assert.ok((await get(`${gw.admin}/api/http/routers/second@file`)).status === 200, 'the new configuration serves'));
    await eventually(async () => assert.ok(reloads() >= 2, 'the reload counted'), 20_000);
    if (!closed) for (const socket of sockets) socket.destroy();
    // The graceful stop pushes what is pending: from here on nothing more is counted.
    await gw.close();
    assert.equal(reloads(), 2, udp.lines.filter((l) => l.includes('config.reload')).join('\n'));
    const lastSuccess = named(udp.lines, 'traefik.config.reload.lastSuccessTimestamp');
    assert.ok(lastSuccess.length >= 1 && lastSuccess.length <= 2, `one last-success gauge per reload, not per worker: ${lastSuccess.length}`);
  } finally {
    if (!closed) for (const socket of sockets) socket.destroy();
    await gw.close();
    await upstream.close();
    udp.close();
    influx.close();
    otlp.close();
  }
});
