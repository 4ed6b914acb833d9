/**
 * Two small OTLP trace receivers for the tracing tests (no collector is installable here): OTLP/HTTP, which the
 * @opentelemetry/exporter-trace-otlp-http exporter speaks as JSON (POST /v1/traces, hex trace and span ids), and
 * OTLP/gRPC on @grpc/grpc-js with the OTLP proto's trace messages (fixtures/otlp-trace.proto). Both turn what
 * arrives into the same flat span list, with the request headers/metadata kept for assertions.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer, type ServerOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client. */
  kind: number;
  attributes: Record<string, unknown>;
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  statusCode: number;
  resource: Record<string, unknown>;
  scope: string;
}

export const SPAN_KIND = { internal: 1, server: 2, client: 3 } as const;

export interface Receiver {
  readonly spans: ReceivedSpan[];
  /** Headers (HTTP) or metadata (gRPC) of each export request. */
  readonly requests: Array<Record<string, unknown>>;
  readonly endpoint: string;
  close(): Promise<void>;
}

export type AnyValue = Record<string, unknown> | undefined;

export function anyValue(v: AnyValue): unknown {
  if (v === undefined || v === null) return undefined;
  const value = v as Record<string, unknown>;
  if ('stringValue' in value && value.stringValue !== undefined) return value.stringValue;
  if ('intValue' in value && value.intValue !== undefined) return Number(value.intValue);
  if ('doubleValue' in value && value.doubleValue !== undefined) return Number(value.doubleValue);
  if ('boolValue' in value && value.boolValue !== undefined) return value.boolValue;
  if ('arrayValue' in value && value.arrayValue !== undefined) return ((value.arrayValue as { values?: AnyValue[] }).values ?? []).map(anyValue);
  return undefined;
}

export function attributes(list: Array<{ key: string; value: AnyValue }> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of list ?? []) out[kv.key] = anyValue(kv.value);
  return out;
}

/** JSON carries ids as hex strings, protobuf as bytes. */
const hex = (id: unknown): string => (Buffer.isBuffer(id) ? id.toString('hex') : typeof id === 'string' ? id : '');

interface ScopeSpans { scope?: { name?: string }; spans?: Array<Record<string, unknown>> }
interface Request { resourceSpans?: Array<{ resource?: { attributes?: Array<{ key: string; value: AnyValue }> }; scopeSpans?: ScopeSpans[] }> }

function collect(request: Request, into: ReceivedSpan[]): void {
  for (const rs of request.resourceSpans ?? []) {
    const resource = attributes(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        into.push({
          traceId: hex(s.traceId),
          spanId: hex(s.spanId),
          parentSpanId: hex(s.parentSpanId),
          name: String(s.name),
          kind: Number(s.kind),
          attributes: attributes(s.attributes as Array<{ key: string; value: AnyValue }>),
          statusCode: Number((s.status as { code?: number } | undefined)?.code ?? 0),
          resource,
          scope: ss.scope?.name ?? '',
        });
      }
    }
  }
}

/**
 * An OTLP/HTTP collector on 127.0.0.1, port 0: `onExport` gets each JSON POST `accept`s (others answer 404).
 * With `tls`, it is an HTTPS collector (with `requestCert`, one that wants a client certificate its `ca` signed).
 */
export async function serveOtlpHttp(
  accept: (path: string) => boolean,
  onExport: (body: unknown, headers: Record<string, unknown>) => void,
  tls?: ServerOptions,
): Promise<{ base: string; close(): Promise<void> }> {
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || !accept(req.url ?? '') || !String(req.headers['content-type']).startsWith('application/json')) {
        res.writeHead(404).end();
        return;
      }
      onExport(JSON.parse(Buffer.concat(chunks).toString('utf8')), { ...(req.headers as IncomingHttpHeaders), ':path': req.url });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  };
  const server: Server | HttpsServer = tls ? createHttpsServer(tls, handler) : createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `${tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/**
 * An OTLP/gRPC collector without TLS on 127.0.0.1, port 0, for the service `service` (its dotted full name) of
 * `proto` (in fixtures/, which holds the files it imports): `onExport` gets each Export request and its metadata.
 */
export async function serveOtlpGrpc<R>(
  proto: string,
  service: string,
  onExport: (request: R, metadata: Record<string, unknown>) => void,
): Promise<{ endpoint: string; close(): Promise<void> }> {
  const fixtures = new URL('./fixtures/', import.meta.url).pathname;
  const definition = protoLoader.loadSync(proto, { longs: String, defaults: false, includeDirs: [fixtures] });
  let node: unknown = grpc.loadPackageDefinition(definition);
  for (const part of service.split('.')) node = (node as Record<string, unknown>)[part];
  const server = new grpc.Server();
  server.addService((node as grpc.ServiceClientConstructor).service, {
    Export: (call: grpc.ServerUnaryCall<R, object>, callback: grpc.sendUnaryData<object>) => {
      onExport(call.request, call.metadata.getMap());
      callback(null, {});
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)));
  });
  return { endpoint: `127.0.0.1:${port}`, close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())) };
}

/** OTLP/HTTP with JSON bodies on 127.0.0.1, port 0; `endpoint` is the full /v1/traces URL. */
export async function startHttpReceiver(): Promise<Receiver> {
  const spans: ReceivedSpan[] = [];
  const requests: Array<Record<string, unknown>> = [];
  const server = await serveOtlpHttp((path) => path === '/v1/traces', (body, headers) => {
    requests.push(headers);
    collect(body as Request, spans);
  });
  return { spans, requests, endpoint: `${server.base}/v1/traces`, close: server.close };
}

/** OTLP/gRPC without TLS on 127.0.0.1, port 0; `endpoint` is host:port. */
export async function startGrpcReceiver(): Promise<Receiver> {
  const spans: ReceivedSpan[] = [];
  const requests: Array<Record<string, unknown>> = [];
  const server = await serveOtlpGrpc<Request>('otlp-trace.proto', 'opentelemetry.proto.collector.trace.v1.TraceService', (request, metadata) => {
    requests.push(metadata);
    collect(request, spans);
  });
  return { spans, requests, endpoint: server.endpoint, close: server.close };
}
