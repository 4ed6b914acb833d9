/**
 * The JSON access-log line has two builders: one template for the default configuration (every field, no
 * headers: the hot path) and the field-by-field one for configurations that drop or keep fields. They must write
 * the same line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { AccessLog, type AccessLogRecord } from './accesslog.ts';
import { accessLogSchema } from './schema.ts';
import type { GatewayRequest } from '../http/types.ts';

function request(overrides: Partial<GatewayRequest> & { dataIfAny?: Record<string, unknown> }): GatewayRequest {
  return {
    method: 'POST', url: '/a', originalUrl: '/api/a?x="q"', headers: { host: 'Example.com:8443' }, host: 'example.com',
    remoteAddress: '::1', clientIp: '10.0.0.1', tls: true, entryPoint: 'websecure', body: undefined as never,
    data: {}, ...overrides,
  } as GatewayRequest;
}

async function lines(config: Record<string, unknown>, records: AccessLogRecord[]): Promise<Record<string, unknown>[]> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => { text += d.toString(); });
  const log = new AccessLog(accessLogSchema.parse({ format: 'json', ...config }), out);
  for (const r of records) log.log(r);
  await log.close();
  return text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('the default JSON line and the field-by-field line agree, with and without origin and router data', async () => {
  const base = { clientPort: 51234, status: 201, startMs: Date.UTC(2026, 10, 25, 18, 0, 0, 123), durationMs: 2.5, requestBytes: 7, responseBytes: 42, responseHeaders: undefined, protocol: 'HTTP/1.1', retryAttempts: 1 };
  const records: AccessLogRecord[] = [
    { ...base, req: request({ routerName: 'api@file', serviceName: 'api@file', dataIfAny: { OriginStatus: 201, OriginDuration: 2_000_000, ServiceURL: 'http://10.0.0.9:80', ServiceAddr: '10.0.0.9:80', ClientUsername: 'ann' } }) },
    { ...base, status: 404, req: request({ remoteAddress: '127.0.0.1', tls: false, headers: { host: 'plain' }, dataIfAny: undefined }) },
  ];
  const fast = await lines({}, records);
  // Dropping a field that does not exist changes nothing in the output but takes the generic builder.
  const generic = await lines({ fields: { names: { NoSuchField: 'drop' } } }, records);
  const withoutTime = (l: Record<string, unknown>) => { const { time: _t, ...rest } = l; return rest; };
  assert.deepEqual(fast.map(withoutTime), generic.map(withoutTime));
  assert.equal(fast[0]!.ClientAddr, '[::1]:51234');
  assert.equal(fast[0]!.Overhead, 500_000);
  assert.equal(fast[0]!.RequestPort, '8443');
  assert.equal(fast[0]!.RequestPath, '/api/a?x="q"');
  assert.equal(fast[1]!.RequestPort, '-');
  assert.equal(fast[1]!.OriginStatus, undefined);
  assert.equal(fast[1]!.RouterName, undefined);
  // logrus sorts keys in byte order: the upper-case field names, then entryPointName, level, msg, time.
  assert.deepEqual(Object.keys(fast[0]!), [...Object.keys(fast[0]!)].sort());
});

test('fields.queryParameters.defaultMode drop logs the path without its query string, in JSON and common lines (Traefik v3.7 "Access Logs" options)', async () => {
  const base = { clientPort: 1, status: 200, startMs: Date.UTC(2026, 0, 1), durationMs: 1, requestBytes: 0, responseBytes: 2, responseHeaders: undefined, protocol: 'HTTP/1.1', retryAttempts: 0 };
  const record = { ...base, req: request({ method: 'GET', originalUrl: '/login?token=s3cret&next=/' }) };
  const [kept] = await lines({}, [record]);
  assert.equal(kept!.RequestPath, '/login?token=s3cret&next=/');
  const [dropped] = await lines({ fields: { queryParameters: { defaultMode: 'drop' } } }, [record]);
  assert.equal(dropped!.RequestPath, '/login');
  const [generic] = await lines({ fields: { names: { ClientUsername: 'drop' }, queryParameters: { defaultMode: 'drop' } } }, [record]);
  assert.equal(generic!.RequestPath, '/login');
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => { text += d.toString(); });
  const common = new AccessLog(accessLogSchema.parse({ fields: { queryParameters: { defaultMode: 'drop' } } }), out);
  common.log(record);
  await common.close();
  assert.match(text, /"GET \/login HTTP\/1\.1"/);
  assert.doesNotMatch(text, /s3cret/);
});
