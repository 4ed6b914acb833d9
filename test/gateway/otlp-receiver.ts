/**
 * Two small OTLP trace receivers for the tracing tests (no collector is installable here): OTLP/HTTP, which the
 * @opentelemetry/exporter-trace-otlp-http exporter speaks as JSON (POST /v1/traces, hex trace and span ids), and
 * OTLP/gRPC on @grpc/grpc-js with the OTLP proto's trace messages (fixtures/otlp-trace.proto). Both turn what
 * arrives into the same flat span list, with the request headers/metadata kept for assertions.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
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

type AnyValue = Record<string, unknown> | undefined;

function anyValue(v: AnyValue): unknown {
  if (v === undefined || v === null) return undefined;
  const value = v as Record<string, unknown>;
  if ('stringValue' in value && value.stringValue !== undefined) return value.stringValue;
  if ('intValue' in value && value.intValue !== undefined) return Number(value.intValue);
  if ('doubleValue' in value && value.doubleValue !== undefined) return Number(value.doubleValue);
  if ('boolValue' in value && value.boolValue !== undefined) return value.boolValue;
  if ('arrayValue' in value && value.arrayValue !== undefined) return ((value.arrayValue as { values?: AnyValue[] }).values ?? []).map(anyValue);
  return undefined;
}

function attributes(list: Array<{ key: string; value: AnyValue }> | undefined): Record<string, unknown> {
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

/** OTLP/HTTP with JSON bodies on 127.0.0.1, port 0; `endpoint` is the full /v1/traces URL. */
export async function startHttpReceiver(): Promise<Receiver> {
  const spans: ReceivedSpan[] = [];
  const requests: Array<Record<string, unknown>> = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces' || !String(req.headers['content-type']).startsWith('application/json')) {
        res.writeHead(404).end();
        return;
      }
      requests.push({ ...(req.headers as IncomingHttpHeaders) });
      collect(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Request, spans);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    spans,
    requests,
    endpoint: `http://127.0.0.1:${port}/v1/traces`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** OTLP/gRPC without TLS on 127.0.0.1, port 0; `endpoint` is host:port. */
export async function startGrpcReceiver(): Promise<Receiver> {
  const spans: ReceivedSpan[] = [];
  const requests: Array<Record<string, unknown>> = [];
  const definition = protoLoader.loadSync(new URL('./fixtures/otlp-trace.proto', import.meta.url).pathname, { longs: String, defaults: false });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    opentelemetry: { proto: { collector: { trace: { v1: { TraceService: grpc.ServiceClientConstructor } } } } };
  };
  const server = new grpc.Server();
  server.addService(pkg.opentelemetry.proto.collector.trace.v1.TraceService.service, {
    Export: (call: grpc.ServerUnaryCall<Request, object>, callback: grpc.sendUnaryData<object>) => {
      requests.push(call.metadata.getMap());
      collect(call.request, spans);
      callback(null, {});
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)));
  });
  return {
    spans,
    requests,
    endpoint: `127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}
