/**
 * Traefik v3.7's observability reference pages (install-configuration/observability/metrics.md,
 * logs-and-accesslogs.md and tracing.md, commits in fixtures/traefik-docs/manifest.json) on a running gateway: each
 * static snippet, unchanged but for the page's placeholder file paths, is completed with loopback entry points and a
 * file provider (in the snippet's own format), and the metrics, log lines and trace headers are checked against what
 * the page documents — names, labels, buckets, headerLabels, fields and header modes, filters.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { runGateway } from '../../src/gateway/main.ts';
import { silentLogger } from '../../src/lib/logger.ts';
import { waitFor } from '../../src/lib/testing/wait-for.ts';
import { get, tempDir } from './helpers.ts';

const fixtures = new URL('./fixtures/traefik-docs/', import.meta.url).pathname;
const snippet = (file: string) => readFileSync(join(fixtures, file), 'utf8');

/** The service: `/status/<code>` answers that code, `?delay=<ms>` first waits; the request's headers are echoed. */
let app: Server;
let appUrl = '';
before(async () => {
  app = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://app');
    const code = /^\/status\/(\d{3})/.exec(url.pathname)?.[1];
    const answer = () => {
      res.writeHead(code ? Number(code) : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ url: req.url, headers: req.headers }));
    };
    const delay = Number(url.searchParams.get('delay') ?? 0);
    if (delay > 0) setTimeout(answer, delay);
    else answer();
  });
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
});
after(() => {
  app.closeAllConnections();
  app.close();
});

/**
 * A gateway whose static file is `staticText` (a snippet, in `file`'s format) followed by loopback `web` and `traefik`
 * entry points, the API and a file provider routing everything to the service as `app@file`.
 */
async function gatewayFor(file: string, staticText: string, { ownLog = false, dynamicFile = 'dynamic.yml', dynamicText }: { ownLog?: boolean; dynamicFile?: string; dynamicText?: string } = {}) {
  const work = await tempDir('mg-docs-obs-');
  const dynamic = join(work, dynamicFile);
  await writeFile(dynamic, dynamicText ?? `http:
  routers:
    app:
      rule: "PathPrefix(\`/\`)"
      service: app
  services:
    app:
      loadBalancer:
        servers:
          - url: "${appUrl}"
`);
  const rest = file.endsWith('.toml')
    ? `\n[entryPoints.web]\n  address = "127.0.0.1:0"\n[entryPoints.traefik]\n  address = "127.0.0.1:0"\n[providers.file]\n  filename = "${dynamic}"\n[api]\n  insecure = true\n`
    : `\nentryPoints:\n  web:\n    address: "127.0.0.1:0"\n  traefik:\n    address: "127.0.0.1:0"\nproviders:\n  file:\n    filename: "${dynamic}"\napi:\n  insecure: true\n`;
  const config = join(work, `gateway${file.slice(file.lastIndexOf('.'))}`);
  await writeFile(config, staticText + rest);
  // The log pages' snippets configure the gateway's own log; elsewhere the test keeps it quiet.
  const gw = await runGateway({ configFile: config, workers: 1, handleSignals: false, ...(ownLog ? {} : { logger: silentLogger() }) });
  const a = gw.addresses();
  return Object.assign(gw, { work, web: `http://127.0.0.1:${a.web!.port}`, admin: `http://127.0.0.1:${a.traefik!.port}` });
}

// Traefik pkg/metrics/prometheus.go: buckets apply to every *_request_duration_seconds histogram (its default
// 0.1, 0.3, 1.2, 5), the entry point and service families are on by default (addEntryPointsLabels,
// addServicesLabels), routers only with addRoutersLabels; the global families are always there.
for (const file of ['metrics.09.yaml']) {
  test(`docs replay running: ${file} — Prometheus with the page's buckets: the metric names and labels the page lists`, async () => {
    const gw = await gatewayFor(file, snippet(file));
    try {
      assert.equal((await get(`${gw.web}/x`)).status, 200);
      assert.equal((await get(`${gw.web}/status/404`)).status, 404);
      const text = (await get(`${gw.admin}/metrics`)).text;
      const has = (line: RegExp) => assert.match(text, line);
      has(/^traefik_entrypoint_requests_total\{code="200",entrypoint="web",method="GET",protocol="http"\} 1$/m);
      has(/^traefik_entrypoint_requests_total\{code="404",entrypoint="web",method="GET",protocol="http"\} 1$/m);
      has(/^traefik_service_requests_total\{code="200",method="GET",protocol="http",service="app@file"\} 1$/m);
      has(/^traefik_entrypoint_requests_bytes_total\{code="200",entrypoint="web",method="GET",protocol="http"\} \d+$/m);
      has(/^traefik_entrypoint_responses_bytes_total\{code="200",entrypoint="web",method="GET",protocol="http"\} [1-9]\d*$/m);
      has(/^traefik_service_responses_bytes_total\{code="200",method="GET",protocol="http",service="app@file"\} [1-9]\d*$/m);
      has(new RegExp(`^traefik_service_server_up\\{service="app@file",url="${appUrl.replaceAll('.', '\\.')}"\\} 1$`, 'm'));
      has(/^traefik_open_connections\{entrypoint="web",protocol="TCP"\} \d+$/m);
      has(/^traefik_config_reloads_total \d+$/m);
      has(/^traefik_config_last_reload_success [1-9][\d.e+]*$/m);
      assert.doesNotMatch(text, /^traefik_router_/m, 'addRoutersLabels is false by default');
      for (const family of ['traefik_entrypoint_request_duration_seconds', 'traefik_service_request_duration_seconds']) {
        const bounds = [...text.matchAll(new RegExp(`^${family}_bucket\\{[^}]*code="200"[^}]*le="([^"]+)"\\}`, 'gm'))].map((m) => m[1]);
        assert.deepEqual(bounds, ['0.1', '0.3', '1.2', '5', '+Inf'], family);
      }
    } finally {
      await gw.close();
    }
  });
}

// The page's own example: the request, then the metric line it shows, label for label.
test('docs replay running: metrics.11.yaml — headerLabels: `curl -H "User-Agent: foobar"` gives the page\'s traefik_entrypoint_requests_total line', async () => {
  const gw = await gatewayFor('metrics.11.yaml', snippet('metrics.11.yaml'));
  try {
    assert.equal((await get(`${gw.web}/`, { headers: { 'user-agent': 'foobar' } })).status, 200);
    const text = (await get(`${gw.admin}/metrics`)).text;
    assert.match(text, /^traefik_entrypoint_requests_total\{code="200",entrypoint="web",method="GET",protocol="http",useragent="foobar"\} 1$/m);
  } finally {
    await gw.close();
  }
});

// Traefik pkg/middlewares/accesslog/logger.go keepAccessLog: with filters, a request is kept when its status is in
// statusCodes, OR it was retried, OR it took longer than minDuration. Fields: defaultMode keep, ClientUsername
// dropped; headers kept as request_<Name>, User-Agent "REDACTED", Authorization dropped.
for (const file of ['logs-and-accesslogs.07.yaml', 'logs-and-accesslogs.08.toml']) {
  test(`docs replay running: ${file} — access log: statusCodes 200 and 300-302 or slower than 10ms kept, ClientUsername and Authorization dropped, User-Agent redacted`, async () => {
    const work = await tempDir('mg-docs-al-');
    const logFile = join(work, 'access.log');
    // The page writes the access log to stdout; the test adds a filePath (the page's first option) to read it.
    const text = file.endsWith('.toml')
      ? snippet(file).replace('[accessLog]\n', `[accessLog]\n  filePath = "${logFile}"\n`)
      : snippet(file).replace('accessLog:\n', `accessLog:\n  filePath: "${logFile}"\n`);
    assert.ok(text.includes(logFile));
    const gw = await gatewayFor(file, text);
    try {
      const headers = { 'user-agent': 'docs-replay', authorization: 'Basic dGVzdDp0ZXN0', 'x-kept': 'yes' };
      for (let i = 0; i < 3; i++) assert.equal((await get(`${gw.web}/status/404?fast=${i}`, { headers })).status, 404);
      assert.equal((await get(`${gw.web}/status/201`, { headers })).status, 201);
      assert.equal((await get(`${gw.web}/status/301`, { headers })).status, 301);
      assert.equal((await get(`${gw.web}/status/404?delay=200`, { headers })).status, 404);
      assert.equal((await get(`${gw.web}/last`, { headers })).status, 200);
      let entries: Array<Record<string, unknown>> = [];
      await waitFor(async () => {
        entries = (await readFile(logFile, 'utf8').catch(() => '')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
        return entries.some((e) => e.RequestPath === '/last');
      }, 'the access log line of the last request');
      const paths = entries.map((e) => e.RequestPath);
      assert.ok(paths.includes('/status/301'), '301 is in 300-302');
      assert.ok(paths.includes('/status/404?delay=200'), 'a 404 that took 200ms is over minDuration');
      // A 201 or a fast 404 is not a kept status and is dropped when fast; on a loaded machine one may take over
      // 10ms, and then keeping it is right (minDuration), so a kept one must show the duration that kept it.
      for (const e of entries.filter((x) => String(x.RequestPath).includes('fast=') || x.RequestPath === '/status/201')) {
        assert.ok(Number(e.Duration) > 10_000_000, `kept although fast and not a kept status: ${JSON.stringify(e)}`);
      }
      const last = entries.find((e) => e.RequestPath === '/last')!;
      assert.equal(last.DownstreamStatus, 200);
      assert.equal(last.RouterName, 'app@file');
      assert.equal(last.ServiceName, 'app@file');
      assert.ok(typeof last.StartUTC === 'string' && typeof last.Duration === 'number', 'defaultMode keep: the other fields are there');
      assert.ok(!('ClientUsername' in last), 'ClientUsername: drop');
      assert.equal(last['request_User-Agent'], 'REDACTED');
      assert.ok(!('request_Authorization' in last), 'Authorization: drop');
      assert.equal(last['request_X-Kept'], 'yes', 'headers defaultMode keep');
    } finally {
      await gw.close();
    }
  });
}

// Traefik's log (zerolog JSON): one object per line with level and message; INFO lets info lines through.
for (const file of ['logs-and-accesslogs.01.yaml', 'logs-and-accesslogs.02.toml']) {
  test(`docs replay running: ${file} — log filePath, format json, level INFO: the gateway's own log lines land in the file as JSON`, async () => {
    const work = await tempDir('mg-docs-log-');
    const logFile = join(work, 'log-file.log');
    const gw = await gatewayFor(file, snippet(file).replace('/path/to/log-file.log', logFile), { ownLog: true });
    try {
      let lines: Array<Record<string, unknown>> = [];
      await waitFor(async () => {
        lines = (await readFile(logFile, 'utf8').catch(() => '')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
        return lines.length > 0;
      }, 'a line in the log file');
      for (const line of lines) {
        assert.ok(typeof line.level === 'string' && ['info', 'warn', 'error'].includes(line.level), JSON.stringify(line));
        assert.ok(typeof line.message === 'string' || typeof line.msg === 'string', JSON.stringify(line));
      }
    } finally {
      await gw.close();
    }
  });
}

// Traefik pkg/tracing: with tracing enabled the EntryPoint span's context is sent upstream as W3C traceparent, and a
// client's traceparent is continued (same trace id, new parent span).
for (const file of ['tracing.01.yaml', 'tracing.02.toml']) {
  test(`docs replay running: ${file} — tracing enabled: the service receives a traceparent continuing the client's trace`, async () => {
    const gw = await gatewayFor(file, snippet(file));
    try {
      const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
      const sent = (await get(`${gw.web}/`, { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } })).json().headers;
      assert.match(String(sent.traceparent), new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
      assert.notEqual(String(sent.traceparent).split('-')[2], '00f067aa0ba902b7', 'a new span of the gateway is the parent');
      const fresh = (await get(`${gw.web}/`)).json().headers;
      assert.match(String(fresh.traceparent), /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
    } finally {
      await gw.close();
    }
  });
}

// Traefik pkg/server/middleware/observability.go: a router's own observability block replaces its entry point's;
// with all three false its requests leave no access log line, no router/service metrics and no spans.
for (const file of ['observability.01.yaml', 'observability.02.toml']) {
  test(`docs replay running: ${file} — router observability: my-router's requests produce no access log line and no metrics, another router's do`, async () => {
    const work = await tempDir('mg-docs-robs-');
    const logFile = join(work, 'access.log');
    // The page's service-foo is left undefined there; it is added, with a second router (Path(`/bar`), the same
    // length, so no priority games) that keeps the defaults.
    const dynamicText = file.endsWith('.toml')
      ? `${snippet(file)}\n[[http.services.service-foo.loadBalancer.servers]]\n  url = "${appUrl}"\n[http.routers.other]\n  rule = "Path(\`/bar\`)"\n  service = "service-foo"\n`
      : `${snippet(file)}    other:\n      rule: "Path(\`/bar\`)"\n      service: service-foo\n  services:\n    service-foo:\n      loadBalancer:\n        servers:\n          - url: "${appUrl}"\n`;
    const staticText = `accessLog:\n  filePath: "${logFile}"\n  format: json\nmetrics:\n  prometheus:\n    addRoutersLabels: true\n`;
    const gw = await gatewayFor('static.yml', staticText, { dynamicFile: `dynamic${file.slice(file.lastIndexOf('.'))}`, dynamicText });
    try {
      assert.equal((await get(`${gw.web}/foo`)).status, 200);
      assert.equal((await get(`${gw.web}/bar`)).status, 200);
      let entries: Array<Record<string, unknown>> = [];
      await waitFor(async () => {
        entries = (await readFile(logFile, 'utf8').catch(() => '')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
        return entries.some((e) => e.RequestPath === '/bar');
      }, 'the access log line of /bar');
      assert.deepEqual(entries.map((e) => e.RequestPath), ['/bar']);
      const metrics = (await get(`${gw.admin}/metrics`)).text;
      assert.match(metrics, /^traefik_router_requests_total\{[^}]*router="other@file"[^}]*\} 1$/m);
      assert.doesNotMatch(metrics, /router="my-router@file"/);
      assert.match(metrics, /^traefik_service_requests_total\{[^}]*service="service-foo@file"[^}]*\} 1$/m, 'only /bar counted on the service');
    } finally {
      await gw.close();
    }
  });
}
