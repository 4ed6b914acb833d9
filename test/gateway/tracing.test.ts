/**
 * OpenTelemetry tracing through a real gateway to a real upstream, exported to the test's own OTLP receivers
 * (otlp-receiver.ts): Traefik's span names, kinds, attributes and parent/child links, W3C `traceparent`
 * propagation, `traceVerbosity`, router and entry point `observability` switches, and `sampleRate`.
 *
 * What Traefik does, as read in traefik/traefik: pkg/middlewares/observability/entrypoint.go (span "EntryPoint",
 * kind server, attribute `entry_point`, the incoming trace context extracted first), router.go ("Router",
 * `traefik.router.name`, `traefik.service.name`, `http.route`), middleware.go (the middleware's type name,
 * `traefik.middleware.name`), service.go ("Service") — those three only with DetailedTracingEnabled —,
 * pkg/proxy/httputil/observability.go ("ReverseProxy", kind client, trace context injected into the upstream
 * request), pkg/tracing's CaptureServerRequest/CaptureResponse (query values REDACTED but safeQueryParams, captured
 * headers as `http.request.header.<name>`, server span in error from 500) and the docs' "Tracing" and router
 * "Observability" pages (a router's own block replaces its entry point's; sampleRate is parent-based).
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { eventually, get, startGateway, startUpstream, tempDir, type Upstream } from './helpers.ts';
import { SPAN_KIND, startGrpcReceiver, startHttpReceiver, type ReceivedSpan } from './otlp-receiver.ts';

let upstream: Upstream;
before(async () => {
  upstream = await startUpstream('echo');
});
after(() => upstream.close());

const CLIENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';

function dynamicYaml(extraRouters = '', extraServices = ''): string {
  return `
http:
  routers:
    traced:
      rule: PathPrefix(\`/traced\`)
      service: echo
      middlewares: [add-header]
${extraRouters}
  middlewares:
    add-header:
      headers:
        customRequestHeaders:
          X-Added: "yes"
  services:
    echo:
      loadBalancer:
        servers:
          - url: "${upstream.url}"
${extraServices}
`;
}

async function gatewayWith(tracing: string, options: { entryPointObservability?: string; routers?: string; services?: string; accessLog?: string } = {}) {
  const dir = await tempDir('mg-tracing-');
  await writeFile(join(dir, 'dynamic.yml'), dynamicYaml(options.routers, options.services));
  await writeFile(join(dir, 'static.yml'), `
entryPoints:
  web:
    address: "127.0.0.1:0"
${options.entryPointObservability ?? ''}
  traefik:
    address: "127.0.0.1:0"
providers:
  providersThrottleDuration: 20ms
  file:
    filename: ${join(dir, 'dynamic.yml')}
api:
  insecure: true
metrics:
  prometheus:
    addRoutersLabels: true
${options.accessLog ?? ''}
${tracing}
`);
  return { dir, gateway: await startGateway(join(dir, 'static.yml')) };
}

const byName = (spans: ReceivedSpan[], name: string): ReceivedSpan => {
  const found = spans.find((s) => s.name === name);
  assert.ok(found, `a span named ${name} among ${spans.map((s) => s.name).join(', ')}`);
  return found;
};

test('OTLP/HTTP, detailed: EntryPoint → Router → Headers → Service → ReverseProxy, one trace continued from the client and on to the upstream', async (t) => {
  const receiver = await startHttpReceiver();
  t.after(() => receiver.close());
  const { gateway } = await gatewayWith(`
tracing:
  serviceName: edge
  resourceAttributes:
    deployment.environment: test
  capturedRequestHeaders: [X-Tenant]
  capturedResponseHeaders: [X-Upstream]
  safeQueryParams: [page]
  otlp:
    http:
      endpoint: ${receiver.endpoint}
      headers:
        Authorization: Bearer otlp-token
`, { entryPointObservability: '    observability:\n      traceVerbosity: detailed' });
  let closed = false;
  t.after(() => (closed ? undefined : gateway.close()));

  const res = await get(`${gateway.web}/traced/x?page=2&secret=hunter2`, {
    headers: { traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`, tracestate: 'vendor=1', 'x-tenant': 'acme' },
  });
  assert.equal(res.status, 200);
  const seen = res.json().headers as Record<string, string>;
  assert.equal(seen['x-added'], 'yes');
  // Shutting the gateway down exports what is batched (BatchSpanProcessor's 5 s delay otherwise).
  await gateway.close();
  closed = true;
  await eventually(async () => assert.ok(receiver.spans.length >= 5, `5 spans, got ${receiver.spans.length}`));

  const spans = receiver.spans;
  const ep = byName(spans, 'EntryPoint');
  const router = byName(spans, 'Router');
  const mw = byName(spans, 'Headers');
  const service = byName(spans, 'Service');
  const proxy = byName(spans, 'ReverseProxy');
  for (const s of [ep, router, mw, service, proxy]) assert.equal(s.traceId, CLIENT_TRACE, `${s.name} continues the client's trace`);
  assert.equal(ep.parentSpanId, CLIENT_SPAN);
  assert.equal(router.parentSpanId, ep.spanId);
  assert.equal(mw.parentSpanId, router.spanId);
  assert.equal(service.parentSpanId, mw.spanId);
  assert.equal(proxy.parentSpanId, service.spanId);
  assert.equal(ep.kind, SPAN_KIND.server);
  assert.equal(proxy.kind, SPAN_KIND.client);
  assert.equal(router.kind, SPAN_KIND.internal);

  // The upstream got a traceparent naming the ReverseProxy span as its parent, in the same trace.
  assert.equal(seen.traceparent, `00-${CLIENT_TRACE}-${proxy.spanId}-01`);
  assert.equal(seen.tracestate, 'vendor=1');

  assert.equal(ep.attributes.entry_point, 'web');
  assert.equal(ep.attributes['http.request.method'], 'GET');
  assert.equal(ep.attributes['url.path'], '/traced/x');
  assert.equal(ep.attributes['url.query'], 'page=2&secret=REDACTED');
  assert.equal(ep.attributes['http.response.status_code'], 200);
  assert.deepEqual(ep.attributes['http.request.header.x-tenant'], ['acme']);
  assert.deepEqual(ep.attributes['http.response.header.x-upstream'], ['echo']);
  assert.equal(router.attributes['traefik.router.name'], 'traced@file');
  assert.equal(router.attributes['traefik.service.name'], 'echo@file');
  assert.equal(router.attributes['http.route'], 'PathPrefix(`/traced`)');
  assert.equal(mw.attributes['traefik.middleware.name'], 'add-header@file');
  assert.equal(service.attributes['traefik.service.name'], 'echo@file');
  assert.equal(proxy.attributes['url.full'], `${upstream.url}/traced/x?page=2&secret=REDACTED`);
  assert.equal(proxy.attributes['http.response.status_code'], 200);
  assert.equal(ep.resource['service.name'], 'edge');
  assert.equal(ep.resource['deployment.environment'], 'test');
  assert.equal(receiver.requests[0]!.authorization, 'Bearer otlp-token');
});

test('OTLP/gRPC, minimal verbosity (the default): only EntryPoint and ReverseProxy; a new trace when the client sent none; 5xx marks the server span', async (t) => {
  const receiver = await startGrpcReceiver();
  t.after(() => receiver.close());
  const { gateway } = await gatewayWith(`
tracing:
  otlp:
    grpc:
      endpoint: ${receiver.endpoint}
      insecure: true
      headers:
        x-otlp-tenant: meshgate
`, {
    routers: `    broken:
      rule: PathPrefix(\`/broken\`)
      service: dead`,
    services: `    dead:
      loadBalancer:
        servers:
          - url: "http://127.0.0.1:1"`,
  });
  let closed = false;
  t.after(() => (closed ? undefined : gateway.close()));
  const res = await get(`${gateway.web}/traced/plain`);
  assert.equal(res.status, 200);
  const seen = res.json().headers as Record<string, string>;
  assert.equal((await get(`${gateway.web}/broken`)).status, 502);
  await gateway.close();
  closed = true;
  await eventually(async () => assert.ok(receiver.spans.length >= 4, `4 spans, got ${receiver.spans.length}`));
  const names = receiver.spans.map((s) => s.name).sort();
  assert.deepEqual(names, ['EntryPoint', 'EntryPoint', 'ReverseProxy', 'ReverseProxy']);
  const failed = receiver.spans.filter((s) => s.attributes['http.response.status_code'] === 502);
  assert.deepEqual(failed.map((s) => [s.name, s.statusCode]).sort(), [['EntryPoint', 2], ['ReverseProxy', 2]], 'a 502 is an error on both spans');
  const ep = receiver.spans.find((s) => s.name === 'EntryPoint' && s.attributes['url.path'] === '/traced/plain')!;
  const proxy = receiver.spans.find((s) => s.name === 'ReverseProxy' && s.traceId === ep.traceId)!;
  assert.equal(ep.parentSpanId, '', 'a root span when the request carried no trace context');
  assert.equal(proxy.parentSpanId, ep.spanId);
  assert.match(seen.traceparent!, new RegExp(`^00-${ep.traceId}-${proxy.spanId}-01$`));
  assert.equal(ep.resource['service.name'], 'traefik', "Traefik's default serviceName");
  assert.deepEqual(receiver.requests[0]!['x-otlp-tenant'], 'meshgate');
});

test('observability switches: a router with tracing, accessLogs and metrics off produces none of them and forwards the client traceparent untouched; sampleRate 0 keeps only sampled parents', async (t) => {
  const receiver = await startHttpReceiver();
  t.after(() => receiver.close());
  const dir = await tempDir('mg-tracing-log-');
  const logFile = join(dir, 'access.json');
  const { gateway } = await gatewayWith(`
tracing:
  sampleRate: 0
  otlp:
    http:
      endpoint: ${receiver.endpoint}
`, {
    accessLog: `accessLog:\n  filePath: ${logFile}\n  format: json`,
    routers: `    quiet:
      rule: PathPrefix(\`/quiet\`)
      service: echo
      observability:
        tracing: false
        accessLogs: false
        metrics: false`,
  });
  let closed = false;
  t.after(() => (closed ? undefined : gateway.close()));
  const incoming = `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`;
  const quiet = await get(`${gateway.web}/quiet`, { headers: { traceparent: incoming } });
  assert.equal((quiet.json().headers as Record<string, string>).traceparent, incoming, 'an untraced router passes the header on as it came');
  // sampleRate 0: a root request is not sampled (its traceparent says so), a sampled parent is followed.
  const unsampled = await get(`${gateway.web}/traced/root`);
  assert.match((unsampled.json().headers as Record<string, string>).traceparent!, /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
  const followed = await get(`${gateway.web}/traced/child`, { headers: { traceparent: incoming } });
  assert.equal(followed.status, 200);
  const metrics = await get(`${gateway.admin}/metrics`);
  assert.match(metrics.text, /traefik_router_requests_total\{[^}]*router="traced@file"/);
  assert.doesNotMatch(metrics.text, /router="quiet@file"/);
  await gateway.close();
  closed = true;
  await eventually(async () => assert.ok(receiver.spans.length >= 2));
  assert.deepEqual(new Set(receiver.spans.map((s) => s.traceId)), new Set([CLIENT_TRACE]), 'only the sampled parent trace was exported');
  assert.ok(receiver.spans.every((s) => s.attributes['url.path'] === undefined || s.attributes['url.path'] === '/traced/child'));
  const lines = (await readFile(logFile, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { RequestPath: string });
  assert.deepEqual(lines.map((l) => l.RequestPath).sort(), ['/traced/child', '/traced/root'], 'no access log line for the quiet router, none for /metrics (internal)');
});

test('tracing loads from TOML as the Traefik docs write it, and an unknown tracing key names its path', async () => {
  const { loadStaticConfig } = await import('../../src/gateway/config/static.ts');
  const dir = await tempDir('mg-tracing-toml-');
  // The "Tracing" reference page's TOML example keys.
  await writeFile(join(dir, 'static.toml'), `
[tracing]
  serviceName = "traefik"
  sampleRate = 0.2
  capturedRequestHeaders = ["X-CustomHeader"]
  safeQueryParams = ["bar", "buz"]
  [tracing.resourceAttributes]
    attr1 = "foo"
  [tracing.otlp.http]
    endpoint = "http://localhost:4318/v1/traces"
    [tracing.otlp.http.headers]
      foo = "bar"
`);
  const config = await loadStaticConfig(join(dir, 'static.toml'));
  assert.equal(config.tracing?.sampleRate, 0.2);
  assert.equal(config.tracing?.otlp?.http?.endpoint, 'http://localhost:4318/v1/traces');
  await writeFile(join(dir, 'bad.yml'), 'tracing:\n  otlp:\n    http:\n      endpoint: http://x/v1/traces\n      compresion: gzip\n');
  await assert.rejects(loadStaticConfig(join(dir, 'bad.yml')), /tracing\.otlp\.http/);
});
