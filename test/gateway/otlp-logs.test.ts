/**
 * Logs and access logs over OpenTelemetry (Traefik v3.7 `experimental.otlpLogs`, `log.otlp`, `accessLog.otlp`),
 * exported by a real gateway to the test's own OTLP receivers (otlp-logs-receiver.ts), and the examples of the
 * "Logs & Access Logs" reference page (fixtures/traefik-docs/logs-and-accesslogs.*) behaving as the page says.
 *
 * What Traefik does, as read in traefik/traefik:
 * - pkg/config/static/static_config.go ValidateConfiguration and cmd/traefik/logger.go setupLogger: `log.otlp` or
 *   `accessLog.otlp` without `experimental.otlpLogs` stops Traefik ("the experimental OTLPLogs feature must be
 *   enabled to use OTLP logging" / "… OTLP access logging"); gRPC `tls` with `insecure` is refused.
 * - pkg/observability/types/logs.go OTelLog.NewLoggerProvider: gRPC when `grpc` is set, else HTTP to
 *   `https://localhost:4318` (the exporter's `/v1/logs` path when the endpoint has none); resource `service.name`
 *   (default `traefik`), `service.version`, then `resourceAttributes`.
 * - pkg/observability/logs/otel.go: the log hook's body is the message, the level the severity (otelLogSeverity),
 *   the other fields attributes; scope `traefik`.
 * - The v3.7 page: "Stdio logs remain available" for `log.otlp`; for access logs, "Stdio logging is disabled when
 *   OTLP is enabled" unless `accessLog.dualOutput`.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { InMemoryLogRecordExporter } from '@opentelemetry/sdk-logs';
import { AccessLog } from '../../src/gateway/accesslog/accesslog.ts';
import { accessLogSchema } from '../../src/gateway/accesslog/schema.ts';
import type { GatewayRequest } from '../../src/gateway/http/types.ts';
import { parseConfigText } from '../../src/gateway/config/parse.ts';
import { applyStaticOverrides, validateStaticConfig } from '../../src/gateway/config/static.ts';
import { createLoggerProvider, logsUrl } from '../../src/gateway/otlp-logs/provider.ts';
import { OtlpLogHook } from '../../src/gateway/otlp-logs/records.ts';
import { otelLogSchema } from '../../src/gateway/otlp-logs/schema.ts';
import { createTestPki } from '../helpers/test-pki.ts';
import { eventually, get, startGateway, startUpstream, tempDir, type Upstream } from './helpers.ts';
import { startGrpcLogReceiver, startHttpLogReceiver, type ReceivedLog } from './otlp-logs-receiver.ts';

const docs = new URL('./fixtures/traefik-docs/', import.meta.url).pathname;
const snippet = (file: string): Record<string, unknown> =>
  parseConfigText(readFileSync(join(docs, file), 'utf8'), file.endsWith('.toml') ? 'toml' : 'yaml', file);

/** The page's placeholder collector and its bearer token (logs-and-accesslogs.05/06/11/12). */
const PAGE_ENDPOINT = 'https://collector:4318/v1/logs';
const PAGE_AUTHORIZATION = 'Bearer auth_asKXRhIMplM7El1JENjrotGouS1LYRdL';

let upstream: Upstream;
before(async () => {
  upstream = await startUpstream('echo');
});
after(() => upstream.close());

/** Deep merge of plain objects (`extra` wins), so a page's snippet keeps every key as written. */
function merge(base: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    const current = out[key];
    out[key] = current && typeof current === 'object' && value && typeof value === 'object' && !Array.isArray(value)
      ? merge(current as Record<string, unknown>, value as Record<string, unknown>)
      : value;
  }
  return out;
}

/** `static` (a page's snippet, the collector pointed at `endpoint`) plus entry points and a file provider routing to the echo upstream. */
async function gatewayWith(staticConfig: Record<string, unknown>, endpoint?: string, workers = 1) {
  const dir = await tempDir('mg-otlp-logs-');
  await writeFile(join(dir, 'dynamic.yml'), [
    'http:', '  routers:', '    echo:', '      rule: PathPrefix(`/`) && !PathPrefix(`/missing`)', '      service: echo',
    '  services:', '    echo:', '      loadBalancer:', '        servers:', `          - url: "${upstream.url}"`, '',
  ].join('\n'));
  let text = JSON.stringify(merge(staticConfig, {
    entryPoints: { web: { address: '127.0.0.1:0' }, traefik: { address: '127.0.0.1:0' } },
    providers: { providersThrottleDuration: '20ms', file: { filename: join(dir, 'dynamic.yml') } },
  }));
  if (endpoint !== undefined) text = text.replaceAll(PAGE_ENDPOINT, endpoint);
  await writeFile(join(dir, 'static.json'), text);
  // With a `log` section, no test logger: the section decides where the gateway's own log goes, as in a real start.
  // Idle keep-alive connections would hold a cluster worker's drain for its whole timeout.
  const gateway = await startGateway(join(dir, 'static.json'), { workers, drainTimeoutMs: 500, ...(staticConfig.log ? { logger: undefined } : {}) });
  return { dir, gateway };
}

const named = (logs: ReceivedLog[], body: string): ReceivedLog => {
  const found = logs.find((l) => l.body === body);
  assert.ok(found, `a record "${body}" among ${JSON.stringify(logs.map((l) => l.body))}`);
  return found;
};

test('docs: the experimental switch and OTLP blocks of the page load unchanged (03–06, 09–12)', () => {
  for (const file of ['03.yaml', '04.toml', '05.yaml', '06.toml', '09.yaml', '10.toml', '11.yaml', '12.toml']) {
    const config = validateStaticConfig(snippet(`logs-and-accesslogs.${file}`));
    assert.equal(config.experimental?.otlpLogs, true, file);
  }
  const log = validateStaticConfig(snippet('logs-and-accesslogs.06.toml')).log!.otlp!;
  assert.deepEqual(log.http, { endpoint: PAGE_ENDPOINT, headers: { Authorization: PAGE_AUTHORIZATION } });
  assert.equal(log.serviceName, 'traefik');
  const access = validateStaticConfig(snippet('logs-and-accesslogs.11.yaml')).accessLog!;
  assert.deepEqual(access.otlp!.http, { endpoint: PAGE_ENDPOINT, headers: { Authorization: PAGE_AUTHORIZATION } });
  assert.equal(access.dualOutput, false);
});

test('docs: the page\'s CLI tab (--experimental.otlpLogs=true, --log.otlp.http.*, --accesslog.otlp=true) gives the same configuration', () => {
  const flags = {
    'experimental.otlpLogs': 'true',
    'log.otlp.http.endpoint': PAGE_ENDPOINT,
    'log.otlp.http.headers.Authorization': PAGE_AUTHORIZATION,
    'accesslog.otlp': 'true',
  };
  const config = validateStaticConfig(applyStaticOverrides({}, flags));
  assert.deepEqual(config.log!.otlp, validateStaticConfig(snippet('logs-and-accesslogs.05.yaml')).log!.otlp);
  assert.equal(config.accessLog!.otlp!.serviceName, 'traefik');
  assert.equal(config.accessLog!.otlp!.http, undefined, 'no http block: the exporter takes its defaults');
});

test('Traefik refuses log.otlp and accessLog.otlp without experimental.otlpLogs, and gRPC tls with insecure', () => {
  assert.throws(() => validateStaticConfig({ log: { otlp: {} } }), /log\.otlp: the experimental OTLPLogs feature must be enabled to use OTLP logging/);
  assert.throws(() => validateStaticConfig({ accessLog: { otlp: { http: {} } }, experimental: { otlpLogs: false } }),
    /accessLog\.otlp: the experimental OTLPLogs feature must be enabled to use OTLP access logging/);
  assert.throws(() => validateStaticConfig({ experimental: { otlpLogs: true }, accessLog: { otlp: { grpc: { insecure: true, tls: { ca: '/x' } } } } }),
    /accessLog\.otlp\.grpc: access logs OTLP GRPC: TLS and Insecure options are mutually exclusive/);
  // The flag form, `--accesslog.otlp=true`, is the block with its defaults.
  const config = validateStaticConfig({ experimental: { otlpLogs: true }, accessLog: { otlp: true } });
  assert.equal(config.accessLog!.otlp!.serviceName, 'traefik');
});

test('the HTTP exporter posts to /v1/logs when the endpoint names no path, and to the written path otherwise', () => {
  assert.equal(logsUrl('https://localhost:4318'), 'https://localhost:4318/v1/logs');
  assert.equal(logsUrl('http://collector:4318/'), 'http://collector:4318/');
  assert.equal(logsUrl(PAGE_ENDPOINT), PAGE_ENDPOINT);
  assert.equal(logsUrl('http://c:4318/custom/logs'), 'http://c:4318/custom/logs');
});

test('an access log with OTLP writes no line unless dualOutput, and the record has the line\'s fields (common format too)', async () => {
  const req = {
    method: 'GET', url: '/a', originalUrl: '/a?q=1', headers: { host: 'example.com' }, host: 'example.com', remoteAddress: '127.0.0.1',
    clientIp: '127.0.0.1', tls: false, entryPoint: 'web', body: undefined as never, data: {}, routerName: 'r@file',
  } as unknown as GatewayRequest;
  const record = { req, clientPort: 5000, status: 200, startMs: Date.now(), durationMs: 1, requestBytes: 0, responseBytes: 2, responseHeaders: undefined, protocol: 'HTTP/1.1', retryAttempts: 0 };
  for (const dualOutput of [false, true]) {
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => { text += d.toString(); });
    const emitted: Record<string, unknown>[] = [];
    const log = new AccessLog(accessLogSchema.parse({ dualOutput, otlp: {} }), out, { emit: (fields) => emitted.push(fields) });
    log.log(record);
    await log.close();
    assert.equal(emitted.length, 1);
    assert.equal(emitted[0]!.RouterName, 'r@file');
    assert.equal(emitted[0]!.RequestPath, '/a?q=1');
    assert.equal(emitted[0]!.RequestCount, 1);
    // The default format stays Traefik's CLF for the written line; the record carries the JSON fields either way.
    if (dualOutput) assert.match(text, /^127\.0\.0\.1 - - \[.*\] "GET \/a\?q=1 HTTP\/1\.1" /);
    else assert.equal(text, '');
  }
});

test('log records: the message is the body, the level Traefik\'s severity, the other fields attributes, the line\'s time the timestamp', async () => {
  const exporter = new InMemoryLogRecordExporter();
  const provider = await createLoggerProvider(otelLogSchema.parse({ serviceName: 'edge', resourceAttributes: { 'deployment.environment': 'test' } }), 'log.otlp', exporter);
  const hook = new OtlpLogHook(provider);
  const levels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
  for (const level of levels) hook.write(`{"level":"${level}","time":"2026-01-02T03:04:05.678Z","message":"m-${level}","router":"r1","count":3,"ok":true,"nested":{"a":1}}\n`);
  await provider.forceFlush();
  const records = exporter.getFinishedLogRecords();
  assert.deepEqual(records.map((r) => r.severityNumber), [1, 5, 9, 13, 17, 21]);
  assert.deepEqual(records.map((r) => r.body), levels.map((l) => `m-${l}`));
  const first = records[0]!;
  assert.deepEqual(first.attributes, { router: 'r1', count: 3, ok: true, nested: '{"a":1}' });
  assert.equal(first.hrTime[0], Date.parse('2026-01-02T03:04:05Z') / 1000);
  assert.equal(first.instrumentationScope.name, 'traefik');
  assert.equal(first.resource.attributes['service.name'], 'edge');
  assert.equal(first.resource.attributes['deployment.environment'], 'test');
  assert.equal(typeof first.resource.attributes['service.version'], 'string');
  assert.equal(typeof first.resource.attributes['host.name'], 'string');
  await provider.shutdown();
});

test('docs 05: log.otlp sends the gateway\'s log records to the collector with the page\'s header, and the log file is still written', async (t) => {
  const receiver = await startHttpLogReceiver();
  t.after(() => receiver.close());
  const dir = await tempDir('mg-otlp-logfile-');
  const logFile = join(dir, 'traefik.log');
  const { gateway } = await gatewayWith(merge(snippet('logs-and-accesslogs.05.yaml'), { log: { level: 'INFO', filePath: logFile } }), `${receiver.endpoint}/v1/logs`);
  let closed = false;
  t.after(() => (closed ? undefined : gateway.close()));
  // The record of the start is batched; closing the gateway exports what is left.
  await gateway.close();
  closed = true;
  const started = named(receiver.logs, 'gateway started');
  assert.equal(started.severityNumber, 9);
  assert.equal(started.scope, 'traefik');
  assert.equal(started.resource['service.name'], 'traefik');
  assert.ok(typeof started.attributes.entryPoints === 'string' && started.attributes.entryPoints.includes('"web"'), JSON.stringify(started.attributes));
  assert.ok(Math.abs(started.timeMs - Date.now()) < 3_600_000, 'the timestamp is the line\'s time, not zero');
  assert.equal(receiver.requests[0]!.authorization, PAGE_AUTHORIZATION);
  assert.equal(receiver.requests[0]![':path'], '/v1/logs');
  // "Stdio logs remain available": the configured log file has the same line.
  assert.match(await readFile(logFile, 'utf8'), /gateway started/);
});

test('docs 11: accessLog.otlp sends one record per request with the JSON access log\'s fields, and writes no line (no dualOutput)', async (t) => {
  const receiver = await startHttpLogReceiver();
  t.after(() => receiver.close());
  const dir = await tempDir('mg-otlp-access-');
  const accessFile = join(dir, 'access.log');
  const { gateway } = await gatewayWith(merge(snippet('logs-and-accesslogs.11.yaml'), { accesslog: { filePath: accessFile } }), `${receiver.endpoint}/v1/logs`);
  t.after(() => gateway.close());
  assert.equal((await get(`${gateway.web}/one?x=1`, { host: 'app.example' })).status, 200);
  assert.equal((await get(`${gateway.web}/two`, { host: 'app.example' })).status, 200);
  const records = await eventually(async () => {
    assert.equal(receiver.logs.length, 2);
    return receiver.logs;
  });
  const [one, two] = records.sort((a, b) => Number(a.attributes.RequestCount) - Number(b.attributes.RequestCount));
  for (const record of [one!, two!]) {
    assert.equal(record.severityNumber, 9);
    assert.equal(record.severityText, 'info');
    assert.equal(record.body, '');
    assert.equal(record.scope, 'traefik');
    assert.equal(record.attributes.DownstreamStatus, 200);
    assert.equal(record.attributes.OriginStatus, 200);
    assert.equal(record.attributes.RouterName, 'echo@file');
    assert.equal(record.attributes.ServiceName, 'echo@file');
    assert.equal(record.attributes.RequestHost, 'app.example');
    assert.equal(record.attributes.RequestMethod, 'GET');
    assert.equal(record.attributes.entryPointName, 'web');
    assert.equal(typeof record.attributes.Duration, 'number');
    assert.equal(record.attributes.ClientHost, '127.0.0.1');
    for (const logrusKey of ['level', 'msg', 'time']) assert.ok(!(logrusKey in record.attributes), logrusKey);
  }
  assert.equal(one!.attributes.RequestPath, '/one?x=1');
  assert.equal(two!.attributes.RequestPath, '/two');
  assert.equal(receiver.requests[0]!.authorization, PAGE_AUTHORIZATION);
  // Without dualOutput, Traefik writes no access log line: the file is never created.
  assert.equal(existsSync(accessFile), false);
});

test('accessLog.otlp respects filters and fields (the page\'s example 07) and, with dualOutput, writes the same line too', async (t) => {
  const receiver = await startHttpLogReceiver();
  t.after(() => receiver.close());
  const dir = await tempDir('mg-otlp-fields-');
  const accessFile = join(dir, 'access.log');
  const config = merge(snippet('logs-and-accesslogs.07.yaml'), {
    experimental: { otlpLogs: true },
    accessLog: { filePath: accessFile, dualOutput: true, filters: { minDuration: '1h' }, otlp: { serviceName: 'edge-access', http: { endpoint: receiver.endpoint } } },
  });
  const { gateway } = await gatewayWith(config);
  let closed = false;
  t.after(() => (closed ? undefined : gateway.close()));
  // 07's filters keep 200 and 300–302 (minDuration made unreachable): the 404 is not logged anywhere.
  assert.equal((await get(`${gateway.web}/kept`, { headers: { 'user-agent': 'probe/1', authorization: 'Basic c2VjcmV0', 'x-tenant': 'acme' } })).status, 200);
  assert.equal((await get(`${gateway.web}/missing`)).status, 404);
  const record = await eventually(async () => {
    assert.equal(receiver.logs.length, 1);
    return receiver.logs[0]!;
  });
  assert.equal(record.resource['service.name'], 'edge-access');
  assert.equal(receiver.requests[0]![':path'], '/v1/logs', 'an endpoint without a path posts to /v1/logs');
  // fields.names.ClientUsername: drop; headers kept by default, User-Agent redacted, Authorization dropped.
  assert.ok(!('ClientUsername' in record.attributes));
  assert.equal(record.attributes['request_User-Agent'], 'REDACTED');
  assert.ok(!('request_Authorization' in record.attributes));
  assert.equal(record.attributes['request_X-Tenant'], 'acme');
  // dualOutput: the JSON line is written too, with the same fields.
  const line = await eventually(async () => {
    const text = existsSync(accessFile) ? await readFile(accessFile, 'utf8') : '';
    assert.ok(text.includes('"/kept"'));
    return JSON.parse(text.trim().split('\n')[0]!) as Record<string, unknown>;
  });
  for (const key of ['level', 'msg', 'time']) delete line[key];
  assert.deepEqual(Object.keys(record.attributes).sort(), Object.keys(line).sort());
  assert.equal(record.attributes.RequestPath, line.RequestPath);
  // Closing exports whatever is still batched: the filtered-out 404 never became a record.
  await gateway.close();
  closed = true;
  assert.deepEqual(receiver.logs.map((l) => l.attributes.DownstreamStatus), [200]);
});

test('accessLog.otlp.grpc: records reach an OTLP/gRPC collector (insecure) with the headers as metadata', async (t) => {
  const receiver = await startGrpcLogReceiver();
  t.after(() => receiver.close());
  const { gateway } = await gatewayWith({
    experimental: { otlpLogs: true },
    accessLog: { otlp: { resourceAttributes: { 'deployment.environment': 'test' }, grpc: { endpoint: receiver.endpoint, insecure: true, headers: { 'x-collector-token': 'grpc-secret' } } } },
  });
  t.after(() => gateway.close());
  assert.equal((await get(`${gateway.web}/grpc-path`)).status, 200);
  const record = await eventually(async () => {
    assert.equal(receiver.logs.length, 1);
    return receiver.logs[0]!;
  }, 20_000);
  assert.equal(record.severityNumber, 9);
  assert.equal(record.attributes.RequestPath, '/grpc-path');
  assert.equal(record.attributes.DownstreamStatus, 200);
  assert.equal(record.resource['deployment.environment'], 'test');
  assert.equal(record.resource['service.name'], 'traefik');
  assert.deepEqual(receiver.requests[0]!['x-collector-token'], 'grpc-secret');
});

test('cluster mode: every worker exports its own access log records, and the primary its log', async (t) => {
  const receiver = await startHttpLogReceiver();
  t.after(() => receiver.close());
  const dir = await tempDir('mg-otlp-cluster-');
  const { gateway } = await gatewayWith({
    experimental: { otlpLogs: true },
    log: { level: 'INFO', filePath: join(dir, 'traefik.log'), otlp: { http: { endpoint: receiver.endpoint } } },
    accessLog: { otlp: { serviceName: 'edge-access', http: { endpoint: receiver.endpoint } } },
  }, undefined, 2);
  let closed = false;
  t.after(() => (closed ? undefined : gateway.close()));
  for (let i = 0; i < 6; i++) assert.equal((await get(`${gateway.web}/c${i}`)).status, 200);
  await gateway.close();
  closed = true;
  const access = receiver.logs.filter((l) => l.resource['service.name'] === 'edge-access');
  assert.deepEqual(access.map((l) => l.attributes.RequestPath).sort(), ['/c0', '/c1', '/c2', '/c3', '/c4', '/c5']);
  assert.equal(named(receiver.logs, 'gateway started').resource['service.name'], 'traefik');
});

test('accessLog.otlp.http.tls: ca, cert and key reach an HTTPS collector that wants a client certificate; an unreadable file stops the start naming its key', async (t) => {
  const dir = await tempDir('mg-otlp-tls-');
  const pki = createTestPki(dir);
  const receiver = await startHttpLogReceiver({
    key: readFileSync(pki.serverKey), cert: readFileSync(pki.serverCert), ca: readFileSync(pki.caFile), requestCert: true, rejectUnauthorized: true,
  });
  t.after(() => receiver.close());
  const otlp = (ca: string) => ({
    experimental: { otlpLogs: true },
    accessLog: { otlp: { http: { endpoint: `${receiver.endpoint}/v1/logs`, tls: { ca, cert: pki.clientCert, key: pki.clientKey } } } },
  });
  const { gateway } = await gatewayWith(otlp(pki.caFile));
  t.after(() => gateway.close());
  assert.equal((await get(`${gateway.web}/over-tls`)).status, 200);
  const record = await eventually(async () => {
    assert.equal(receiver.logs.length, 1);
    return receiver.logs[0]!;
  }, 20_000);
  assert.equal(record.attributes.RequestPath, '/over-tls');
  await assert.rejects(gatewayWith(otlp(join(dir, 'missing-ca.pem'))), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'MG_GATEWAY_OTLP_LOGS_SETUP');
    assert.match(err.message, /accessLog\.otlp: http\.tls\.ca: cannot read .*missing-ca\.pem/);
    return true;
  });
});
